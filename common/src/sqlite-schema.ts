/**
 * A SQLite schema as `sqlite_master` records it, for checking that a file made before schema
 * versions existed holds exactly the tables and indexes of migration 1 before adopting it.
 *
 * SQLite keeps each object's CREATE statement as written (minus `IF NOT EXISTS`), so comparing
 * that text compares everything: columns, types, constraints, CHECKs, STRICT, WITHOUT ROWID,
 * partial-index conditions. Only runs of whitespace are evened out, so that re-indenting a
 * statement does not make the same schema look different.
 */

export interface SchemaObject {
  type: string;
  name: string;
  sql: string;
}

/** Every object the application made: SQLite's own (`sqlite_sequence`, autoindexes, stats) are left out. */
export const SCHEMA_OBJECTS_QUERY = `SELECT type, name, sql FROM sqlite_master
  WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND sql IS NOT NULL ORDER BY type, name`;

const CREATE_IF_NOT_EXISTS = /^\s*CREATE\s+(?:UNIQUE\s+)?(TABLE|INDEX|VIEW|TRIGGER)\s+IF\s+NOT\s+EXISTS\s+"?(\w+)"?/i;

/** Whitespace evened out and the statement's final `;` dropped; nothing else changes. */
export function normalizeSql(sql: string): string {
  return sql
    .trim()
    .replace(/;$/, '')
    .replace(/\s+/g, ' ')
    .replace(/ ?([(),]) ?/g, '$1')
    .trim();
}

/**
 * The object a `CREATE … IF NOT EXISTS` statement makes, with the text `sqlite_master` will hold.
 * Baseline statements must have that form: it is what lets them run again over a file that has
 * some of their objects already.
 */
export function createdObject(statement: string): SchemaObject {
  const m = CREATE_IF_NOT_EXISTS.exec(statement);
  if (!m) throw new Error(`not a CREATE … IF NOT EXISTS statement: ${statement.trim().slice(0, 80)}`);
  return {
    type: (m[1] as string).toLowerCase(),
    name: m[2] as string,
    // The first IF NOT EXISTS is the one the pattern matched: nothing before it can hold another.
    sql: normalizeSql(statement.replace(/IF\s+NOT\s+EXISTS\s+/i, '')),
  };
}

/**
 * How `found` differs from `expected`, one sentence per object; empty when they are the same.
 * With `partial`, objects of `expected` that `found` lacks are not differences (they can be made).
 */
export function schemaDifferences(
  expected: readonly SchemaObject[],
  found: readonly SchemaObject[],
  options: { partial?: boolean } = {},
): string[] {
  const key = (o: SchemaObject) => `${o.type} ${o.name}`;
  const wanted = new Map(expected.map((o) => [key(o), normalizeSql(o.sql)]));
  const present = new Map(found.map((o) => [key(o), normalizeSql(o.sql)]));
  const differences: string[] = [];
  for (const [k, sql] of present) {
    const want = wanted.get(k);
    if (want === undefined) differences.push(`${k} is not part of the schema`);
    else if (want !== sql) differences.push(`${k} is defined differently: ${sql}`);
  }
  if (options.partial !== true) {
    for (const k of wanted.keys()) if (!present.has(k)) differences.push(`${k} is missing`);
  }
  return differences;
}
