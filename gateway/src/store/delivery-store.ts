import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { DeliveryCommitment, PreparedCommit } from '../ledger/ledger-port';

/** queued: accepted and waiting in the outbox; committed: valid on the ledger; failed: the ledger refused it for good. */
export const LOCAL_DELIVERY_STATUSES = ['queued', 'committed', 'failed'] as const;
export type LocalDeliveryStatus = (typeof LOCAL_DELIVERY_STATUSES)[number];

export interface StoredDelivery extends DeliveryCommitment {
  seq: number;
  idempotencyKey: string;
  contentKey: string;
  status: LocalDeliveryStatus;
  transactionId: string;
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
  private readonly committedStmt: StatementSync;
  private readonly retryStmt: StatementSync;
  private readonly failedStmt: StatementSync;
  private readonly countStmt: StatementSync;
  private readonly replaceStmt: StatementSync;
  private readonly queuedStmt: StatementSync;

  constructor(private readonly db: DatabaseSync) {
    // The table: store/migrations/ (openDatabase has applied them).
    this.insertStmt = db.prepare(`
      INSERT INTO deliveries (delivery_id, idempotency_key, content_key, pseudonym, merkle_root, element_count,
        segment_count, categories, status, tx_id, proposal, signature, created_at, response_json)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)`);
    this.byIdStmt = db.prepare('SELECT * FROM deliveries WHERE delivery_id = ?');
    this.byKeyStmt = db.prepare('SELECT * FROM deliveries WHERE idempotency_key = ?');
    this.dueStmt = db.prepare(
      `SELECT * FROM deliveries WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY seq LIMIT ?`,
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
    this.replaceStmt = db.prepare(
      `UPDATE deliveries SET tx_id = ?, proposal = ?, signature = ? WHERE delivery_id = ? AND status = 'queued'`,
    );
    this.queuedStmt = db.prepare(`SELECT COUNT(*) AS n FROM deliveries WHERE status = 'queued'`);
    this.countStmt = db.prepare('SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status');
  }

  /** Inside the caller's transaction. */
  insert(
    c: DeliveryCommitment,
    keys: { idempotencyKey: string; contentKey: string },
    prepared: PreparedCommit,
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
      prepared.transactionId,
      prepared.proposal ?? null,
      prepared.signature ?? null,
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

  markCommitted(deliveryId: string, blockNumber: bigint | undefined, at: string): boolean {
    return this.committedStmt.run(blockNumber === undefined ? null : String(blockNumber), at, deliveryId).changes > 0;
  }

  scheduleRetry(deliveryId: string, nextAttemptAt: number, error: string): void {
    this.retryStmt.run(nextAttemptAt, error, deliveryId);
  }

  markFailed(deliveryId: string, error: string): void {
    this.failedStmt.run(error, deliveryId);
  }

  /** A fresh proposal when the old transaction id was spent on an invalid commit. */
  replacePrepared(deliveryId: string, prepared: PreparedCommit): void {
    this.replaceStmt.run(prepared.transactionId, prepared.proposal ?? null, prepared.signature ?? null, deliveryId);
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
