import { randomUUID } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import {
  signErasureReceipt,
  type EnvelopeSigner,
  type ErasedItem,
  type ErasureAnswer,
  type ErasureReceipt,
  type KeptItem,
} from '@phr/common';
import type { LedgerPort } from '../ledger/ledger-port';
import type { Logger } from '../logger';
import { inTransaction } from '../store/database';
import type { BackupStore } from './backup-store';
import { DAY_MS, type KeptDeliveries } from './kept-deliveries';
import type { PatientKeys } from './patient-keys';
import type { RebuildService } from './rebuild-service';

/** What the hospital keeps of an erased patient (config `retention`). */
export interface RetentionPolicy {
  /**
   * Days the standardized copy (the coded elements) is kept after the patient's last delivery;
   * undefined: kept as the basis requires (no date given); 0: destroyed with the rest.
   */
  standardizedDbDays?: number;
  /** Why it is kept, in words for the receipt (config retention.basis). */
  basis: string;
}

export interface ErasureDeps {
  db: DatabaseSync;
  keys: PatientKeys;
  backups: Pick<BackupStore, 'destroyAll'>;
  kept: Pick<KeptDeliveries, 'destroyAll'>;
  rebuilds: Pick<RebuildService, 'destroyAll'>;
  /** The gateway's Fabric identity, which also signs sealed deliveries: the agent checks both alike. */
  signer: EnvelopeSigner;
  ledger: Pick<LedgerPort, 'mode' | 'recordErasure'>;
  hospitalMspId: string;
  retention: RetentionPolicy;
  log: Logger;
  /** Backoff of the access event's retries while the ledger is away (config outbox). */
  retry: { minMs: number; maxMs: number };
  now?: () => Date;
}

/** The basis of the delivery records a gateway keeps: they are the ledger's counterpart, without content. */
const DELIVERY_RECORDS_BASIS =
  "the ledger's delivery commitments as this gateway sent them (ids, Merkle roots, counts; no content)";

interface ReceiptRow {
  pseudonym: string;
  receipt_id: string;
  answer_json: string;
  event_recorded_at: string | null;
  event_attempts: number;
}

/** A per-patient table the erasure empties: what the receipt calls it, and the statements. */
interface Destroyable {
  what: string;
  /** Counts what the receipt reports, when that is not every row deleted. */
  count?: StatementSync;
  remove: StatementSync;
}

/**
 * Erasure by crypto-shredding at this gateway (`POST /erasure/{pseudonym}`; GDPR Art. 17). In one
 * SQLite transaction (the database overwrites what it deletes: secure_delete): the patient's key (so every copy under it, also in old
 * copies of the file, is unreadable), their backups, the deliveries kept for a rebuild, their mail,
 * wake-up registration, link codes, MRN links, relayed pulls and recovery requests. What the
 * hospital must keep (its standardized DB, by `retention`) is counted into the receipt as kept, with
 * its basis. The write-ahead log is emptied after, so no old page image stays on disk.
 *
 * The answer is a receipt signed by the gateway's Fabric identity, stored so that asking again
 * answers the same receipt. The `erasure` access event (reference: the receipt id) goes to the
 * ledger after the transaction; while the ledger is away it is retried in the background (and on
 * every repeated request), so an outage never leaves an erasure half done.
 */
export class ErasureService {
  private readonly destroyables: Destroyable[];
  private readonly standardized: { count: StatementSync; remove: StatementSync; removePatient: StatementSync };
  private readonly deliveryRecords: StatementSync;
  private readonly identifierRecords: StatementSync;
  private readonly lastDelivery: StatementSync;
  private readonly silent: StatementSync[];
  private readonly selectReceipt: StatementSync;
  private readonly insertReceipt: StatementSync;
  private readonly markRecorded: StatementSync;
  private readonly markFailed: StatementSync;
  private readonly pending: StatementSync;
  private readonly now: () => Date;
  private timer: NodeJS.Timeout | undefined;
  private retrying: Promise<void> | undefined;
  private stopped = true;

  constructor(private readonly d: ErasureDeps) {
    this.now = d.now ?? (() => new Date());
    const db = d.db;
    const per = (sql: string) => db.prepare(sql);
    // The tables: store/migrations/ (v1: mail, identity, wake-ups, pulls; v2: life cycle; v3: recovery).
    this.destroyables = [
      {
        what: 'pending-mail',
        count: per('SELECT COUNT(*) AS n FROM mailbox_message WHERE pseudonym = ? AND acked_at IS NULL'),
        remove: per('DELETE FROM mailbox_message WHERE pseudonym = ?'),
      },
      { what: 'wakeup-registrations', remove: per('DELETE FROM wakeup_channel WHERE pseudonym = ?') },
      { what: 'link-codes', remove: per('DELETE FROM link_codes WHERE pseudonym = ?') },
      { what: 'mrn-links', remove: per('DELETE FROM patient_links WHERE pseudonym = ?') },
      { what: 'pull-requests', remove: per('DELETE FROM pull_request WHERE pseudonym = ?') },
      { what: 'recovery-requests', remove: per('DELETE FROM recovery_request WHERE pseudonym = ?') },
      { what: 'relayed-mail-records', remove: per('DELETE FROM relay_message WHERE target = ?') },
    ];
    this.standardized = {
      count: per('SELECT COUNT(*) AS n FROM std_element WHERE pseudonym = ?'),
      remove: per('DELETE FROM std_element WHERE pseudonym = ?'),
      // The coarse demographics beside the elements (v6): they go, and stay, with them.
      removePatient: per('DELETE FROM std_patient WHERE pseudonym = ?'),
    };
    this.deliveryRecords = per('SELECT COUNT(*) AS n FROM deliveries WHERE pseudonym = ?');
    this.identifierRecords = per(
      'SELECT COUNT(*) AS n FROM resource_identifier WHERE delivery_id IN (SELECT delivery_id FROM deliveries WHERE pseudonym = ?)',
    );
    this.lastDelivery = per('SELECT MAX(created_at) AS last FROM deliveries WHERE pseudonym = ?');
    // The ledger record as last seen here (public keys, owner): not the patient's data, gone anyway.
    this.silent = [per('DELETE FROM patients WHERE pseudonym = ?')];
    this.selectReceipt = per('SELECT * FROM erasure_receipt WHERE pseudonym = ?');
    this.insertReceipt = per(
      'INSERT INTO erasure_receipt (pseudonym, receipt_id, answer_json, erased_at) VALUES (?, ?, ?, ?)',
    );
    this.markRecorded = per(
      'UPDATE erasure_receipt SET event_recorded_at = ?, event_last_error = NULL WHERE pseudonym = ?',
    );
    this.markFailed = per(
      'UPDATE erasure_receipt SET event_attempts = event_attempts + 1, event_last_error = ? WHERE pseudonym = ?',
    );
    this.pending = per('SELECT * FROM erasure_receipt WHERE event_recorded_at IS NULL ORDER BY erased_at');
  }

  /**
   * Erases the patient's copies here and answers the signed receipt; for a patient erased before,
   * the same receipt again (and one more try at its access event if the ledger was away).
   */
  async erase(pseudonym: string): Promise<ErasureAnswer> {
    let row = this.selectReceipt.get(pseudonym) as ReceiptRow | undefined;
    if (!row) {
      row = inTransaction(this.d.db, () => this.destroy(pseudonym));
      // The write-ahead log still holds the pages as they were before: copy it in and empty it.
      // Best effort: a reader holding an old snapshot keeps the log, and a later checkpoint empties it.
      this.d.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      this.d.log.info({ pseudonym, receiptId: row.receipt_id }, 'patient erased at this gateway');
    }
    if (row.event_recorded_at === null) row = await this.recordEvent(row);
    return answerOf(row, this.d.ledger.mode);
  }

  /** Retries, in the background, the access events the ledger did not take yet (also those from before a restart). */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.retrying;
  }

  /** The transaction: deletes, counts, signs and stores the receipt. A receipt made meanwhile wins. */
  private destroy(pseudonym: string): ReceiptRow {
    const earlier = this.selectReceipt.get(pseudonym) as ReceiptRow | undefined;
    if (earlier) return earlier;
    const erasedAt = this.now().toISOString();
    const destroyed: ErasedItem[] = [
      { what: 'patient-key', count: this.d.keys.destroy(pseudonym) },
      { what: 'backup-versions', count: this.d.backups.destroyAll(pseudonym) },
      { what: 'kept-deliveries', count: this.d.kept.destroyAll(pseudonym) },
    ];
    for (const part of this.destroyables) {
      const counted = part.count ? countOf(part.count, pseudonym) : undefined;
      const removed = Number(part.remove.run(pseudonym).changes);
      destroyed.push({ what: part.what, count: counted ?? removed });
    }
    this.d.rebuilds.destroyAll(pseudonym);
    for (const statement of this.silent) statement.run(pseudonym);

    const { standardizedDbDays, basis } = this.d.retention;
    const last = (this.lastDelivery.get(pseudonym) as { last: string | null }).last;
    const until =
      standardizedDbDays !== undefined && last !== null
        ? { until: new Date(Date.parse(last) + standardizedDbDays * DAY_MS).toISOString() }
        : {};
    const kept: KeptItem[] = [];
    if (standardizedDbDays === 0) {
      destroyed.push({ what: 'standardized-elements', count: Number(this.standardized.remove.run(pseudonym).changes) });
      this.standardized.removePatient.run(pseudonym);
    } else {
      kept.push({ what: 'standardized-elements', count: countOf(this.standardized.count, pseudonym), ...until, basis });
      kept.push({
        what: 'resource-identifier-hashes',
        count: countOf(this.identifierRecords, pseudonym),
        ...until,
        basis,
      });
    }
    kept.push({
      what: 'delivery-records',
      count: countOf(this.deliveryRecords, pseudonym),
      basis: DELIVERY_RECORDS_BASIS,
    });

    const receipt: ErasureReceipt = {
      receiptId: randomUUID(),
      pseudonym,
      hospital: this.d.hospitalMspId,
      erasedAt,
      destroyed,
      kept,
    };
    const signed = {
      receipt,
      signature: signErasureReceipt(receipt, this.d.signer.privateKeyPem),
      certificatePem: this.d.signer.certificatePem,
    };
    this.insertReceipt.run(pseudonym, receipt.receiptId, JSON.stringify(signed), erasedAt);
    return this.selectReceipt.get(pseudonym) as unknown as ReceiptRow;
  }

  /** One try at the receipt's access event; a failure is remembered and retried in the background. */
  private async recordEvent(row: ReceiptRow): Promise<ReceiptRow> {
    if (this.d.ledger.mode === 'none') return row;
    try {
      await this.d.ledger.recordErasure({
        eventId: eventIdOf(row.receipt_id),
        pseudonym: row.pseudonym,
        outcome: 'success',
        references: [row.receipt_id],
      });
      this.markRecorded.run(this.now().toISOString(), row.pseudonym);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.markFailed.run(message.slice(0, 500), row.pseudonym);
      this.d.log.warn(
        { pseudonym: row.pseudonym, receiptId: row.receipt_id, attempts: row.event_attempts + 1, err: message },
        'the erasure access event did not reach the ledger; retrying',
      );
      this.schedule(backoff(this.d.retry, row.event_attempts + 1));
    }
    return this.selectReceipt.get(row.pseudonym) as unknown as ReceiptRow;
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.d.ledger.mode === 'none') return;
    if (this.timer && delayMs > 0) return; // a retry is already due
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.retrying = this.retryPending().finally(() => (this.retrying = undefined));
    }, delayMs);
    this.timer.unref();
  }

  private async retryPending(): Promise<void> {
    for (const row of this.pending.all() as unknown as ReceiptRow[]) {
      if (this.stopped) return;
      await this.recordEvent(row);
    }
  }
}

/** The access event's id: derived from the receipt, so a retry is the same event to the ledger. */
function eventIdOf(receiptId: string): string {
  return `erasure-${receiptId}`;
}

function answerOf(row: ReceiptRow, mode: LedgerPort['mode']): ErasureAnswer {
  const signed = JSON.parse(row.answer_json) as Omit<ErasureAnswer, 'accessEvent'>;
  return {
    ...signed,
    accessEvent: { eventId: eventIdOf(row.receipt_id), recorded: mode !== 'none' && row.event_recorded_at !== null },
  };
}

function countOf(statement: StatementSync, pseudonym: string): number {
  return Number((statement.get(pseudonym) as { n: number }).n);
}

function backoff(retry: { minMs: number; maxMs: number }, attempts: number): number {
  return Math.min(retry.maxMs, retry.minMs * 2 ** Math.min(attempts, 20));
}
