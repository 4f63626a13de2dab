import { readFileSync } from 'node:fs';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { Express } from 'express';
import { looseModes, type PatientRecord } from '@phr/common';
import { ClientCertificateAuthenticator } from './auth/client-certificate';
import type { GatewayConfig } from './config';
import { createApp } from './http/app';
import { createEdge } from './http/edge';
import { IdentityStore } from './identity/identity-store';
import { KeyedHash } from './identity/keyed-hash';
import { PatientDirectory } from './identity/patient-directory';
import { DEFAULT_XML_LIMITS } from './ccda/xml-guard';
import { IngestPool } from './ingest/ingest-pool';
import { IngestService } from './ingest/ingest-service';
import { createLifecycle, type Lifecycle } from './lifecycle';
import { FabricLedger } from './ledger/fabric-ledger';
import type { LedgerPort } from './ledger/ledger-port';
import { NoLedger } from './ledger/no-ledger';
import { OutboxWorker } from './ledger/outbox-worker';
import {
  ConsentCache,
  ConsentFeed,
  isConsentEventSource,
  isPullLedger,
  PullService,
  PullStore,
  withConsentCache,
  type PullDeps,
} from './pull';
import { createLogger, type Logger } from './logger';
import { MailboxStore } from './mailbox';
import { createNotifier, type Notifier } from './notify';
import { RecoveryStore } from './recovery';
import { ExtractMailboxStore } from './research-mailbox';
import { databaseFiles, openDatabase } from './store/database';
import { DeliveryStore } from './store/delivery-store';
import { ResourceIndex } from './store/resource-index';
import { StandardizedDb } from './store/standardized-db';
import { StandardizedPatients } from './store/standardized-patients';

export const GATEWAY_VERSION = '0.1.0';

export interface GatewayOptions {
  /** Replaces the ledger the config names (tests: a ledger that can be switched off). */
  ledger?: LedgerPort;
  /** Patients known to `ledger.mode: none`. */
  patients?: ReadonlyMap<string, PatientRecord>;
  logger?: Logger;
}

export interface RunningGateway {
  url: string;
  /** Keeps the consent cache current; absent when consent decisions go to the ledger each time. */
  consentFeed?: ConsentFeed;
  port: number;
  server: Server;
  /** The request handler behind `server`, for tests that list its routes. */
  app: Express;
  ingest: IngestService;
  /** Backups, kept deliveries, rebuilds, erasure. */
  lifecycle: Lifecycle;
  outbox: OutboxWorker;
  deliveries: DeliveryStore;
  standardized: StandardizedDb;
  mailbox: MailboxStore;
  ledger: LedgerPort;
  log: Logger;
  close(): Promise<void>;
}

/** Builds every part from the config, listens, and starts the outbox. */
export async function startGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<RunningGateway> {
  const log = options.logger ?? createLogger(config.logLevel);
  const identity = gatewayIdentity(config);
  const ledger = options.ledger ?? configuredLedger(config, identity, options.patients);
  if (ledger.mode === 'none') log.warn('ledger.mode is none: NOTHING is committed to a ledger (benchmarks only)');

  const stores = openStores(config, ledger, log);
  const { db, keyed, deliveries, standardized, mailbox, identities, patients } = stores;
  const outbox = new OutboxWorker(deliveries, ledger, log, {
    concurrency: config.ledger.mode === 'fabric' ? config.ledger.concurrency : 64,
    retryMinMs: config.outbox.retryMinMs,
    retryMaxMs: config.outbox.retryMaxMs,
    batchSize: config.outbox.batchSize,
    eagerTransactions: config.outbox.eagerTransactions,
    batchWindowMs: config.outbox.batchWindowMs,
  });
  const notify = createNotifier({ db, mailbox, log, ...(config.notifier.fcm ? { fcm: config.notifier.fcm } : {}) });
  const signer = { certificatePem: identity.certificatePem, privateKeyPem: identity.privateKeyPem };
  // Before listening: /healthz answers OK only once every ingest thread is warm.
  const pool = await IngestPool.start({
    ...(config.ingest.threads !== undefined ? { threads: config.ingest.threads } : {}),
    keyedHashKey: keyed.keyCopy(),
    signer,
  });
  const extracts = new ExtractMailboxStore(db);
  const lifecycle = createLifecycle({
    db,
    gatewaySecret: keyed.keyCopy(),
    ledger,
    mailbox,
    pool,
    signer,
    hospitalMspId: config.hospital.mspId,
    backupVersionsKept: config.limits.backupVersionsKept,
    retention: config.retention,
    retry: { minMs: config.outbox.retryMinMs, maxMs: config.outbox.retryMaxMs },
    purgeAlso: [{ what: 'research extracts of expired offers', purge: (at) => extracts.purgeExpired(at) }],
    log,
  });
  const ingest = new IngestService({
    ...stores,
    kept: lifecycle.kept,
    pool,
    ledger,
    outbox,
    hospitalMspId: config.hospital.mspId,
    maxEntries: config.limits.maxEntries,
    log,
  });
  const consentFeed = consentFeedFor(config, ledger, log);
  const pulls = pullServiceFor(config, ledger, consentFeed, { db, patients, mailbox, signer, log });

  const authenticator = new ClientCertificateAuthenticator(
    config.trustedIssuers.map((t) => ({ mspId: t.mspId, caPem: readFileSync(t.caFile, 'utf8') })),
  );
  const startedAt = new Date().toISOString();
  const edge = createEdge(tlsFiles(config), config.http, log);
  const server = edge.server;
  const port = await listen(server, config.listen);
  const baseUrl = config.publicUrl ?? `https://${config.listen.host}:${port}`;
  const app = createApp({
    hospital: config.hospital,
    baseUrl,
    version: GATEWAY_VERSION,
    startedAt,
    limits: {
      maxBundleBytes: config.limits.maxBundleBytes,
      maxDepth: config.limits.maxDepth,
      maxCcdaBytes: config.limits.maxCcdaBytes,
      bodyIdleTimeoutMs: config.http.bodyIdleTimeoutMs,
    },
    authenticator,
    ingest,
    ccda: { pool, ingest, limits: DEFAULT_XML_LIMITS },
    identities,
    patients,
    ledger,
    mailbox,
    wakeups: notify.wakeups,
    lifecycle: { ...lifecycle, maxBackupBytes: config.limits.maxBackupBytes },
    recovery: { store: new RecoveryStore(db, mailbox), ledger },
    research: { store: extracts, ledger },
    ...(pulls ? { pulls } : {}),
    log,
  });
  edge.serve(app);
  outbox.start();
  lifecycle.start();
  consentFeed?.start();
  log.info({ url: baseUrl, hospital: config.hospital.mspId, ledger: ledger.mode }, 'gateway listening');

  return {
    url: baseUrl,
    ...(consentFeed ? { consentFeed } : {}),
    port,
    server,
    app,
    ingest,
    lifecycle,
    outbox,
    deliveries,
    standardized,
    mailbox,
    ledger,
    log,
    // a ledger the caller gave is the caller's to close
    close: closeOnce({
      server,
      outbox,
      lifecycle,
      consentFeed,
      notify,
      ledger: options.ledger ? undefined : ledger,
      pool,
      db,
    }),
  };
}

/** The gateway's own Fabric identity (its certificate and key), from the files the config names. */
export function gatewayIdentity(config: GatewayConfig): {
  mspId: string;
  certificatePem: string;
  privateKeyPem: string;
} {
  return {
    mspId: config.hospital.mspId,
    certificatePem: readFileSync(config.identity.certFile, 'utf8'),
    privateKeyPem: readFileSync(config.identity.keyFile, 'utf8'),
  };
}

/** The ledger the config names: the hospital's peer through Fabric Gateway, or none (benchmarks). */
export function configuredLedger(
  config: GatewayConfig,
  identity: ReturnType<typeof gatewayIdentity>,
  patients: ReadonlyMap<string, PatientRecord> = new Map(),
): LedgerPort {
  if (config.ledger.mode !== 'fabric') return new NoLedger(patients, config.hospital.mspId);
  const { peer } = config.ledger;
  return new FabricLedger({
    peer: {
      address: peer.address,
      tlsRootCertPem: readFileSync(peer.tlsCaFile, 'utf8'),
      ...(peer.serverNameOverride ? { serverNameOverride: peer.serverNameOverride } : {}),
    },
    identity,
    channel: config.ledger.channel,
    chaincode: config.ledger.chaincode,
  });
}

/** The gateway's database, its keyed-hash key, and the stores over them. */
function openStores(config: GatewayConfig, ledger: LedgerPort, log: Logger) {
  const dbFile = join(config.dataDir, 'gateway.db');
  const keyFile = join(config.dataDir, 'gateway.key');
  // Owner-only, whatever the umask: the database holds coded clinical values, the key unlocks its hashes.
  const db = openDatabase(dbFile, { log });
  const keyed = KeyedHash.loadOrCreate(keyFile);
  warnAboutLooseModes(log, [config.dataDir, ...databaseFiles(dbFile), keyFile]);
  const patients = new PatientDirectory(db, ledger);
  // A rotation or erasure reported by the ledger's events makes the cached record stale at once.
  ledger.onPatientChanged?.((pseudonym) => patients.forget(pseudonym));
  return {
    db,
    keyed,
    deliveries: new DeliveryStore(db),
    standardized: new StandardizedDb(db),
    standardizedPatients: new StandardizedPatients(db),
    resources: new ResourceIndex(db, keyed),
    mailbox: new MailboxStore(db),
    identities: new IdentityStore(db, keyed),
    patients,
  };
}

/**
 * Consent decisions from a cache that the ledger's consent events keep current, when the ledger
 * can stream them; otherwise (undefined) each decision is one Consent.EvaluateConsent on the peer.
 */
function consentFeedFor(config: GatewayConfig, ledger: LedgerPort, log: Logger): ConsentFeed | undefined {
  if (!(isPullLedger(ledger) && isConsentEventSource(ledger) && config.consent.cacheMaxAgeMs > 0)) return undefined;
  return new ConsentFeed(
    ledger,
    new ConsentCache(ledger, { maxAgeMs: config.consent.cacheMaxAgeMs, maxPatients: config.consent.cachePatients }),
    log,
    { retryMinMs: config.outbox.retryMinMs, retryMaxMs: config.outbox.retryMaxMs },
  );
}

/** Pulls by other hospitals, when the ledger can judge consents; their decisions through the cache if there is one. */
function pullServiceFor(
  config: GatewayConfig,
  ledger: LedgerPort,
  consentFeed: ConsentFeed | undefined,
  d: Pick<PullDeps, 'db' | 'patients' | 'mailbox' | 'signer' | 'log'>,
): PullService | undefined {
  if (!isPullLedger(ledger)) return undefined;
  return new PullService({
    db: d.db,
    store: new PullStore(d.db),
    ledger: consentFeed ? withConsentCache(ledger, consentFeed.cache) : ledger,
    patients: d.patients,
    mailbox: d.mailbox,
    signer: d.signer,
    hospitalMspId: config.hospital.mspId,
    log: d.log,
  });
}

/** The server's TLS: its certificate and key, and the CAs whose client certificates it asks for. */
function tlsFiles(config: GatewayConfig): { cert: Buffer; key: Buffer; ca: Buffer[] } {
  return {
    cert: readFileSync(config.tls.certFile),
    key: readFileSync(config.tls.keyFile),
    ca: config.trustedIssuers.map((t) => readFileSync(t.caFile)),
  };
}

/** Listens on the configured address; resolves to the port (the one given, or the one chosen for 0). */
async function listen(server: Server, at: GatewayConfig['listen']): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** Stops taking requests, then stops every part in order; a second call does nothing. */
function closeOnce(parts: {
  server: Server;
  outbox: OutboxWorker;
  lifecycle: Lifecycle;
  consentFeed: ConsentFeed | undefined;
  notify: Notifier;
  /** Undefined when the ledger is not the gateway's to close. */
  ledger: LedgerPort | undefined;
  pool: IngestPool;
  db: DatabaseSync;
}): () => Promise<void> {
  let closed = false;
  return async () => {
    if (closed) return;
    closed = true;
    const { server } = parts;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await parts.outbox.stop();
    await parts.lifecycle.stop();
    await parts.consentFeed?.stop();
    await parts.notify.close();
    parts.ledger?.close();
    await parts.pool.close();
    parts.db.close();
  };
}

/**
 * Data files and folders others than their owner can reach: one warning each (the path and its
 * mode, nothing from inside), and the README says what to do. They are left as they are.
 */
function warnAboutLooseModes(log: Logger, paths: readonly string[]): void {
  for (const loose of looseModes(paths)) {
    log.warn(
      { path: loose.path, mode: loose.mode },
      `${loose.kind === 'folder' ? 'data folder' : 'data file'} is open to others than its owner; ` +
        `restrict it: chmod ${loose.kind === 'folder' ? '700' : '600'} ${loose.path}`,
    );
  }
}
