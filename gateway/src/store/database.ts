import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ensurePrivateFile, makePrivateDir, migrateSync, sqliteFiles, type Migration } from '@phr/common';
import type { Logger } from '../logger';
import { GATEWAY_MIGRATIONS } from './migrations';

export interface OpenDatabaseOptions {
  /** Told when an existing file's schema was migrated (or one from before schema versions adopted). */
  log?: Logger;
  /** Tests only: another list than the gateway's. */
  migrations?: readonly Migration[];
}

/**
 * The gateway's one SQLite file. One file, so that a delivery, its standardized rows, its ledger
 * outbox row and its mail are written in one transaction: all of them or none.
 *
 * It holds coded clinical values, so its folder is created 0700 and the file 0600 before SQLite
 * opens it (SQLite itself would create it 0644); SQLite gives the -wal and -shm files the
 * database file's mode.
 *
 * Deleted content is overwritten with zeros (secure_delete), including the stale copies SQLite
 * leaves behind when it moves rows between pages: a patient's erasure (lifecycle/erasure-service.ts)
 * must leave nothing of theirs in the file's free space, and acknowledged mail is gone for good. The
 * cost is one more page write per freed page; inserts (the ingest path) free nothing.
 *
 * A new file gets 16 KiB pages instead of SQLite's 4 KiB: a delivery's sealed mail and its kept
 * copy are ~0.3-0.9 MB per C-CDA document, written to the WAL and then to the file page by page,
 * and a commit of that much took 2.4 ms of CPU with 4 KiB pages and 1.4 ms with 16 KiB (measured
 * with node:sqlite here). A file made before keeps its pages: SQLite changes a WAL file's page size
 * only through a VACUUM out of WAL mode, which is not worth a gateway's start-up.
 *
 * Its schema comes from the numbered migrations in `./migrations`, applied here before any store
 * uses the file; a file written by a newer release is refused (DatabaseSchemaError
 * SCHEMA_TOO_NEW) and left as it is.
 */
export function openDatabase(file: string, options: OpenDatabaseOptions = {}): DatabaseSync {
  if (file !== ':memory:') {
    makePrivateDir(dirname(file));
    ensurePrivateFile(file);
  }
  const db = new DatabaseSync(file);
  db.exec(`
    PRAGMA page_size = 16384; -- a new file only (see above); an existing one keeps its page size
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = FULL; -- an acknowledged delivery must survive a power cut, not only a crash
    PRAGMA busy_timeout = 5000;
    PRAGMA foreign_keys = ON;
    PRAGMA secure_delete = ON; -- what is deleted (erasure, acknowledged mail) is overwritten, not left in free pages
  `);
  try {
    const outcome = migrateSync(db, file, options.migrations ?? GATEWAY_MIGRATIONS);
    // A new file is not news; an upgraded or adopted one is, for whoever looks after the data.
    if (outcome.adopted || (outcome.from > 0 && outcome.from !== outcome.to)) {
      options.log?.info({ database: file, ...outcome }, 'database schema migrated');
    }
  } catch (err) {
    db.close();
    throw err;
  }
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
