import { readFileSync } from 'node:fs';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
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
} from './pull';
import { createLogger, type Logger } from './logger';
import { MailboxStore } from './mailbox';
import { createNotifier } from './notify';
import { databaseFiles, openDatabase } from './store/database';
import { DeliveryStore } from './store/delivery-store';
import { ResourceIndex } from './store/resource-index';
import { StandardizedDb } from './store/standardized-db';

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
  const identity = {
    mspId: config.hospital.mspId,
    certificatePem: readFileSync(config.identity.certFile, 'utf8'),
    privateKeyPem: readFileSync(config.identity.keyFile, 'utf8'),
  };
  const ledger: LedgerPort =
    options.ledger ??
    (config.ledger.mode === 'fabric'
      ? new FabricLedger({
          peer: {
            address: config.ledger.peer.address,
            tlsRootCertPem: readFileSync(config.ledger.peer.tlsCaFile, 'utf8'),
            ...(config.ledger.peer.serverNameOverride
              ? { serverNameOverride: config.ledger.peer.serverNameOverride }
              : {}),
          },
          identity,
          channel: config.ledger.channel,
          chaincode: config.ledger.chaincode,
        })
      : new NoLedger(options.patients ?? new Map(), config.hospital.mspId));
  if (ledger.mode === 'none') log.warn('ledger.mode is none: NOTHING is committed to a ledger (benchmarks only)');

  const dbFile = join(config.dataDir, 'gateway.db');
  const keyFile = join(config.dataDir, 'gateway.key');
  // Owner-only, whatever the umask: the database holds coded clinical values, the key unlocks its hashes.
  const db = openDatabase(dbFile, { log });
  const keyed = KeyedHash.loadOrCreate(keyFile);
  warnAboutLooseModes(log, [config.dataDir, ...databaseFiles(dbFile), keyFile]);
  const deliveries = new DeliveryStore(db);
  const standardized = new StandardizedDb(db);
  const resources = new ResourceIndex(db, keyed);
  const mailbox = new MailboxStore(db);
  const identities = new IdentityStore(db, keyed);
  const patients = new PatientDirectory(db, ledger);
  const outbox = new OutboxWorker(deliveries, ledger, log, {
    concurrency: config.ledger.mode === 'fabric' ? config.ledger.concurrency : 64,
    retryMinMs: config.outbox.retryMinMs,
    retryMaxMs: config.outbox.retryMaxMs,
  });
  const notify = createNotifier({ db, mailbox, log, ...(config.notifier.fcm ? { fcm: config.notifier.fcm } : {}) });
  const signer = { certificatePem: identity.certificatePem, privateKeyPem: identity.privateKeyPem };
  // Before listening: /healthz answers OK only once every ingest thread is warm.
  const pool = await IngestPool.start({
    ...(config.ingest.threads !== undefined ? { threads: config.ingest.threads } : {}),
    keyedHashKey: keyed.keyCopy(),
    signer,
  });
  const ingest = new IngestService({
    db,
    pool,
    identities,
    patients,
    ledger,
    deliveries,
    standardized,
    resources,
    mailbox,
    outbox,
    keyed,
    hospitalMspId: config.hospital.mspId,
    maxEntries: config.limits.maxEntries,
    log,
  });

  // Consent decisions from a cache that the ledger's consent events keep current, when the ledger
  // can stream them; otherwise each decision is one Consent.EvaluateConsent on the peer.
  const consentFeed =
    isPullLedger(ledger) && isConsentEventSource(ledger) && config.consent.cacheMaxAgeMs > 0
      ? new ConsentFeed(
          ledger,
          new ConsentCache(ledger, {
            maxAgeMs: config.consent.cacheMaxAgeMs,
            maxPatients: config.consent.cachePatients,
          }),
          log,
          { retryMinMs: config.outbox.retryMinMs, retryMaxMs: config.outbox.retryMaxMs },
        )
      : undefined;
  const pulls = isPullLedger(ledger)
    ? new PullService({
        db,
        store: new PullStore(db),
        ledger: consentFeed ? withConsentCache(ledger, consentFeed.cache) : ledger,
        patients,
        mailbox,
        signer,
        hospitalMspId: config.hospital.mspId,
        log,
      })
    : undefined;

  const authenticator = new ClientCertificateAuthenticator(
    config.trustedIssuers.map((t) => ({ mspId: t.mspId, caPem: readFileSync(t.caFile, 'utf8') })),
  );
  const startedAt = new Date().toISOString();
  const edge = createEdge(
    {
      cert: readFileSync(config.tls.certFile),
      key: readFileSync(config.tls.keyFile),
      ca: config.trustedIssuers.map((t) => readFileSync(t.caFile)),
    },
    config.http,
    log,
  );
  const server = edge.server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
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
    ...(pulls ? { pulls } : {}),
    log,
  });
  edge.serve(app);
  outbox.start();
  consentFeed?.start();
  log.info({ url: baseUrl, hospital: config.hospital.mspId, ledger: ledger.mode }, 'gateway listening');

  let closed = false;
  return {
    url: baseUrl,
    ...(consentFeed ? { consentFeed } : {}),
    port,
    server,
    app,
    ingest,
    outbox,
    deliveries,
    standardized,
    mailbox,
    ledger,
    log,
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await outbox.stop();
      await consentFeed?.stop();
      await notify.close();
      if (!options.ledger) ledger.close();
      await pool.close();
      db.close();
    },
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
