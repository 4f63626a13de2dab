import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** One sealed extract waiting for the researcher. */
export interface StoredExtract {
  participationId: string;
  offerId: string;
  /** The sealed envelope as JSON text, as the agent posted it. */
  envelope: string;
  receivedAt: string;
}

/** Why the store refused: the participation already left another extract (or one for another offer). */
export class ExtractMailboxError extends Error {
  override readonly name = 'ExtractMailboxError';
  constructor(
    readonly code: 'CONFLICT',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface Row {
  participation_id: string;
  offer_id: string;
  envelope: string;
  received_at: string;
}

/**
 * The research extract mailbox (migration v5): sealed extracts by participation, kept until the
 * offer's researcher acknowledges them. node:sqlite, synchronous, in the gateway's one database.
 */
export class ExtractMailboxStore {
  private readonly insert: StatementSync;
  private readonly byId: StatementSync;
  private readonly byOffer: StatementSync;
  private readonly countByOffer: StatementSync;
  private readonly drop: StatementSync;

  constructor(db: DatabaseSync) {
    this.insert = db.prepare(`
      INSERT INTO research_extract (participation_id, offer_id, envelope, bytes, received_at)
      VALUES (?, ?, ?, ?, ?) ON CONFLICT (participation_id) DO NOTHING`);
    this.byId = db.prepare('SELECT * FROM research_extract WHERE participation_id = ?');
    this.byOffer = db.prepare(
      'SELECT * FROM research_extract WHERE offer_id = ? ORDER BY received_at, participation_id LIMIT ?',
    );
    this.countByOffer = db.prepare('SELECT COUNT(*) AS n FROM research_extract WHERE offer_id = ?');
    this.drop = db.prepare('DELETE FROM research_extract WHERE offer_id = ? AND participation_id = ?');
  }

  /**
   * Keeps the extract; the same participation posting the same envelope again (a retry) is
   * answered with the one kept, and `created` false.
   * @throws ExtractMailboxError CONFLICT when the participation already left a different extract.
   */
  put(extract: StoredExtract): { extract: StoredExtract; created: boolean } {
    const inserted = this.insert.run(
      extract.participationId,
      extract.offerId,
      extract.envelope,
      Buffer.byteLength(extract.envelope),
      extract.receivedAt,
    );
    if (inserted.changes === 1) return { extract, created: true };
    const known = this.get(extract.participationId);
    if (!known || known.offerId !== extract.offerId || known.envelope !== extract.envelope) {
      throw new ExtractMailboxError('CONFLICT', 'this participation already left a different extract');
    }
    return { extract: known, created: false };
  }

  get(participationId: string): StoredExtract | undefined {
    const row = this.byId.get(participationId) as Row | undefined;
    return row && toExtract(row);
  }

  /** The offer's waiting extracts, oldest first, at most `limit`. */
  list(offerId: string, limit: number): StoredExtract[] {
    return (this.byOffer.all(offerId, limit) as unknown as Row[]).map(toExtract);
  }

  count(offerId: string): number {
    return (this.countByOffer.get(offerId) as { n: number }).n;
  }

  /** Drops an acknowledged extract; false when there was none (already acknowledged). */
  remove(offerId: string, participationId: string): boolean {
    return this.drop.run(offerId, participationId).changes > 0;
  }
}

function toExtract(row: Row): StoredExtract {
  return {
    participationId: row.participation_id,
    offerId: row.offer_id,
    envelope: row.envelope,
    receivedAt: row.received_at,
  };
}
