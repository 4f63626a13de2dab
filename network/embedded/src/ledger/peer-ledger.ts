import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { inTransaction, openStore, type Migration } from '../store/sqlite';

export interface Version {
  block: number;
  txNum: number;
}

export interface VersionedValue {
  value: Uint8Array;
  version: Version;
}

export interface KeyValue extends VersionedValue {
  key: string;
}

export interface HistoryEntry {
  txId: string;
  value: Uint8Array;
  isDelete: boolean;
  seconds: number;
  nanos: number;
}

export interface TxStatus {
  block: number;
  txNum: number;
  code: number;
}

/** One key's write by a valid transaction of a block being committed. */
export interface StateWrite {
  ns: string;
  key: string;
  /** Empty = delete (Fabric's rule: `is_delete` is set when the value is empty). */
  value: Uint8Array;
  txNum: number;
  txId: string;
  seconds: number;
  nanos: number;
}

export interface BlockCommit {
  number: number;
  headerHash: Uint8Array;
  bytes: Uint8Array;
  /** Every transaction id of the block, valid or not, with its validation code. */
  txIds: { txId: string; txNum: number; code: number }[];
  writes: StateWrite[];
}

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE blocks (number INTEGER PRIMARY KEY, header_hash BLOB NOT NULL, bytes BLOB NOT NULL);
      -- The first entry for a transaction id wins: a later DUPLICATE_TXID copy does not replace it.
      CREATE TABLE txids (tx_id TEXT PRIMARY KEY, block INTEGER NOT NULL, tx_num INTEGER NOT NULL, code INTEGER NOT NULL) WITHOUT ROWID;
      -- Keys are BLOBs of their UTF-8 bytes: SQLite orders BLOBs byte-wise, as LevelDB does.
      CREATE TABLE state (ns TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, block INTEGER NOT NULL,
        tx_num INTEGER NOT NULL, PRIMARY KEY (ns, key)) WITHOUT ROWID;
      CREATE TABLE history (ns TEXT NOT NULL, key BLOB NOT NULL, block INTEGER NOT NULL, tx_num INTEGER NOT NULL,
        tx_id TEXT NOT NULL, value BLOB NOT NULL, is_delete INTEGER NOT NULL, seconds INTEGER NOT NULL,
        nanos INTEGER NOT NULL, PRIMARY KEY (ns, key, block, tx_num)) WITHOUT ROWID;
    `,
  },
];

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/**
 * A peer's ledger for one channel in one SQLite file: the block store, the transaction id index,
 * the world state with versions, and key history. A block and everything it changes are written in
 * one SQLite transaction, so a crash leaves either the whole block or none of it.
 */
export class PeerLedger {
  private readonly db: DatabaseSync;
  private readonly q: Record<string, StatementSync>;

  constructor(file: string) {
    this.db = openStore(file, MIGRATIONS);
    this.q = {
      height: this.db.prepare('SELECT COALESCE(MAX(number) + 1, 0) AS h FROM blocks'),
      block: this.db.prepare('SELECT bytes FROM blocks WHERE number = ?'),
      hash: this.db.prepare('SELECT header_hash FROM blocks WHERE number = ?'),
      putBlock: this.db.prepare('INSERT INTO blocks (number, header_hash, bytes) VALUES (?, ?, ?)'),
      tx: this.db.prepare('SELECT block, tx_num, code FROM txids WHERE tx_id = ?'),
      putTx: this.db.prepare('INSERT OR IGNORE INTO txids (tx_id, block, tx_num, code) VALUES (?, ?, ?, ?)'),
      get: this.db.prepare('SELECT value, block, tx_num FROM state WHERE ns = ? AND key = ?'),
      put: this.db.prepare(
        'INSERT INTO state (ns, key, value, block, tx_num) VALUES (?, ?, ?, ?, ?) ' +
          'ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, block = excluded.block, tx_num = excluded.tx_num',
      ),
      del: this.db.prepare('DELETE FROM state WHERE ns = ? AND key = ?'),
      rangeOpen: this.db.prepare(
        'SELECT key, value, block, tx_num FROM state WHERE ns = ? AND key >= ? ORDER BY key LIMIT ?',
      ),
      range: this.db.prepare(
        'SELECT key, value, block, tx_num FROM state WHERE ns = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?',
      ),
      rangeIncl: this.db.prepare(
        'SELECT key, value, block, tx_num FROM state WHERE ns = ? AND key >= ? AND key <= ? ORDER BY key LIMIT ?',
      ),
      putHistory: this.db.prepare(
        'INSERT OR REPLACE INTO history (ns, key, block, tx_num, tx_id, value, is_delete, seconds, nanos) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      history: this.db.prepare(
        'SELECT tx_id, value, is_delete, seconds, nanos FROM history WHERE ns = ? AND key = ? ' +
          'ORDER BY block DESC, tx_num DESC',
      ),
    };
  }

  height(): number {
    return Number((this.q.height!.get() as { h: number }).h);
  }

  block(number: number): Uint8Array | undefined {
    const row = this.q.block!.get(number) as { bytes: Uint8Array } | undefined;
    return row?.bytes;
  }

  headerHash(number: number): Uint8Array | undefined {
    const row = this.q.hash!.get(number) as { header_hash: Uint8Array } | undefined;
    return row?.header_hash;
  }

  txStatus(txId: string): TxStatus | undefined {
    const row = this.q.tx!.get(txId) as { block: number; tx_num: number; code: number } | undefined;
    return row ? { block: row.block, txNum: row.tx_num, code: row.code } : undefined;
  }

  getState(ns: string, key: string): VersionedValue | undefined {
    const row = this.q.get!.get(ns, utf8(key)) as { value: Uint8Array; block: number; tx_num: number } | undefined;
    return row ? { value: row.value, version: { block: row.block, txNum: row.tx_num } } : undefined;
  }

  /**
   * Keys in [start, end) byte-wise (end "" = open; `inclusiveEnd` makes it [start, end]), at most
   * `limit`, in key order.
   */
  range(ns: string, start: string, end: string, limit: number, inclusiveEnd = false): KeyValue[] {
    const rows = (
      end === ''
        ? this.q.rangeOpen!.all(ns, utf8(start), limit)
        : (inclusiveEnd ? this.q.rangeIncl! : this.q.range!).all(ns, utf8(start), utf8(end), limit)
    ) as { key: Uint8Array; value: Uint8Array; block: number; tx_num: number }[];
    return rows.map((r) => ({
      key: Buffer.from(r.key).toString('utf8'),
      value: r.value,
      version: { block: r.block, txNum: r.tx_num },
    }));
  }

  /** Every valid write of the key, newest first. */
  history(ns: string, key: string): HistoryEntry[] {
    const rows = this.q.history!.all(ns, utf8(key)) as {
      tx_id: string;
      value: Uint8Array;
      is_delete: number;
      seconds: number;
      nanos: number;
    }[];
    return rows.map((r) => ({
      txId: r.tx_id,
      value: r.value,
      isDelete: r.is_delete === 1,
      seconds: r.seconds,
      nanos: r.nanos,
    }));
  }

  /**
   * Appends a validated block: the block, its transaction ids, and the valid transactions' writes.
   * @throws Error when the block is not the next one.
   */
  commit(c: BlockCommit): void {
    inTransaction(this.db, () => {
      if (c.number !== this.height()) throw new Error(`block ${c.number} is not the next block (${this.height()})`);
      this.q.putBlock!.run(c.number, c.headerHash, c.bytes);
      for (const t of c.txIds) this.q.putTx!.run(t.txId, c.number, t.txNum, t.code);
      for (const w of c.writes) {
        const key = utf8(w.key);
        if (w.value.length === 0) this.q.del!.run(w.ns, key);
        else this.q.put!.run(w.ns, key, w.value, c.number, w.txNum);
        this.q.putHistory!.run(
          w.ns,
          key,
          c.number,
          w.txNum,
          w.txId,
          w.value,
          w.value.length === 0 ? 1 : 0,
          w.seconds,
          w.nanos,
        );
      }
    });
  }

  close(): void {
    this.db.close();
  }
}
