import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  DatabaseSchemaError,
  latestVersion,
  migrateAsync,
  migrateSync,
  type AsyncSqlite,
  type Migration,
} from './sqlite-migrations';
import { SCHEMA_OBJECTS_QUERY } from './sqlite-schema';

const v1: Migration = {
  version: 1,
  description: 'notes and tags',
  statements: [
    `CREATE TABLE IF NOT EXISTS notes (
      id   INTEGER PRIMARY KEY,
      text TEXT NOT NULL
    )`,
    'CREATE INDEX IF NOT EXISTS notes_text ON notes (text)',
    `CREATE TABLE IF NOT EXISTS tags (
      note_id INTEGER NOT NULL REFERENCES notes (id),
      tag     TEXT NOT NULL
    )`,
  ],
};
const v2: Migration = {
  version: 2,
  description: 'notes get a time',
  statements: [
    "ALTER TABLE notes ADD COLUMN at TEXT NOT NULL DEFAULT '1970-01-01'",
    'CREATE INDEX notes_at ON notes (at)',
  ],
};
/** Fails at its second statement, after the first one changed the file. */
const failing: Migration = {
  version: 3,
  description: 'breaks halfway',
  statements: ['ALTER TABLE notes ADD COLUMN broken TEXT', 'INSERT INTO no_such_table VALUES (1)'],
};

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'phr-migrations-'));
  file = join(dir, 'test.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function open(): DatabaseSync {
  const db = new DatabaseSync(file);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;');
  return db;
}

const version = (db: DatabaseSync) =>
  (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
const schema = (db: DatabaseSync) => db.prepare(SCHEMA_OBJECTS_QUERY).all();
const rows = (db: DatabaseSync, sql: string) => db.prepare(sql).all();

/** A file as releases before schema versions left it: the baseline's tables, rows, no version. */
function previousRelease(db: DatabaseSync, statements = v1.statements): void {
  for (const s of statements) db.exec(s);
  db.exec("INSERT INTO notes (id, text) VALUES (1, 'first'), (2, 'second')");
  db.exec("INSERT INTO tags VALUES (1, 'a'), (2, 'b')");
}

/** The async driver over node:sqlite, as the agent's wrapper over sqlite3 calls it. */
function asAsync(db: DatabaseSync, before?: (sql: string) => void): AsyncSqlite {
  return {
    exec: async (sql) => {
      before?.(sql);
      db.exec(sql);
    },
    all: async <T>(sql: string) => {
      before?.(sql);
      return db.prepare(sql).all() as T[];
    },
  };
}

describe('migrations', () => {
  it('make a new file from version 0 to the last, and then find nothing to do', () => {
    const db = open();
    expect(migrateSync(db, 'test.db', [v1, v2])).toEqual({ from: 0, to: 2, adopted: false });
    expect(version(db)).toBe(2);
    expect(rows(db, 'PRAGMA table_info(notes)').map((c) => (c as { name: string }).name)).toEqual(['id', 'text', 'at']);
    const before = schema(db);
    expect(migrateSync(db, 'test.db', [v1, v2])).toEqual({ from: 2, to: 2, adopted: false });
    expect(schema(db)).toEqual(before);
    db.close();
  });

  it('adopt a file from before schema versions as version 1 and upgrade it, keeping every row', () => {
    const db = open();
    previousRelease(db);
    expect(migrateSync(db, 'test.db', [v1, v2])).toEqual({ from: 0, to: 2, adopted: true });
    expect(version(db)).toBe(2);
    expect(rows(db, 'SELECT id, text, at FROM notes ORDER BY id')).toEqual([
      { id: 1, text: 'first', at: '1970-01-01' },
      { id: 2, text: 'second', at: '1970-01-01' },
    ]);
    expect(rows(db, 'SELECT * FROM tags ORDER BY note_id')).toHaveLength(2);
    db.close();
  });

  it('make the baseline objects such a file lacks, as its release would have at start-up', () => {
    const db = open();
    previousRelease(db, [v1.statements[0] as string, v1.statements[2] as string]);
    expect(migrateSync(db, 'test.db', [v1])).toEqual({ from: 0, to: 1, adopted: true });
    expect(rows(db, "SELECT name FROM sqlite_master WHERE name = 'notes_text'")).toHaveLength(1);
    db.close();
  });

  it('refuse a file without a version whose tables are not the baseline, changing nothing', () => {
    for (const stray of [
      // a table of the same name with other columns
      [v1.statements[0]?.replace('text TEXT NOT NULL', 'body TEXT NOT NULL') as string],
      // an object the baseline does not have
      [...v1.statements, 'CREATE TABLE unknown (x)'],
    ]) {
      rmSync(file, { force: true });
      const db = open();
      for (const s of stray) db.exec(s);
      const before = schema(db);
      let error: unknown;
      try {
        migrateSync(db, 'gateway.db', [v1, v2]);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(DatabaseSchemaError);
      expect(error).toMatchObject({ code: 'SCHEMA_MISMATCH', database: 'gateway.db' });
      expect((error as Error).message).toMatch(/^gateway\.db has no schema version .*table (notes|unknown)/);
      expect(version(db)).toBe(0);
      expect(schema(db)).toEqual(before);
      db.close();
    }
  });

  it('refuse a file written by a newer release before writing anything', () => {
    const db = open();
    migrateSync(db, 'test.db', [v1, v2]);
    db.exec('PRAGMA user_version = 3');
    const before = schema(db);
    expect(() => migrateSync(db, 'vault.db', [v1, v2])).toThrow(
      expect.objectContaining({
        name: 'DatabaseSchemaError',
        code: 'SCHEMA_TOO_NEW',
        message: expect.stringMatching(/^vault\.db has schema version 3, but this release knows versions up to 2/),
      }),
    );
    expect(version(db)).toBe(3);
    expect(schema(db)).toEqual(before);
    db.close();
  });

  it('roll a failing migration back whole, leaving the file at the version before it', () => {
    const db = open();
    previousRelease(db);
    migrateSync(db, 'test.db', [v1, v2]);
    const before = schema(db);
    expect(() => migrateSync(db, 'test.db', [v1, v2, failing])).toThrow(
      expect.objectContaining({
        code: 'MIGRATION_FAILED',
        message: expect.stringMatching(
          /migration 3 \(breaks halfway\) failed .* stays at schema version 2: no such table/,
        ),
      }),
    );
    expect(db.isTransaction).toBe(false);
    expect(version(db)).toBe(2);
    // The first statement had run: its column is gone with the rollback.
    expect(schema(db)).toEqual(before);
    expect(rows(db, 'SELECT id, text FROM notes ORDER BY id')).toEqual([
      { id: 1, text: 'first' },
      { id: 2, text: 'second' },
    ]);
    db.close();
  });

  it('refuse a migration that leaves rows breaking a foreign key', () => {
    const db = open();
    previousRelease(db);
    const orphans: Migration = { version: 2, description: 'orphans', statements: ['DELETE FROM notes WHERE id = 1'] };
    // foreign_keys = ON would refuse the DELETE itself; this is the case a table rebuild meets.
    db.exec('PRAGMA foreign_keys = OFF');
    expect(() => migrateSync(db, 'test.db', [v1, orphans])).toThrow(
      expect.objectContaining({ code: 'MIGRATION_FAILED', message: expect.stringMatching(/foreign key/) }),
    );
    expect(version(db)).toBe(1);
    expect(rows(db, 'SELECT id FROM notes')).toHaveLength(2);
    db.close();
  });

  it('run the same steps on an asynchronous library', async () => {
    const db = open();
    previousRelease(db);
    await expect(migrateAsync(asAsync(db), 'test.db', [v1, v2])).resolves.toEqual({ from: 0, to: 2, adopted: true });
    await expect(migrateAsync(asAsync(db), 'test.db', [v1, v2, failing])).rejects.toMatchObject({
      code: 'MIGRATION_FAILED',
    });
    expect(version(db)).toBe(2);
    expect(db.isTransaction).toBe(false);
    db.close();
  });

  it('leave alone what another process migrated while this one waited for the lock', async () => {
    const mine = open();
    const other = open();
    let raced = false;
    const steps: string[] = [];
    // Between this process reading version 0 and taking the write lock, another one migrates.
    const racing = asAsync(mine, (sql) => {
      steps.push(sql);
      if (sql === 'BEGIN IMMEDIATE' && !raced) {
        raced = true;
        migrateSync(other, 'test.db', [v1, v2]);
      }
    });
    await expect(migrateAsync(racing, 'test.db', [v1, v2])).resolves.toEqual({ from: 0, to: 2, adopted: false });
    expect(steps.filter((s) => s.startsWith('CREATE') || s.startsWith('ALTER'))).toEqual([]);
    expect(version(mine)).toBe(2);
    mine.close();
    other.close();
  });

  it('are numbered 1, 2, 3… without gaps', () => {
    expect(latestVersion([v1, v2])).toBe(2);
    expect(() => latestVersion([v1, failing])).toThrow('migration 2 is numbered 3');
    const db = open();
    expect(() => migrateSync(db, 'test.db', [v2])).toThrow('migration 1 is numbered 2');
    expect(version(db)).toBe(0);
    db.close();
  });
});
