import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
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
    })
    .default({ maxBundleBytes: 32 * 1024 * 1024, maxEntries: 5000, maxDepth: 64 }),
  outbox: z
    .object({
      retryMinMs: z.number().int().min(10).default(250),
      retryMaxMs: z.number().int().min(100).default(30_000),
    })
    .default({ retryMinMs: 250, retryMaxMs: 30_000 }),
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
