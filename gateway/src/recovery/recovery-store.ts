import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { RecoveryApproval, RelayKind, SealedEnvelope } from '@phr/common';
import type { MailboxStore, MailMessage } from '../mailbox';
import { MailboxError } from '../mailbox/mailbox-error';
import { inTransaction } from '../store/database';

export interface RelayInput {
  messageId: string;
  kind: RelayKind;
  target: string;
  senderId: string;
  senderMsp: string;
  /** The envelope as JSON text: what the target's agent gets. */
  body: string;
}

export interface StoredRequest {
  requestId: string;
  pseudonym: string;
  requesterId: string;
  ephemeralPublicKey: string;
  createdAt: string;
  expiresAt: string;
}

export interface ApprovalInput {
  requestId: string;
  guardian: string;
  guardianId: string;
  envelope: string;
}

/** Why the store refused: a message or request id already taken for something else. */
export class RecoveryStoreError extends Error {
  override readonly name = 'RecoveryStoreError';
  constructor(
    readonly code: 'CONFLICT',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Relay rows are kept this long: who sent mail to whom, for the patients' and the hospital's questions. */
export const RELAY_RECORD_DAYS = 90;
/** An expired request answers 410 for this long (its approvals are gone at once), then it is gone. */
const EXPIRED_KEPT_MS = 24 * 60 * 60 * 1000;

interface RequestRow {
  request_id: string;
  pseudonym: string;
  requester_id: string;
  ephemeral_public_key: string;
  created_at: string;
  expires_at: string;
}

/**
 * The gateway's part of key recovery: relayed patient-to-patient mail (the mail goes into the
 * target's mailbox, the row here says who sent it), the requests new devices open and the
 * guardians' approvals. node:sqlite, synchronous, in the gateway's one database; tables in
 * migrations v3 and v4.
 */
export class RecoveryStore {
  private readonly insertRelay: StatementSync;
  private readonly relayById: StatementSync;
  private readonly relaysSince: StatementSync;
  private readonly relaysToSince: StatementSync;
  private readonly insertRequest: StatementSync;
  private readonly requestById: StatementSync;
  private readonly requestsSince: StatementSync;
  private readonly upsertApproval: StatementSync;
  private readonly approvalRows: StatementSync;
  private readonly dropExpiredApprovals: StatementSync;
  private readonly dropExpiredRequests: StatementSync;
  private readonly dropOldRelays: StatementSync;

  constructor(
    private readonly db: DatabaseSync,
    private readonly mailbox: MailboxStore,
  ) {
    this.insertRelay = db.prepare(`
      INSERT INTO relay_message (message_id, sender_id, sender_msp, target, kind, bytes, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING`);
    this.relayById = db.prepare('SELECT sender_id, target, kind FROM relay_message WHERE message_id = ?');
    this.relaysSince = db.prepare('SELECT COUNT(*) AS n FROM relay_message WHERE sender_id = ? AND created_at >= ?');
    this.relaysToSince = db.prepare('SELECT COUNT(*) AS n FROM relay_message WHERE target = ? AND created_at >= ?');
    this.insertRequest = db.prepare(`
      INSERT INTO recovery_request (request_id, pseudonym, requester_id, ephemeral_public_key, created_at, expires_at)
      VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING`);
    this.requestById = db.prepare('SELECT * FROM recovery_request WHERE request_id = ?');
    this.requestsSince = db.prepare(
      'SELECT COUNT(*) AS n FROM recovery_request WHERE requester_id = ? AND created_at >= ?',
    );
    this.upsertApproval = db.prepare(`
      INSERT INTO recovery_approval (request_id, guardian, guardian_id, envelope, approved_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (request_id, guardian) DO UPDATE SET
        guardian_id = excluded.guardian_id, envelope = excluded.envelope, approved_at = excluded.approved_at`);
    this.approvalRows = db.prepare(
      'SELECT guardian, envelope, approved_at FROM recovery_approval WHERE request_id = ? ORDER BY approved_at, guardian',
    );
    this.dropExpiredApprovals = db.prepare(`
      DELETE FROM recovery_approval
      WHERE request_id IN (SELECT request_id FROM recovery_request WHERE expires_at <= ?)`);
    this.dropExpiredRequests = db.prepare('DELETE FROM recovery_request WHERE expires_at <= ?');
    this.dropOldRelays = db.prepare('DELETE FROM relay_message WHERE created_at < ?');
  }

  /** Messages `senderId` relayed at or after `since` (ISO 8601). */
  relayedSince(senderId: string, since: string): number {
    return (this.relaysSince.get(senderId, since) as { n: number }).n;
  }

  /** Messages relayed to `target`'s mailbox (by anyone) at or after `since` (ISO 8601). */
  relayedToSince(target: string, since: string): number {
    return (this.relaysToSince.get(target, since) as { n: number }).n;
  }

  /** Whether a message with this id was relayed (by anyone). */
  isRelayed(messageId: string): boolean {
    return this.relayById.get(messageId) !== undefined;
  }

  /**
   * Puts the mail into the target's mailbox and records its sender, in one transaction, then
   * wakes the target. The same message id from the same sender to the same target is answered
   * with the mail already queued.
   * @throws RecoveryStoreError CONFLICT when the message id was used by another sender, target
   * or kind.
   */
  relay(input: RelayInput, now: Date): MailMessage {
    const message = inTransaction(this.db, () => {
      const inserted = this.insertRelay.run(
        input.messageId,
        input.senderId,
        input.senderMsp,
        input.target,
        input.kind,
        Buffer.byteLength(input.body),
        now.toISOString(),
      );
      if (inserted.changes === 0) {
        const known = this.relayById.get(input.messageId) as { sender_id: string; target: string; kind: string };
        if (known.sender_id !== input.senderId || known.target !== input.target || known.kind !== input.kind) {
          throw new RecoveryStoreError('CONFLICT', 'this message id is already used for other mail');
        }
      }
      try {
        return this.mailbox.enqueue({
          pseudonym: input.target,
          messageId: input.messageId,
          kind: input.kind,
          body: input.body,
        });
      } catch (err) {
        // A delivery or pull request took the id first: a sender cannot make mail collide with it.
        if (err instanceof MailboxError && err.code === 'conflict') {
          throw new RecoveryStoreError('CONFLICT', 'this message id is already used for other mail', { cause: err });
        }
        throw err;
      }
    });
    this.mailbox.announce(input.target);
    return message;
  }

  /** Requests `requesterId` opened at or after `since` (ISO 8601). */
  openedSince(requesterId: string, since: string): number {
    return (this.requestsSince.get(requesterId, since) as { n: number }).n;
  }

  /**
   * Opens a request, or answers the one already open under this id when it is the same one
   * (same device, pseudonym and key): a retried POST changes nothing.
   * @throws RecoveryStoreError CONFLICT when the id is taken by another request.
   */
  open(request: StoredRequest): { request: StoredRequest; created: boolean } {
    const inserted = this.insertRequest.run(
      request.requestId,
      request.pseudonym,
      request.requesterId,
      request.ephemeralPublicKey,
      request.createdAt,
      request.expiresAt,
    );
    if (inserted.changes === 1) return { request, created: true };
    const known = this.request(request.requestId);
    if (
      !known ||
      known.requesterId !== request.requesterId ||
      known.pseudonym !== request.pseudonym ||
      known.ephemeralPublicKey !== request.ephemeralPublicKey
    ) {
      throw new RecoveryStoreError('CONFLICT', 'this request id is already used for another request');
    }
    return { request: known, created: false };
  }

  request(requestId: string): StoredRequest | undefined {
    const row = this.requestById.get(requestId) as RequestRow | undefined;
    return row && toRequest(row);
  }

  /** Adds the guardian's approval, or replaces its earlier one; `created` is false for a replacement. */
  approve(input: ApprovalInput, now: Date): { approvedAt: string; created: boolean } {
    const approvedAt = now.toISOString();
    return inTransaction(this.db, () => {
      const before = this.approvalRows.all(input.requestId) as { guardian: string }[];
      this.upsertApproval.run(input.requestId, input.guardian, input.guardianId, input.envelope, approvedAt);
      return { approvedAt, created: !before.some((r) => r.guardian === input.guardian) };
    });
  }

  approvals(requestId: string): RecoveryApproval[] {
    const rows = this.approvalRows.all(requestId) as { guardian: string; envelope: string; approved_at: string }[];
    return rows.map((r) => ({
      guardian: r.guardian,
      envelope: JSON.parse(r.envelope) as SealedEnvelope,
      approvedAt: r.approved_at,
    }));
  }

  /**
   * Drops the sealed shares of expired requests at once, the requests themselves a day later
   * (until then they answer 410 rather than 404), and relay records past RELAY_RECORD_DAYS.
   */
  purge(now: Date): void {
    const at = now.getTime();
    inTransaction(this.db, () => {
      this.dropExpiredApprovals.run(new Date(at).toISOString());
      this.dropExpiredRequests.run(new Date(at - EXPIRED_KEPT_MS).toISOString());
      this.dropOldRelays.run(new Date(at - RELAY_RECORD_DAYS * 24 * 60 * 60 * 1000).toISOString());
    });
  }
}

function toRequest(row: RequestRow): StoredRequest {
  return {
    requestId: row.request_id,
    pseudonym: row.pseudonym,
    requesterId: row.requester_id,
    ephemeralPublicKey: row.ephemeral_public_key,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}
