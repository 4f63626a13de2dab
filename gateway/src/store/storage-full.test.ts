import { DatabaseSync } from 'node:sqlite';
import { FhirError } from '@phr/common';
import { toFhirError } from '../http/error-handler';
import { inTransaction } from './database';
import { isStorageFull } from './storage-full';

/** A real SQLITE_FULL: a database allowed one page more than it has, then written past it. */
function fullDatabase(): { db: DatabaseSync; error: unknown } {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE t (x BLOB)');
  const { page_count: pages } = db.prepare('PRAGMA page_count').get() as { page_count: number };
  db.exec(`PRAGMA max_page_count = ${pages + 1}`);
  const insert = db.prepare('INSERT INTO t VALUES (?)');
  try {
    inTransaction(db, () => {
      for (let i = 0; i < 10; i++) insert.run(Buffer.alloc(4096));
    });
  } catch (error) {
    return { db, error };
  }
  throw new Error('the database never filled');
}

describe('a full data storage', () => {
  it('is recognised in SQLite errors, file-system errors and as the cause of another error', () => {
    const { db, error } = fullDatabase();
    expect(isStorageFull(error)).toBe(true);
    // The transaction was rolled back whole: nothing half-written.
    expect(db.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 0 });
    expect(isStorageFull(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }))).toBe(true);
    expect(isStorageFull(Object.assign(new Error('quota'), { code: 'EDQUOT' }))).toBe(true);
    expect(isStorageFull(new Error('wrapped', { cause: error }))).toBe(true);
    expect(isStorageFull(new FhirError(503, 'the ledger is unreachable; retry later', { cause: error }))).toBe(true);
    // Other SQLite errors are not (SQLITE_CONSTRAINT is 19, its extended codes keep 19 in the low byte).
    expect(isStorageFull(Object.assign(new Error('constraint'), { errcode: 2067 }))).toBe(false);
    expect(isStorageFull(new Error('database is locked'))).toBe(false);
    expect(isStorageFull(undefined)).toBe(false);
  });

  it('is answered 503 with an OperationOutcome that says what happened, also when another error wraps it', () => {
    const { error } = fullDatabase();
    for (const err of [error, new FhirError(503, 'the ledger is unreachable; retry later', { cause: error })]) {
      const answer = toFhirError(err);
      expect(answer.status).toBe(503);
      expect(answer.outcome.issue).toEqual([
        expect.objectContaining({
          severity: 'error',
          code: 'transient',
          diagnostics: expect.stringMatching(/data storage is full: .*nothing of it was stored/),
        }),
      ]);
    }
  });
});
