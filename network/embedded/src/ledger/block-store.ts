import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { openStore, type Migration } from '../store/sqlite';

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: 'CREATE TABLE blocks (number INTEGER PRIMARY KEY, header_hash BLOB NOT NULL, bytes BLOB NOT NULL);',
  },
];

/** The orderer's chain for one channel: blocks by number in one SQLite file. */
export class BlockStore {
  private readonly db: DatabaseSync;
  private readonly heightQ: StatementSync;
  private readonly getQ: StatementSync;
  private readonly hashQ: StatementSync;
  private readonly putQ: StatementSync;

  constructor(file: string) {
    this.db = openStore(file, MIGRATIONS);
    this.heightQ = this.db.prepare('SELECT COALESCE(MAX(number) + 1, 0) AS h FROM blocks');
    this.getQ = this.db.prepare('SELECT bytes FROM blocks WHERE number = ?');
    this.hashQ = this.db.prepare('SELECT header_hash FROM blocks WHERE number = ?');
    this.putQ = this.db.prepare('INSERT INTO blocks (number, header_hash, bytes) VALUES (?, ?, ?)');
  }

  height(): number {
    return Number((this.heightQ.get() as { h: number }).h);
  }

  block(number: number): Uint8Array | undefined {
    return (this.getQ.get(number) as { bytes: Uint8Array } | undefined)?.bytes;
  }

  headerHash(number: number): Uint8Array | undefined {
    return (this.hashQ.get(number) as { header_hash: Uint8Array } | undefined)?.header_hash;
  }

  /** @throws Error when `number` is not the next block. */
  append(number: number, headerHash: Uint8Array, bytes: Uint8Array): void {
    if (number !== this.height()) throw new Error(`block ${number} is not the next block (${this.height()})`);
    this.putQ.run(number, headerHash, bytes);
  }

  close(): void {
    this.db.close();
  }
}
