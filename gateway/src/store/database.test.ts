import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openDatabase } from './database';

describe('openDatabase page size', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'phr-db-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const pageSize = (db: DatabaseSync) => (db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size;

  it('makes a new file with 16 KiB pages, in WAL mode', () => {
    const db = openDatabase(join(dir, 'gateway.db'));
    try {
      expect(pageSize(db)).toBe(16384);
      expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    } finally {
      db.close();
    }
  });

  it('leaves the page size of a file made before as it was', () => {
    const file = join(dir, 'gateway.db');
    const old = new DatabaseSync(file);
    old.exec('PRAGMA page_size = 4096; PRAGMA journal_mode = WAL;');
    old.close();
    const db = openDatabase(file);
    try {
      expect(pageSize(db)).toBe(4096);
      expect(db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'std_element'").get()).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  });
});
