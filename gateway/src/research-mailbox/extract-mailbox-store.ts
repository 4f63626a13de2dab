import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** One sealed extract waiting for the researcher. */
export interface StoredExtract {
  participationId: string;
  offerId: string;
  /** The sealed envelope as JSON text, as the agent posted it. */
  envelope: string;
  receivedAt: string;
  /** The offer's expiry (ISO, UTC): past it, an extract nobody acknowledged is purged. Null: kept before migration v7. */
  offerExpiresAt: string | null;
}

/** A waiting extract with its place in the mailbox: `seq` orders a listing and is its cursor. */
export interface ListedExtract extends StoredExtract {
  seq: number;
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
  seq: number;
  participation_id: string;
  offer_id: string;
  envelope: string;
  received_at: string;
  offer_expires_at: string | null;
}

/** Rows purged per statement: a short write lock each, however many expire at once. */
const PURGE_BATCH = 500;

/**
 * The research extract mailbox (migrations v5, v7): sealed extracts by participation, kept until
 * the offer's researcher acknowledges them or the offer expires. node:sqlite, synchronous, in the
 * gateway's one database.
 */
export class ExtractMailboxStore {
  private readonly insert: StatementSync;
  private readonly byId: StatementSync;
  private readonly byOffer: StatementSync;
  private readonly countByOffer: StatementSync;
  private readonly drop: StatementSync;
  private readonly dropExpired: StatementSync;

  constructor(db: DatabaseSync) {
    this.insert = db.prepare(`
      INSERT INTO research_extract (participation_id, offer_id, envelope, bytes, received_at, offer_expires_at)
      VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (participation_id) DO NOTHING`);
    this.byId = db.prepare('SELECT rowid AS seq, * FROM research_extract WHERE participation_id = ?');
    // The rowid is the arrival order. SQLite may reuse the highest one once its row is deleted;
    // such a row then sorts before a cursor already handed out and is seen on the next pass from
    // the start, never lost.
    this.byOffer = db.prepare(
      'SELECT rowid AS seq, * FROM research_extract WHERE offer_id = ? AND rowid > ? ORDER BY rowid LIMIT ?',
    );
    this.countByOffer = db.prepare('SELECT COUNT(*) AS n FROM research_extract WHERE offer_id = ?');
    this.drop = db.prepare('DELETE FROM research_extract WHERE offer_id = ? AND participation_id = ?');
    this.dropExpired = db.prepare(`
      DELETE FROM research_extract WHERE participation_id IN (
        SELECT participation_id FROM research_extract WHERE offer_expires_at <= ? LIMIT ${PURGE_BATCH})`);
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
      extract.offerExpiresAt,
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

  /** The offer's waiting extracts after the cursor `after` (a `seq`; 0 from the start), oldest first, at most `limit`. */
  list(offerId: string, limit: number, after = 0): ListedExtract[] {
    return (this.byOffer.all(offerId, after, limit) as unknown as Row[]).map((row) => ({
      ...toExtract(row),
      seq: row.seq,
    }));
  }

  count(offerId: string): number {
    return (this.countByOffer.get(offerId) as { n: number }).n;
  }

  /** Drops an acknowledged extract; false when there was none (already acknowledged). */
  remove(offerId: string, participationId: string): boolean {
    return this.drop.run(offerId, participationId).changes > 0;
  }

  /** Deletes the extracts of offers expired by `now` that nobody acknowledged; how many. */
  purgeExpired(now: Date): number {
    const at = now.toISOString();
    let purged = 0;
    for (;;) {
      const changes = Number(this.dropExpired.run(at).changes);
      purged += changes;
      if (changes < PURGE_BATCH) return purged;
    }
  }
}

function toExtract(row: Row): StoredExtract {
  return {
    participationId: row.participation_id,
    offerId: row.offer_id,
    envelope: row.envelope,
    receivedAt: row.received_at,
    offerExpiresAt: row.offer_expires_at,
  };
}
