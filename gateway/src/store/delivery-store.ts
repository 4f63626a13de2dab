import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { DeliveryCommitment, DeliverySlot, PreparedCommit } from '../ledger/ledger-port';
import { inTransaction } from './database';

/** queued: accepted and waiting in the outbox; committed: valid on the ledger; failed: the ledger refused it for good. */
export const LOCAL_DELIVERY_STATUSES = ['queued', 'committed', 'failed'] as const;
export type LocalDeliveryStatus = (typeof LOCAL_DELIVERY_STATUSES)[number];

export interface StoredDelivery extends DeliveryCommitment {
  seq: number;
  idempotencyKey: string;
  contentKey: string;
  status: LocalDeliveryStatus;
  transactionId: string;
  /** The nonce the transaction id derives from (deliveries stored before transactions were shared have none). */
  transactionNonce?: Uint8Array;
  blockNumber?: string;
  attempts: number;
  nextAttemptAt: number;
  lastError?: string;
  createdAt: string;
  committedAt?: string;
  /** The FHIR response sent to the EHR, replayed on an idempotent resubmission. */
  responseJson: string;
  proposal?: Uint8Array;
  signature?: Uint8Array;
}

/** An outbox row as the outbox reads it: the response stored for replays is left out. */
export type QueuedDelivery = Omit<StoredDelivery, 'responseJson'>;

interface Row {
  seq: number;
  delivery_id: string;
  idempotency_key: string;
  content_key: string;
  pseudonym: string;
  merkle_root: string;
  element_count: number;
  segment_count: number;
  categories: string;
  status: LocalDeliveryStatus;
  tx_id: string;
  tx_nonce: Uint8Array | null;
  block_number: string | null;
  proposal: Uint8Array | null;
  signature: Uint8Array | null;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: string;
  committed_at: string | null;
  response_json: string;
}

/**
 * Deliveries this gateway accepted. The rows still `queued` are the ledger outbox: a delivery is
 * acknowledged to the EHR once its row is here, and the outbox worker commits it when it can.
 */
export class DeliveryStore {
  private readonly insertStmt: StatementSync;
  private readonly byIdStmt: StatementSync;
  private readonly byKeyStmt: StatementSync;
  private readonly dueStmt: StatementSync;
  private readonly dueTxStmt: StatementSync;
  private readonly committedStmt: StatementSync;
  private readonly retryStmt: StatementSync;
  private readonly failedStmt: StatementSync;
  private readonly countStmt: StatementSync;
  private readonly reassignStmt: StatementSync;
  private readonly queuedStmt: StatementSync;
  private readonly inTxStmt: StatementSync;
  private readonly anyInTxStmt: StatementSync;
  private readonly preparedStmt: StatementSync;
  private readonly savePreparedStmt: StatementSync;
  private readonly forgetStmt: StatementSync;

  constructor(private readonly db: DatabaseSync) {
    // The table: store/migrations/ (openDatabase has applied them).
    this.insertStmt = db.prepare(`
      INSERT INTO deliveries (delivery_id, idempotency_key, content_key, pseudonym, merkle_root, element_count,
        segment_count, categories, status, tx_id, tx_nonce, created_at, response_json)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)`);
    this.byIdStmt = db.prepare('SELECT * FROM deliveries WHERE delivery_id = ?');
    this.byKeyStmt = db.prepare('SELECT * FROM deliveries WHERE idempotency_key = ?');
    this.dueStmt = db.prepare(
      `SELECT * FROM deliveries WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY seq LIMIT ?`,
    );
    this.dueTxStmt = db.prepare(
      `SELECT tx_id FROM deliveries WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY seq LIMIT ?`,
    );
    this.committedStmt = db.prepare(
      `UPDATE deliveries SET status = 'committed', block_number = ?, committed_at = ?, last_error = NULL,
        proposal = NULL, signature = NULL WHERE delivery_id = ? AND status = 'queued'`,
    );
    this.retryStmt = db.prepare(
      `UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE delivery_id = ?`,
    );
    this.failedStmt = db.prepare(
      `UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE delivery_id = ?`,
    );
    this.reassignStmt = db.prepare(
      `UPDATE deliveries SET tx_id = ?, tx_nonce = ?, proposal = NULL, signature = NULL
        WHERE delivery_id = ? AND status = 'queued'`,
    );
    // Everything but the stored response, which can be large and the outbox never reads.
    this.inTxStmt = db.prepare(
      `SELECT seq, delivery_id, idempotency_key, content_key, pseudonym, merkle_root, element_count, segment_count,
        categories, status, tx_id, tx_nonce, block_number, proposal, signature, attempts, next_attempt_at, last_error,
        created_at, committed_at, '' AS response_json
        FROM deliveries WHERE tx_id = ? AND status = 'queued' ORDER BY seq`,
    );
    this.anyInTxStmt = db.prepare(`SELECT 1 FROM deliveries WHERE tx_id = ? AND status = 'queued' LIMIT 1`);
    this.preparedStmt = db.prepare('SELECT proposal, signature FROM ledger_transactions WHERE tx_id = ?');
    this.savePreparedStmt = db.prepare(
      'INSERT INTO ledger_transactions (tx_id, proposal, signature, prepared_at) VALUES (?, ?, ?, ?)',
    );
    this.forgetStmt = db.prepare('DELETE FROM ledger_transactions WHERE tx_id = ?');
    this.queuedStmt = db.prepare(`SELECT COUNT(*) AS n FROM deliveries WHERE status = 'queued'`);
    this.countStmt = db.prepare('SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status');
  }

  /** Inside the caller's transaction: the delivery joins the ledger transaction of `slot`. */
  insert(
    c: DeliveryCommitment,
    keys: { idempotencyKey: string; contentKey: string },
    slot: DeliverySlot,
    responseJson: string,
    createdAt: string,
  ): void {
    this.insertStmt.run(
      c.deliveryId,
      keys.idempotencyKey,
      keys.contentKey,
      c.pseudonym,
      c.merkleRoot,
      c.elementCount,
      c.segmentCount,
      JSON.stringify(c.categories),
      slot.transactionId,
      slot.nonce ?? null,
      createdAt,
      responseJson,
    );
  }

  get(deliveryId: string): StoredDelivery | undefined {
    return toDelivery(this.byIdStmt.get(deliveryId) as Row | undefined);
  }

  byIdempotencyKey(key: string): StoredDelivery | undefined {
    return toDelivery(this.byKeyStmt.get(key) as Row | undefined);
  }

  /** Outbox rows whose time has come, oldest first. */
  due(now: number, limit: number): StoredDelivery[] {
    return (this.dueStmt.all(now, limit) as unknown as Row[]).map((r) => toDelivery(r) as StoredDelivery);
  }

  /**
   * Up to `limit` ledger transactions holding due outbox rows, oldest first: ids only (rows can be
   * large), read from at most `limit × perTransaction` rows in the outbox index's order, since a
   * GROUP BY over a long outage's backlog would sort all of it on every round.
   */
  dueTransactions(now: number, limit: number, perTransaction: number): string[] {
    const ids = new Set<string>();
    for (const r of this.dueTxStmt.iterate(now, limit * perTransaction) as IterableIterator<{ tx_id: string }>) {
      ids.add(r.tx_id);
      if (ids.size === limit) break;
    }
    return [...ids];
  }

  markCommitted(deliveryId: string, blockNumber: bigint | undefined, at: string): boolean {
    return this.committedStmt.run(blockNumber === undefined ? null : String(blockNumber), at, deliveryId).changes > 0;
  }

  /**
   * Marks the deliveries of a committed transaction in one database transaction, and forgets its
   * proposal; returns those that were still queued.
   */
  markAllCommitted(
    transactionId: string,
    deliveryIds: readonly string[],
    blockNumber: bigint | undefined,
    at: string,
  ): string[] {
    return inTransaction(this.db, () => {
      const changed = deliveryIds.filter((id) => this.markCommitted(id, blockNumber, at));
      this.forgetIfDone(transactionId);
      return changed;
    });
  }

  /** Forgets a transaction's proposal once none of its deliveries is queued. */
  forgetIfDone(transactionId: string): void {
    if (this.anyInTxStmt.get(transactionId) === undefined) this.forgetStmt.run(transactionId);
  }

  /** The queued deliveries of one ledger transaction, oldest first, without their stored responses. */
  queuedIn(transactionId: string): QueuedDelivery[] {
    return (this.inTxStmt.all(transactionId) as unknown as Row[]).map((r) => {
      const d: Partial<StoredDelivery> = toDelivery(r) as StoredDelivery;
      delete d.responseJson;
      return d as QueuedDelivery;
    });
  }

  /** The signed proposal of a closed transaction; undefined while it is open (deliveries may join it). */
  prepared(transactionId: string): PreparedCommit | undefined {
    const row = this.preparedStmt.get(transactionId) as
      { proposal: Uint8Array | null; signature: Uint8Array | null } | undefined;
    if (!row) return undefined;
    return {
      transactionId,
      ...(row.proposal ? { proposal: row.proposal } : {}),
      ...(row.signature ? { signature: row.signature } : {}),
    };
  }

  /** Closes a transaction: its proposal is kept, and the outbox sends these bytes however often. */
  savePrepared(prepared: PreparedCommit, at: string): void {
    this.savePreparedStmt.run(prepared.transactionId, prepared.proposal ?? null, prepared.signature ?? null, at);
  }

  /**
   * Moves queued deliveries to a new transaction (the old id was spent on an invalid commit, or the
   * ledger refused the transaction and its deliveries go one by one), forgetting the old proposal.
   */
  reassign(from: string, moves: readonly { deliveryId: string; slot: DeliverySlot }[]): void {
    inTransaction(this.db, () => {
      for (const m of moves) this.reassignStmt.run(m.slot.transactionId, m.slot.nonce ?? null, m.deliveryId);
      this.forgetStmt.run(from);
    });
  }

  scheduleRetry(deliveryId: string, nextAttemptAt: number, error: string): void {
    this.retryStmt.run(nextAttemptAt, error, deliveryId);
  }

  markFailed(deliveryId: string, error: string): void {
    this.failedStmt.run(error, deliveryId);
  }

  /** The outbox's length: read on every outbox round, so it counts through the status index only. */
  queued(): number {
    return (this.queuedStmt.get() as { n: number }).n;
  }

  counts(): Record<LocalDeliveryStatus, number> {
    const out: Record<LocalDeliveryStatus, number> = { queued: 0, committed: 0, failed: 0 };
    for (const r of this.countStmt.all() as unknown as { status: LocalDeliveryStatus; n: number }[])
      out[r.status] = r.n;
    return out;
  }
}

function toDelivery(r: Row | undefined): StoredDelivery | undefined {
  if (!r) return undefined;
  return {
    seq: r.seq,
    deliveryId: r.delivery_id,
    idempotencyKey: r.idempotency_key,
    contentKey: r.content_key,
    pseudonym: r.pseudonym,
    merkleRoot: r.merkle_root,
    elementCount: r.element_count,
    segmentCount: r.segment_count,
    categories: JSON.parse(r.categories) as string[],
    status: r.status,
    transactionId: r.tx_id,
    ...(r.tx_nonce ? { transactionNonce: r.tx_nonce } : {}),
    ...(r.block_number !== null ? { blockNumber: r.block_number } : {}),
    ...(r.proposal ? { proposal: r.proposal } : {}),
    ...(r.signature ? { signature: r.signature } : {}),
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
    createdAt: r.created_at,
    ...(r.committed_at !== null ? { committedAt: r.committed_at } : {}),
    responseJson: r.response_json,
  };
}
