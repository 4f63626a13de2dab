import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { MAX_DELIVERIES_PER_TRANSACTION } from '@phr/common';
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);

const OUTBOX_DEFAULTS = {
  retryMinMs: 250,
  retryMaxMs: 30_000,
  batchSize: 50,
  eagerTransactions: 2,
  batchWindowMs: 200,
};
const file = z.string().min(1);

const ledgerSchema = z.discriminatedUnion('mode', [
  z.object({
    mode: z.literal('fabric'),
    peer: z.object({ address: z.string().min(3), tlsCaFile: file, serverNameOverride: z.string().optional() }),
    channel: z.string().min(1),
    chaincode: z.string().min(1),
    /** Transactions in flight at once; Raft batches them, so throughput needs concurrency. */
    concurrency: z.number().int().min(1).max(512).default(64),
  }),
  /** Benchmarks only: commits are acknowledged at once and nothing reaches a ledger. */
  z.object({ mode: z.literal('none') }),
]);

/**
 * How long a client may take and how many connections it may hold (issue 12). The defaults suit the
 * largest bundle a hospital sends (limits.maxBundleBytes, 32 MiB): it must arrive within
 * requestTimeoutMs (120 s: at least 2.3 Mbit/s), and may pause for up to bodyIdleTimeoutMs.
 */
const HTTP_DEFAULTS = {
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 120_000,
  bodyIdleTimeoutMs: 20_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1024,
  maxConnectionsPerClient: 32,
  maxConnectionsPerAddress: 32,
};
const ms = (min: number, max: number) => z.number().int().min(min).max(max);

const httpSchema = z
  .object({
    /** A TCP connection must finish its TLS handshake within this. */
    handshakeTimeoutMs: ms(100, 300_000).default(HTTP_DEFAULTS.handshakeTimeoutMs),
    /** A request line and its headers must arrive within this (after the handshake, or after the previous request). */
    headersTimeoutMs: ms(100, 300_000).default(HTTP_DEFAULTS.headersTimeoutMs),
    /** A whole request, headers and body, must arrive within this. */
    requestTimeoutMs: ms(100, 3_600_000).default(HTTP_DEFAULTS.requestTimeoutMs),
    /** A body being read that sends nothing for this long is answered 408. */
    bodyIdleTimeoutMs: ms(100, 600_000).default(HTTP_DEFAULTS.bodyIdleTimeoutMs),
    /** An idle kept-alive connection is closed after this. */
    keepAliveTimeoutMs: ms(100, 600_000).default(HTTP_DEFAULTS.keepAliveTimeoutMs),
    /** Open connections in all; more are closed as they arrive. */
    maxConnections: z.number().int().min(1).max(1_000_000).default(HTTP_DEFAULTS.maxConnections),
    /** Open connections per client certificate; over it, a request is answered 503. */
    maxConnectionsPerClient: z.number().int().min(1).max(1_000_000).default(HTTP_DEFAULTS.maxConnectionsPerClient),
    /**
     * Open connections per remote address that have no trusted client certificate (yet): still in
     * the TLS handshake, without a certificate, or with an untrusted one. More are closed as they arrive.
     */
    maxConnectionsPerAddress: z.number().int().min(1).max(1_000_000).default(HTTP_DEFAULTS.maxConnectionsPerAddress),
  })
  .refine((h) => h.headersTimeoutMs <= h.requestTimeoutMs, {
    message: 'headersTimeoutMs must not be longer than requestTimeoutMs',
    path: ['headersTimeoutMs'],
  })
  .refine((h) => h.bodyIdleTimeoutMs <= h.requestTimeoutMs, {
    message: 'bodyIdleTimeoutMs must not be longer than requestTimeoutMs',
    path: ['bodyIdleTimeoutMs'],
  })
  .refine((h) => h.maxConnectionsPerClient <= h.maxConnections && h.maxConnectionsPerAddress <= h.maxConnections, {
    message: 'the per-client and per-address limits must not be above maxConnections',
    path: ['maxConnections'],
  })
  .default(HTTP_DEFAULTS);

/** Backups, kept deliveries and erasure (issue 15): the defaults the README documents. */
const LIFECYCLE_DEFAULTS = {
  maxBackupBytes: 64 * 1024 * 1024,
  backupVersionsKept: 5,
  rebuildDays: 365,
  basis: 'hospital record retention law',
};

export const configSchema = z.object({
  hospital: z.object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/),
    mspId: z.string().min(1),
    displayName: z.string().min(1),
  }),
  listen: z.object({ host: z.string().min(1).default('127.0.0.1'), port }),
  /** Public base URL (what clients use), for CapabilityStatement and Location headers. */
  publicUrl: z.url().optional(),
  tls: z.object({ certFile: file, keyFile: file }),
  /** The hospital gateway's Fabric identity (role hospital-gateway): signs ledger transactions and deliveries. */
  identity: z.object({ certFile: file, keyFile: file }),
  /** CAs whose client certificates are accepted, and the MSP each one speaks for. */
  trustedIssuers: z.array(z.object({ mspId: z.string().min(1), caFile: file })).min(1),
  dataDir: file,
  ledger: ledgerSchema,
  limits: z
    .object({
      maxBundleBytes: z
        .number()
        .int()
        .min(1024)
        .default(32 * 1024 * 1024),
      maxEntries: z.number().int().min(1).default(5000),
      maxDepth: z.number().int().min(8).max(512).default(64),
      /** A C-CDA document posted to /ccda (its converted Bundle, with the document attached, is larger). */
      maxCcdaBytes: z
        .number()
        .int()
        .min(1024)
        .default(8 * 1024 * 1024),
      /** A patient's backup archive (PUT /backup/{pseudonym}); larger ones are answered 413. */
      maxBackupBytes: z
        .number()
        .int()
        .min(1024)
        .max(1024 * 1024 * 1024)
        .default(LIFECYCLE_DEFAULTS.maxBackupBytes),
      /** Backup versions kept per patient; a new one drops the oldest beyond this. */
      backupVersionsKept: z.number().int().min(1).max(100).default(LIFECYCLE_DEFAULTS.backupVersionsKept),
    })
    .default({
      maxBundleBytes: 32 * 1024 * 1024,
      maxEntries: 5000,
      maxDepth: 64,
      maxCcdaBytes: 8 * 1024 * 1024,
      maxBackupBytes: LIFECYCLE_DEFAULTS.maxBackupBytes,
      backupVersionsKept: LIFECYCLE_DEFAULTS.backupVersionsKept,
    }),
  /** What the gateway keeps for the record's life cycle (issue 15), and what an erasure keeps. */
  retention: z
    .object({
      /**
       * Days the payload of each delivery is kept, encrypted under the patient's key, so that the
       * patient can have it re-sent (POST /rebuild/{pseudonym}); 0 keeps none.
       */
      rebuildDays: z.number().int().min(0).max(36_500).default(LIFECYCLE_DEFAULTS.rebuildDays),
      /**
       * Days the standardized copy (the coded elements) of an erased patient is kept after their
       * last delivery; absent: kept with no end date given (the basis decides); 0: destroyed with
       * the rest at erasure.
       */
      standardizedDbDays: z.number().int().min(0).max(36_500).optional(),
      /** Why the hospital keeps it, as the erasure receipt says. */
      basis: z.string().min(1).max(200).default(LIFECYCLE_DEFAULTS.basis),
    })
    .default({ rebuildDays: LIFECYCLE_DEFAULTS.rebuildDays, basis: LIFECYCLE_DEFAULTS.basis }),
  http: httpSchema,
  outbox: z
    .object({
      retryMinMs: z.number().int().min(10).default(OUTBOX_DEFAULTS.retryMinMs),
      retryMaxMs: z.number().int().min(100).default(OUTBOX_DEFAULTS.retryMaxMs),
      /** The most deliveries one ledger transaction records; 1 sends each alone. */
      batchSize: z.number().int().min(1).max(MAX_DELIVERIES_PER_TRANSACTION).default(OUTBOX_DEFAULTS.batchSize),
      /** Fewer transactions than this in flight: a delivery is sent at once, not collected. */
      eagerTransactions: z.number().int().min(1).max(512).default(OUTBOX_DEFAULTS.eagerTransactions),
      /** The longest a transaction collects deliveries. */
      batchWindowMs: z.number().int().min(0).max(5_000).default(OUTBOX_DEFAULTS.batchWindowMs),
    })
    .default(OUTBOX_DEFAULTS),
  ingest: z
    .object({
      /** Worker threads that validate and seal bundles; default: one per available core. */
      threads: z.number().int().min(1).max(64).optional(),
    })
    .default({}),
  consent: z
    .object({
      /**
       * Consent decisions come from a cache kept current by the ledger's consent events; this is
       * the longest a patient's consents are used without a fresh read. 0: no cache, every
       * decision is Consent.EvaluateConsent on the peer.
       */
      cacheMaxAgeMs: z.number().int().min(0).max(3_600_000).default(60_000),
      /** Patients whose consents are kept. */
      cachePatients: z.number().int().min(1).default(10_000),
    })
    .default({ cacheMaxAgeMs: 60_000, cachePatients: 10_000 }),
  notifier: z
    .object({
      fcm: z.object({ projectId: z.string().min(1), credentialsFile: file }).optional(),
    })
    .default({}),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type GatewayConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'INVALID_CONFIG';
}

/**
 * Reads the gateway's JSON config once, at start. Relative file paths are resolved against the
 * config file's folder, so a generated config can be moved with its material.
 */
export function loadConfig(path: string): GatewayConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read gateway config ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(raw, dirname(resolve(path)));
}

export function parseConfig(raw: unknown, baseDir = process.cwd()): GatewayConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid gateway config: ${details}`);
  }
  const c = parsed.data;
  const abs = (p: string) => resolve(baseDir, p);
  return {
    ...c,
    tls: { certFile: abs(c.tls.certFile), keyFile: abs(c.tls.keyFile) },
    identity: { certFile: abs(c.identity.certFile), keyFile: abs(c.identity.keyFile) },
    trustedIssuers: c.trustedIssuers.map((t) => ({ ...t, caFile: abs(t.caFile) })),
    dataDir: abs(c.dataDir),
    ledger:
      c.ledger.mode === 'fabric'
        ? { ...c.ledger, peer: { ...c.ledger.peer, tlsCaFile: abs(c.ledger.peer.tlsCaFile) } }
        : c.ledger,
    notifier: c.notifier.fcm
      ? { fcm: { ...c.notifier.fcm, credentialsFile: abs(c.notifier.fcm.credentialsFile) } }
      : c.notifier,
  };
}
