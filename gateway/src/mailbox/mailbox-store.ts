import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { isPseudonym, isRecordId } from '@phr/common';
import { silentLogger, type Logger } from '../notify/logger';
import { inTransaction } from '../store/database';
import { MailboxError } from './mailbox-error';

/** Message kinds: 'delivery' (encrypted records), later 'data-request' and others. */
export const MAIL_KIND_PATTERN = /^[a-z][a-z0-9-]{1,39}$/;
export const DEFAULT_FETCH_LIMIT = 50;
export const MAX_FETCH_LIMIT = 100;

export interface EnqueueInput {
  pseudonym: string;
  /** Caller-chosen, globally unique (RECORD_ID_PATTERN); enqueueing it again is a no-op. */
  messageId: string;
  kind: string;
  /** An encrypted envelope as a JSON string. Opaque here: never parsed, never logged. */
  body: string;
}

export interface MailMessage {
  pseudonym: string;
  /** Per-patient order, 1, 2, 3, ...; never reused. */
  sequence: number;
  messageId: string;
  kind: string;
  /** Null once acknowledged: the gateway keeps no copy of mail the device has. */
  body: string | null;
  createdAt: string;
  /** How many times the message was handed out by `fetch` (redeliveries are attempts > 1). */
  attempts: number;
  lastFetchedAt: string | null;
  ackedAt: string | null;
}

export interface MailAck {
  messageId: string;
  sequence: number;
  ackedAt: string;
}

/** Raised by `announce`: committed, unacknowledged mail is waiting for the patient. */
export interface MailEnqueued {
  pseudonym: string;
  /** Highest pending sequence. Carries nothing about the mail itself. */
  sequence: number;
}

export type MailListener = (event: MailEnqueued) => void;

export interface FetchOptions {
  /** Only messages with a higher sequence (a cursor). 0 (default) returns every unacknowledged one. */
  after?: number;
  limit?: number;
}

interface Row {
  pseudonym: string;
  seq: number;
  message_id: string;
  kind: string;
  body: string | null;
  created_at: string;
  attempts: number;
  last_fetched_at: string | null;
  acked_at: string | null;
}

/**
 * The patients' mailboxes: a durable, ordered queue per patient in the gateway's one SQLite database.
 * Mail stays until the agent acknowledges it, so a device that is offline, crashes mid-download or
 * misses a wake-up gets it again on its next fetch, also across gateway restarts.
 *
 * Transactions belong to the caller. The ingest pipeline writes a delivery, its ledger outbox row and
 * its mail in one `BEGIN IMMEDIATE ... COMMIT`, so `enqueue` never opens a transaction of its own
 * (each of its writes is a single statement, atomic on its own when no transaction is open).
 * Wake-ups are a separate step: after COMMIT the caller calls `announce(pseudonym)`, which reads the
 * committed state; a rolled-back enqueue is therefore never announced and never wakes a device.
 * `enqueueNow` does both for callers without a transaction of their own.
 */
export class MailboxStore {
  private readonly db: DatabaseSync;
  private readonly now: () => Date;
  private readonly logger: Logger;
  private readonly listeners = new Set<MailListener>();
  private readonly patientListeners = new Map<string, Set<MailListener>>();
  private readonly insert: StatementSync;
  private readonly byId: StatementSync;
  private readonly pendingRows: StatementSync;
  private readonly markFetched: StatementSync;
  private readonly ackRow: StatementSync;
  private readonly latestPending: StatementSync;

  constructor(db: DatabaseSync, options: { now?: () => Date; logger?: Logger } = {}) {
    this.db = db;
    this.now = options.now ?? (() => new Date());
    this.logger = options.logger ?? silentLogger;
    // The table: store/migrations/ (openDatabase has applied them).
    // One statement allocates the sequence and inserts, so it is atomic even outside a transaction.
    // Rows are never deleted (acked ones keep their id), so MAX(seq) + 1 never reuses a number.
    this.insert = db.prepare(`
      INSERT INTO mailbox_message (message_id, pseudonym, seq, kind, body, created_at)
      SELECT $messageId, $pseudonym, COALESCE(MAX(seq), 0) + 1, $kind, $body, $now
        FROM mailbox_message WHERE pseudonym = $pseudonym
      ON CONFLICT (message_id) DO NOTHING
      RETURNING *`);
    this.byId = db.prepare('SELECT * FROM mailbox_message WHERE message_id = ?');
    this.pendingRows = db.prepare(`
      SELECT * FROM mailbox_message
      WHERE pseudonym = $pseudonym AND acked_at IS NULL AND seq > $after
      ORDER BY seq LIMIT $limit`);
    this.markFetched = db.prepare(`
      UPDATE mailbox_message SET attempts = attempts + 1, last_fetched_at = $now
      WHERE pseudonym = $pseudonym AND acked_at IS NULL AND seq BETWEEN $first AND $last`);
    this.ackRow = db.prepare(`
      UPDATE mailbox_message SET acked_at = $now, body = NULL
      WHERE pseudonym = $pseudonym AND message_id = $messageId AND acked_at IS NULL
      RETURNING *`);
    this.latestPending = db.prepare(
      'SELECT MAX(seq) AS seq FROM mailbox_message WHERE pseudonym = ? AND acked_at IS NULL',
    );
  }

  /**
   * Adds a message to the patient's queue, inside the caller's transaction if one is open. Returns
   * the stored message; for a known messageId, the existing one (even if already acknowledged).
   */
  enqueue(input: EnqueueInput): MailMessage {
    validateEnqueue(input);
    const inserted = this.insert.get({
      $messageId: input.messageId,
      $pseudonym: input.pseudonym,
      $kind: input.kind,
      $body: input.body,
      $now: this.now().toISOString(),
    }) as unknown as Row | undefined;
    if (inserted) return toMessage(inserted);
    const existing = this.byId.get(input.messageId) as unknown as Row;
    if (existing.pseudonym !== input.pseudonym || existing.kind !== input.kind) {
      throw new MailboxError('conflict', 'message id already used for other mail');
    }
    return toMessage(existing);
  }

  /** Enqueue in a transaction of its own, then announce. Fails if a transaction is already open. */
  enqueueNow(input: EnqueueInput): MailMessage {
    const message = inTransaction(this.db, () => this.enqueue(input));
    this.announce(input.pseudonym);
    return message;
  }

  /** Unacknowledged messages in sequence order. Read-only. */
  pending(pseudonym: string, options: FetchOptions = {}): MailMessage[] {
    const { after, limit } = checkFetchOptions(options);
    const rows = this.pendingRows.all({ $pseudonym: pseudonym, $after: after, $limit: limit }) as unknown as Row[];
    return rows.map(toMessage);
  }

  /** `pending`, counted as a delivery attempt (what the agent's fetch uses). */
  fetch(pseudonym: string, options: FetchOptions = {}): MailMessage[] {
    const messages = this.pending(pseudonym, options);
    const first = messages[0];
    const last = messages.at(-1);
    if (!first || !last) return messages;
    const now = this.now().toISOString();
    // pending() returned every unacked message in [first, last], so this touches exactly those.
    this.markFetched.run({ $pseudonym: pseudonym, $first: first.sequence, $last: last.sequence, $now: now });
    return messages.map((m) => ({ ...m, attempts: m.attempts + 1, lastFetchedAt: now }));
  }

  /** The message if it belongs to this patient. */
  get(pseudonym: string, messageId: string): MailMessage | undefined {
    const row = this.byId.get(messageId) as unknown as Row | undefined;
    return row && row.pseudonym === pseudonym ? toMessage(row) : undefined;
  }

  /**
   * Marks the message delivered and drops its body. Idempotent: acknowledging again returns the first
   * acknowledgement. Another patient's message is reported as not found, so ids cannot be probed.
   */
  ack(pseudonym: string, messageId: string): MailAck {
    const updated = this.ackRow.get({
      $pseudonym: pseudonym,
      $messageId: messageId,
      $now: this.now().toISOString(),
    }) as unknown as Row | undefined;
    const row = updated ?? (this.byId.get(messageId) as unknown as Row | undefined);
    if (!row || row.pseudonym !== pseudonym || row.acked_at === null) {
      throw new MailboxError('not-found', 'no such message in this mailbox');
    }
    return { messageId: row.message_id, sequence: row.seq, ackedAt: row.acked_at };
  }

  latestPendingSequence(pseudonym: string): number | undefined {
    const row = this.latestPending.get(pseudonym) as { seq: number | null } | undefined;
    return row?.seq ?? undefined;
  }

  /**
   * Call after COMMIT: tells in-process listeners (long-polls, the wake-up dispatcher) that the
   * patient has committed, unacknowledged mail. Refuses to run inside an open transaction, where it
   * could wake a device for mail that is then rolled back. Does nothing when no mail is pending.
   */
  announce(pseudonym: string): void {
    if (this.db.isTransaction) {
      throw new MailboxError('invalid', 'announce() must be called after COMMIT, not inside the transaction');
    }
    const sequence = this.latestPendingSequence(pseudonym);
    if (sequence === undefined) return;
    const event: MailEnqueued = { pseudonym, sequence };
    for (const listener of [...this.listeners, ...(this.patientListeners.get(pseudonym) ?? [])]) {
      try {
        listener(event);
      } catch (err) {
        // The mail is committed; a listener's bug must not make the caller think the delivery failed.
        this.logger.error({ pseudonym, err: errorName(err) }, 'mailbox listener failed');
      }
    }
  }

  /** Every announcement, for every patient. Returns the unsubscribe function. */
  onEnqueued(listener: MailListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Announcements for one patient (long-polls). Returns the unsubscribe function. */
  onEnqueuedFor(pseudonym: string, listener: MailListener): () => void {
    let set = this.patientListeners.get(pseudonym);
    if (!set) {
      set = new Set();
      this.patientListeners.set(pseudonym, set);
    }
    set.add(listener);
    return () => {
      const current = this.patientListeners.get(pseudonym);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.patientListeners.delete(pseudonym);
    };
  }
}

function validateEnqueue(input: EnqueueInput): void {
  if (!isPseudonym(input.pseudonym)) throw new MailboxError('invalid', 'pseudonym is malformed');
  if (!isRecordId(input.messageId)) throw new MailboxError('invalid', 'messageId is malformed');
  if (typeof input.kind !== 'string' || !MAIL_KIND_PATTERN.test(input.kind)) {
    throw new MailboxError('invalid', 'kind is malformed');
  }
  if (typeof input.body !== 'string' || input.body.length === 0) {
    throw new MailboxError('invalid', 'body must be a non-empty string');
  }
}

function checkFetchOptions(options: FetchOptions): { after: number; limit: number } {
  const after = options.after ?? 0;
  const limit = options.limit ?? DEFAULT_FETCH_LIMIT;
  if (!Number.isSafeInteger(after) || after < 0) throw new MailboxError('invalid', 'after must be an integer >= 0');
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_FETCH_LIMIT) {
    throw new MailboxError('invalid', `limit must be an integer from 1 to ${MAX_FETCH_LIMIT}`);
  }
  return { after, limit };
}

function toMessage(row: Row): MailMessage {
  return {
    pseudonym: row.pseudonym,
    sequence: row.seq,
    messageId: row.message_id,
    kind: row.kind,
    body: row.body,
    createdAt: row.created_at,
    attempts: row.attempts,
    lastFetchedAt: row.last_fetched_at,
    ackedAt: row.acked_at,
  };
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}
