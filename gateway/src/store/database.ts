import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ensurePrivateFile, makePrivateDir, sqliteFiles } from '@phr/common';

/**
 * The gateway's one SQLite file. One file, so that a delivery, its standardized rows, its ledger
 * outbox row and its mail are written in one transaction: all of them or none.
 *
 * It holds coded clinical values, so its folder is created 0700 and the file 0600 before SQLite
 * opens it (SQLite itself would create it 0644); SQLite gives the -wal and -shm files the
 * database file's mode.
 */
export function openDatabase(file: string): DatabaseSync {
  if (file !== ':memory:') {
    makePrivateDir(dirname(file));
    ensurePrivateFile(file);
  }
  const db = new DatabaseSync(file);
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = FULL; -- an acknowledged delivery must survive a power cut, not only a crash
    PRAGMA busy_timeout = 5000;
    PRAGMA foreign_keys = ON;
  `);
  return db;
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

/** Every file the gateway's database consists of (for the start-up check of their modes). */
export function databaseFiles(file: string): string[] {
  return file === ':memory:' ? [] : sqliteFiles(file);
}
