import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/** One numbered schema step; applied once, in order, recorded in `PRAGMA user_version`. */
export interface Migration {
  version: number;
  sql: string;
}

/**
 * Opens (creating if needed) one node's SQLite file with WAL and full fsync: a block the node
 * acknowledged, or an enrollment the CA counted, must survive `kill -9` and a power cut.
 */
export function openStore(file: string, migrations: readonly Migration[]): DatabaseSync {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new DatabaseSync(file);
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = FULL;
    PRAGMA busy_timeout = 5000;
  `);
  migrate(db, migrations);
  return db;
}

export function migrate(db: DatabaseSync, migrations: readonly Migration[]): void {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number };
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations must be numbered 1..n; found ${m.version} at ${i + 1}`);
  });
  for (const m of sorted) {
    if (m.version <= row.user_version) continue;
    inTransaction(db, () => {
      db.exec(m.sql);
      db.exec(`PRAGMA user_version = ${m.version}`);
    });
  }
}

/** Runs `fn` in `BEGIN IMMEDIATE … COMMIT`; any throw rolls everything back. Not re-entrant. */
export function inTransaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
}
