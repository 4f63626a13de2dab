import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Logger } from '../logger';
import { isStorageFull } from '../store/storage-full';
import { LifecycleError } from './lifecycle-error';
import type { PatientKeys } from './patient-keys';

export const DAY_MS = 24 * 60 * 60 * 1000;
/** Expired rows are purged this often (and once at start). */
const PURGE_INTERVAL_MS = 60 * 60 * 1000;
/** Rows purged per statement: a short write lock each, however many expire at once. */
const PURGE_BATCH = 500;

export interface KeptDelivery {
  deliveryId: string;
  pseudonym: string;
  keptUntil: string;
  /** The encrypted payload (patient-cipher.ts); null once purged. */
  body: Uint8Array | null;
}

export interface KeptDeliveriesOptions {
  /** How long a delivery's payload is kept for a rebuild; 0 keeps none (config retention.rebuildDays). */
  rebuildDays: number;
  log: Logger;
  now?: () => Date;
  purgeIntervalMs?: number;
  /** Other stores' expired rows, purged on the same timer (the research extract mailbox's, say). */
  purgeAlso?: readonly ExpiryPurge[];
}

/** One store's purge of what expired by `now`: returns how many rows went. */
export interface ExpiryPurge {
  /** For the log line: what was purged (no ids). */
  what: string;
  purge: (now: Date) => number;
}

/**
 * What each patient was sent, kept for a rebuild (`POST /rebuild/{pseudonym}`): the exact payload
 * sealed into the patient's mailbox (its elements, salts and proofs), encrypted under the patient's
 * key by the ingest thread that sealed it, so that a rebuilt delivery verifies against the same
 * ledger root. Kept `rebuildDays` from the delivery; then the payload is purged (overwritten: the
 * database has secure_delete on) and the row's metadata stays, so that a rebuild can say "expired" rather than "not kept".
 */
export class KeptDeliveries {
  private readonly insert: StatementSync;
  private readonly byId: StatementSync;
  private readonly purge: StatementSync;
  private readonly removeAll: StatementSync;
  private readonly now: () => Date;
  private timer: NodeJS.Timeout | undefined;
  private first: NodeJS.Immediate | undefined;

  constructor(
    private readonly db: DatabaseSync,
    private readonly keys: PatientKeys,
    private readonly options: KeptDeliveriesOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    // The table: store/migrations/v2.ts.
    this.insert = db.prepare(
      'INSERT INTO kept_delivery (delivery_id, pseudonym, kept_until, body) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    this.byId = db.prepare('SELECT * FROM kept_delivery WHERE delivery_id = ?');
    this.purge = db.prepare(`
      UPDATE kept_delivery SET body = NULL WHERE delivery_id IN (
        SELECT delivery_id FROM kept_delivery WHERE body IS NOT NULL AND kept_until <= ? LIMIT ${PURGE_BATCH})`);
    this.removeAll = db.prepare('DELETE FROM kept_delivery WHERE pseudonym = ?');
  }

  get keeping(): boolean {
    return this.options.rebuildDays > 0;
  }

  /**
   * For the ingest, before it seals: the key the kept copy is encrypted under (made on the
   * patient's first delivery), or undefined when this gateway keeps none.
   * @throws LifecycleError ERASED when the patient erased their records here.
   */
  keyForIngest(pseudonym: string): Uint8Array | undefined {
    if (!this.keeping) {
      if (this.keys.isErased(pseudonym)) throw new LifecycleError('ERASED', 'the patient erased their records here');
      return undefined;
    }
    return this.keys.keyFor(pseudonym);
  }

  /**
   * Inside the ingest's transaction: keeps the sealed copy (when there is one). Checks again that
   * the patient did not erase their records while the delivery was being sealed.
   * @throws LifecycleError ERASED when they did: the whole delivery is then refused.
   */
  keep(pseudonym: string, deliveryId: string, body: Uint8Array | undefined, at: Date): void {
    if (this.keys.isErased(pseudonym)) throw new LifecycleError('ERASED', 'the patient erased their records here');
    if (body === undefined || !this.keeping) return;
    const keptUntil = new Date(at.getTime() + this.options.rebuildDays * DAY_MS).toISOString();
    this.insert.run(deliveryId, pseudonym, keptUntil, body);
  }

  get(deliveryId: string): KeptDelivery | undefined {
    const row = this.byId.get(deliveryId) as
      { delivery_id: string; pseudonym: string; kept_until: string; body: Uint8Array | null } | undefined;
    return row
      ? { deliveryId: row.delivery_id, pseudonym: row.pseudonym, keptUntil: row.kept_until, body: row.body }
      : undefined;
  }

  /** Whether a kept row's time is over (purged or not yet). */
  expired(kept: KeptDelivery): boolean {
    return kept.body === null || kept.keptUntil <= this.now().toISOString();
  }

  /** Overwrites the payloads whose time is over; how many. */
  purgeExpired(): number {
    const now = this.now().toISOString();
    let purged = 0;
    for (;;) {
      const changes = Number(this.purge.run(now).changes);
      purged += changes;
      if (changes < PURGE_BATCH) return purged;
    }
  }

  /** Deletes every row of the patient (inside the erasure's transaction); how many. */
  destroyAll(pseudonym: string): number {
    return Number(this.removeAll.run(pseudonym).changes);
  }

  /**
   * One round of the periodic purge: the kept deliveries past their retention, then every
   * `purgeAlso`. Never throws: a full disk or a busy database is logged, and the next round tries
   * again (nothing is lost by waiting); one store failing does not hold back the others.
   */
  housekeep(): void {
    const purges: ExpiryPurge[] = [
      { what: 'kept deliveries past their retention', purge: () => this.purgeExpired() },
      ...(this.options.purgeAlso ?? []),
    ];
    for (const task of purges) {
      const what = task.what;
      try {
        const purged = task.purge(this.now());
        if (purged > 0) this.options.log.info({ purged }, `${what} purged`);
      } catch (err) {
        this.options.log.warn(
          { err: err instanceof Error ? err.message : String(err), storageFull: isStorageFull(err) },
          `purging ${what} failed; retrying later`,
        );
      }
    }
  }

  /** Purges now and then every `purgeIntervalMs`, until `stop`. */
  start(): void {
    if (this.timer) return;
    const run = () => this.housekeep();
    this.timer = setInterval(run, this.options.purgeIntervalMs ?? PURGE_INTERVAL_MS);
    this.timer.unref();
    this.first = setImmediate(run);
  }

  stop(): void {
    clearInterval(this.timer);
    clearImmediate(this.first);
    this.timer = undefined;
    this.first = undefined;
  }
}
