import type { DatabaseSync } from 'node:sqlite';
import type { EnvelopeSigner } from '@phr/common';
import type { IngestPool } from '../ingest/ingest-pool';
import type { LedgerPort } from '../ledger/ledger-port';
import type { Logger } from '../logger';
import type { MailboxStore } from '../mailbox';
import { BackupStore } from './backup-store';
import { ErasureService, type RetentionPolicy } from './erasure-service';
import { KeptDeliveries, type ExpiryPurge } from './kept-deliveries';
import { PatientKeys } from './patient-keys';
import { RebuildService } from './rebuild-service';

export interface LifecycleOptions {
  db: DatabaseSync;
  /** The gateway's secret key (gateway.key): the patient keys are wrapped under a key derived from it. */
  gatewaySecret: Uint8Array;
  ledger: Pick<LedgerPort, 'mode' | 'recordErasure'>;
  mailbox: MailboxStore;
  pool: Pick<IngestPool, 'reseal' | 'threads'>;
  signer: EnvelopeSigner;
  hospitalMspId: string;
  /** Config limits.backupVersionsKept. */
  backupVersionsKept: number;
  /** Config retention: rebuildDays, and what an erasure keeps. */
  retention: RetentionPolicy & { rebuildDays: number };
  /** Config outbox: the backoff of the erasure access event's retries. */
  retry: { minMs: number; maxMs: number };
  /** Other stores' expired rows, purged on the kept deliveries' timer. */
  purgeAlso?: readonly ExpiryPurge[];
  log: Logger;
}

/** The record's life cycle at the gateway: its stores and services, started and stopped together. */
export interface Lifecycle {
  keys: PatientKeys;
  backups: BackupStore;
  kept: KeptDeliveries;
  rebuilds: RebuildService;
  erasure: ErasureService;
  /** Starts the purge of expired kept deliveries (and `purgeAlso`) and the retries of erasure access events. */
  start(): void;
  stop(): Promise<void>;
}

export function createLifecycle(o: LifecycleOptions): Lifecycle {
  const keys = new PatientKeys(o.db, o.gatewaySecret);
  const backups = new BackupStore(o.db, keys, { versionsKept: o.backupVersionsKept });
  const kept = new KeptDeliveries(o.db, keys, {
    rebuildDays: o.retention.rebuildDays,
    log: o.log,
    ...(o.purgeAlso ? { purgeAlso: o.purgeAlso } : {}),
  });
  const rebuilds = new RebuildService({
    db: o.db,
    keys,
    kept,
    mailbox: o.mailbox,
    pool: o.pool,
    hospitalMspId: o.hospitalMspId,
    log: o.log,
  });
  const erasure = new ErasureService({
    db: o.db,
    keys,
    backups,
    kept,
    rebuilds,
    signer: o.signer,
    ledger: o.ledger,
    hospitalMspId: o.hospitalMspId,
    retention: {
      basis: o.retention.basis,
      ...(o.retention.standardizedDbDays !== undefined ? { standardizedDbDays: o.retention.standardizedDbDays } : {}),
    },
    log: o.log,
    retry: o.retry,
  });
  return {
    keys,
    backups,
    kept,
    rebuilds,
    erasure,
    start() {
      kept.start();
      erasure.start();
    },
    async stop() {
      kept.stop();
      await erasure.stop();
    },
  };
}
