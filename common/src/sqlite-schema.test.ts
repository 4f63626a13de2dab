import { DatabaseSync } from 'node:sqlite';
import {
  createdObject,
  normalizeSql,
  schemaDifferences,
  SCHEMA_OBJECTS_QUERY,
  type SchemaObject,
} from './sqlite-schema';

const TABLE = `CREATE TABLE IF NOT EXISTS mail (
    id   TEXT PRIMARY KEY,
    seq  INTEGER NOT NULL CHECK (seq > 0),
    body TEXT
  ) STRICT`;
const INDEX = 'CREATE INDEX IF NOT EXISTS mail_seq ON mail (seq) WHERE body IS NOT NULL';

function objectsAfter(...statements: string[]): SchemaObject[] {
  const db = new DatabaseSync(':memory:');
  for (const s of statements) db.exec(s);
  const objects = db.prepare(SCHEMA_OBJECTS_QUERY).all() as unknown as SchemaObject[];
  db.close();
  return objects;
}

describe('a schema as sqlite_master records it', () => {
  it('is what the CREATE … IF NOT EXISTS statements say, whatever their indentation', () => {
    const expected = [TABLE, INDEX].map(createdObject);
    expect(expected.map((o) => [o.type, o.name])).toEqual([
      ['table', 'mail'],
      ['index', 'mail_seq'],
    ]);
    expect(schemaDifferences(expected, objectsAfter(TABLE, INDEX))).toEqual([]);
    const reindented = TABLE.replace(/\n\s*/g, '\n\t\t  ');
    expect(schemaDifferences([reindented, INDEX].map(createdObject), objectsAfter(TABLE, INDEX))).toEqual([]);
    // SQLite's own objects (the primary key's autoindex) are not the application's.
    expect(objectsAfter(TABLE).map((o) => o.name)).toEqual(['mail']);
  });

  it('tells a column, a CHECK, STRICT or an index condition apart', () => {
    const expected = [TABLE, INDEX].map(createdObject);
    const variants = [
      TABLE.replace('body TEXT', 'body BLOB'),
      TABLE.replace('CHECK (seq > 0)', 'CHECK (seq >= 0)'),
      TABLE.replace(') STRICT', ')'),
    ];
    for (const table of variants) {
      expect(schemaDifferences(expected, objectsAfter(table, INDEX))).toEqual([
        expect.stringMatching(/^table mail is defined differently/),
      ]);
    }
    const otherIndex = INDEX.replace(' WHERE body IS NOT NULL', '');
    expect(schemaDifferences(expected, objectsAfter(TABLE, otherIndex))).toEqual([
      expect.stringMatching(/^index mail_seq is defined differently/),
    ]);
  });

  it('names what is missing, unless partial, and what is not part of it', () => {
    const expected = [TABLE, INDEX].map(createdObject);
    expect(schemaDifferences(expected, objectsAfter(TABLE))).toEqual(['index mail_seq is missing']);
    expect(schemaDifferences(expected, objectsAfter(TABLE), { partial: true })).toEqual([]);
    expect(schemaDifferences(expected, objectsAfter(TABLE, INDEX, 'CREATE TABLE extra (x)'))).toEqual([
      'table extra is not part of the schema',
    ]);
  });

  it('takes only CREATE … IF NOT EXISTS statements as a baseline', () => {
    expect(() => createdObject('CREATE TABLE mail (id TEXT)')).toThrow(/IF NOT EXISTS/);
    expect(() => createdObject('ALTER TABLE mail ADD COLUMN x')).toThrow(/IF NOT EXISTS/);
    expect(normalizeSql(' CREATE TABLE t ( a ,\n b );\n')).toBe('CREATE TABLE t(a,b)');
  });
});
