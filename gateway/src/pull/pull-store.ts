import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { ConsentScope, PullQuery, PurposeOfUse } from '@phr/common';

export const PULL_STATUSES = ['waiting', 'answered', 'denied'] as const;
export type PullStatus = (typeof PULL_STATUSES)[number];

export interface StoredPull {
  requestId: string;
  pseudonym: string;
  requesterId: string;
  requesterRole: string;
  requesterEmergency: boolean;
  purpose: PurposeOfUse;
  query: PullQuery;
  permitted: ConsentScope;
  breakGlass: boolean;
  queryHash: string;
  status: PullStatus;
  /** For answered: the sealed answer (JSON), which only the requester can open. */
  answer?: string;
  /** For denied: why, in words for the requester. */
  reason?: string;
  createdAt: string;
  updatedAt: string;
}

interface Row {
  request_id: string;
  pseudonym: string;
  requester_id: string;
  requester_role: string;
  requester_emergency: number;
  purpose: string;
  query: string;
  permitted: string;
  break_glass: number;
  query_hash: string;
  status: string;
  answer: string | null;
  reason: string | null;
  created_at: string;
  updated_at: string;
}

/**
 * Relayed requests and their answers, so a requester can come back for an answer that arrived
 * after its request ended (202 + Content-Location), across gateway restarts.
 */
export class PullStore {
  private readonly insertRow: StatementSync;
  private readonly byId: StatementSync;
  private readonly answerRow: StatementSync;
  private readonly denyRow: StatementSync;

  constructor(db: DatabaseSync) {
    // The table: store/migrations/ (openDatabase has applied them).
    this.insertRow = db.prepare(
      `INSERT INTO pull_request VALUES ($id, $pseudonym, $requesterId, $role, $emergency, $purpose, $query,
        $permitted, $breakGlass, $queryHash, 'waiting', NULL, NULL, $now, $now)`,
    );
    this.byId = db.prepare('SELECT * FROM pull_request WHERE request_id = ?');
    this.answerRow = db.prepare(
      `UPDATE pull_request SET status = 'answered', answer = $answer, updated_at = $now
       WHERE request_id = $id AND status = 'waiting'`,
    );
    this.denyRow = db.prepare(
      `UPDATE pull_request SET status = 'denied', reason = $reason, updated_at = $now
       WHERE request_id = $id AND status = 'waiting'`,
    );
  }

  insert(p: Omit<StoredPull, 'status' | 'createdAt' | 'updatedAt' | 'answer' | 'reason'>, now: Date): void {
    this.insertRow.run({
      $id: p.requestId,
      $pseudonym: p.pseudonym,
      $requesterId: p.requesterId,
      $role: p.requesterRole,
      $emergency: p.requesterEmergency ? 1 : 0,
      $purpose: p.purpose,
      $query: JSON.stringify(p.query),
      $permitted: JSON.stringify(p.permitted),
      $breakGlass: p.breakGlass ? 1 : 0,
      $queryHash: p.queryHash,
      $now: now.toISOString(),
    });
  }

  get(requestId: string): StoredPull | undefined {
    const row = this.byId.get(requestId) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** False when the request was no longer waiting (answered or denied before). */
  answer(requestId: string, answer: string, now: Date): boolean {
    return this.answerRow.run({ $id: requestId, $answer: answer, $now: now.toISOString() }).changes === 1;
  }

  deny(requestId: string, reason: string, now: Date): boolean {
    return this.denyRow.run({ $id: requestId, $reason: reason, $now: now.toISOString() }).changes === 1;
  }
}

function fromRow(r: Row): StoredPull {
  return {
    requestId: r.request_id,
    pseudonym: r.pseudonym,
    requesterId: r.requester_id,
    requesterRole: r.requester_role,
    requesterEmergency: r.requester_emergency === 1,
    purpose: r.purpose as PurposeOfUse,
    query: JSON.parse(r.query) as PullQuery,
    permitted: JSON.parse(r.permitted) as ConsentScope,
    breakGlass: r.break_glass === 1,
    queryHash: r.query_hash,
    status: r.status as PullStatus,
    ...(r.answer !== null ? { answer: r.answer } : {}),
    ...(r.reason !== null ? { reason: r.reason } : {}),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
