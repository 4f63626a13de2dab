import * as sqlite3 from 'sqlite3';

/**
 * The npm `sqlite3` callback API as promises, for the vault's one connection. Internal to the vault:
 * it does no locking of its own, so the caller must not let transactions interleave.
 */

export type SqlValue = string | number | bigint | Buffer | null;

export interface RunResult {
  changes: number;
  lastID: number;
}

export class AsyncStatement {
  constructor(private readonly statement: sqlite3.Statement) {}

  run(params: readonly SqlValue[]): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      this.statement.run(params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve({ changes: this.changes, lastID: this.lastID });
      });
    });
  }

  finalize(): Promise<void> {
    return new Promise((resolve) => {
      // finalize reports no error worth acting on; the statement is gone either way.
      this.statement.finalize(() => resolve());
    });
  }
}

export class AsyncDatabase {
  private constructor(private readonly db: sqlite3.Database) {}

  static open(file: string): Promise<AsyncDatabase> {
    return new Promise((resolve, reject) => {
      const db: sqlite3.Database = new sqlite3.Database(
        file,
        sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE | sqlite3.OPEN_FULLMUTEX,
        (err) => {
          if (err) reject(err);
          else resolve(new AsyncDatabase(db));
        },
      );
    });
  }

  configureBusyTimeout(ms: number): void {
    this.db.configure('busyTimeout', ms);
  }

  /** One or more statements without parameters or results (schema, BEGIN/COMMIT). */
  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.db.exec(sql, (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      this.db.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve({ changes: this.changes, lastID: this.lastID });
      });
    });
  }

  get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      this.db.get<T>(sql, params, (err, row) => {
        if (err) reject(err);
        else resolve(row);
      });
    });
  }

  all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return new Promise((resolve, reject) => {
      this.db.all<T>(sql, params, (err, rows) => {
        if (err) reject(err);
        else resolve(rows);
      });
    });
  }

  prepare(sql: string): Promise<AsyncStatement> {
    return new Promise((resolve, reject) => {
      const statement: sqlite3.Statement = this.db.prepare(sql, (err) => {
        if (err) reject(err);
        else resolve(new AsyncStatement(statement));
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.db.close((err) => {
        if (err) reject(err);
        else resolve();
      });
    });
  }
}

/** Runs async critical sections one at a time, in call order. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.tail.then(section);
    // The next section waits for this one to settle, whether it succeeded or not.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
