import { createdObject, schemaDifferences, SCHEMA_OBJECTS_QUERY, type SchemaObject } from './sqlite-schema';

/**
 * Numbered schema migrations for the SQLite files of the gateway (node:sqlite, synchronous) and of
 * the patient's agent (the sqlite3 package, asynchronous).
 *
 * The version is SQLite's `PRAGMA user_version`, not a table of our own: it lives in the file's
 * header, so it can be read before any table exists and it changes in the same transaction as the
 * migration that sets it; the agent's vault already recorded its schema there (version 1) before
 * migrations existed; and it keeps the schema check below free of bookkeeping tables.
 *
 * Migration 1 is the baseline: the schema as releases without versions created it at start-up
 * with `CREATE … IF NOT EXISTS`. A file at version 0 that already has tables is such a release's
 * file: it is adopted only if every object in it is exactly one of the baseline's (missing ones
 * are made, as that release would have made them), and refused otherwise, untouched.
 *
 * Each migration runs in its own `BEGIN IMMEDIATE` transaction together with the version change:
 * a failure rolls it back whole and leaves the file at the previous version. A file whose version
 * is higher than the code knows is refused before anything is written.
 *
 * The steps are written once, as a generator of SQL steps; `migrateSync` and `migrateAsync` run
 * them on either library.
 */

export interface Migration {
  /** 1, 2, 3… in order, without gaps. */
  readonly version: number;
  /** What it changes, for logs and errors. */
  readonly description: string;
  /**
   * Run in order inside the migration's transaction. Statements that do nothing inside a
   * transaction (`PRAGMA foreign_keys`, `VACUUM`) cannot be used; after the last one, foreign keys
   * are checked (`PRAGMA foreign_key_check`), so a table rebuilt by copy must keep them valid.
   * Migration 1's statements are all `CREATE … IF NOT EXISTS`.
   */
  readonly statements: readonly string[];
}

export interface MigrationOutcome {
  /** The version the file had when opened (0: new, or made before schema versions). */
  from: number;
  to: number;
  /** True when a file made before schema versions was checked and taken as version 1. */
  adopted: boolean;
}

export type DatabaseSchemaErrorCode = 'SCHEMA_TOO_NEW' | 'SCHEMA_MISMATCH' | 'MIGRATION_FAILED';

export class DatabaseSchemaError extends Error {
  override readonly name = 'DatabaseSchemaError';
  constructor(
    readonly code: DatabaseSchemaErrorCode,
    /** The file, as the caller named it. */
    readonly database: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The synchronous side of node:sqlite's `DatabaseSync` that migrations use. */
export interface SyncSqlite {
  exec(sql: string): void;
  prepare(sql: string): { all(): unknown[] };
}

/** The asynchronous calls migrations use (the agent's promise wrapper over sqlite3). */
export interface AsyncSqlite {
  exec(sql: string): Promise<void>;
  all<T>(sql: string): Promise<T[]>;
}

/** Brings `db` to the last of `migrations`; see the file's comment. */
export function migrateSync(db: SyncSqlite, database: string, migrations: readonly Migration[]): MigrationOutcome {
  const steps = migrationSteps(database, migrations);
  let next = steps.next();
  while (!next.done) {
    const step = next.value;
    let result: unknown;
    try {
      result = step.all ? db.prepare(step.sql).all() : db.exec(step.sql);
    } catch (err) {
      next = steps.throw(err);
      continue;
    }
    next = steps.next(result);
  }
  return next.value;
}

/** As `migrateSync`, on the asynchronous library. */
export async function migrateAsync(
  db: AsyncSqlite,
  database: string,
  migrations: readonly Migration[],
): Promise<MigrationOutcome> {
  const steps = migrationSteps(database, migrations);
  let next = steps.next();
  while (!next.done) {
    const step = next.value;
    let result: unknown;
    try {
      result = step.all ? await db.all(step.sql) : await db.exec(step.sql);
    } catch (err) {
      next = steps.throw(err);
      continue;
    }
    next = steps.next(result);
  }
  return next.value;
}

/** The last version `migrations` reach, after checking they are numbered 1…n. */
export function latestVersion(migrations: readonly Migration[]): number {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${i + 1} is numbered ${m.version}`);
  });
  return migrations.length;
}

// ---- the steps ----

interface SqlStep {
  sql: string;
  /** True: a query whose rows are the step's result. */
  all: boolean;
}

type Steps<T> = Generator<SqlStep, T, unknown>;

function* exec(sql: string): Steps<void> {
  yield { sql, all: false };
}

function* all<T>(sql: string): Steps<T[]> {
  return (yield { sql, all: true }) as T[];
}

function* userVersion(): Steps<number> {
  const [row] = yield* all<{ user_version: number }>('PRAGMA user_version');
  return row?.user_version ?? 0;
}

function* migrationSteps(database: string, migrations: readonly Migration[]): Steps<MigrationOutcome> {
  const latest = latestVersion(migrations);
  const from = yield* userVersion();
  let version = from;
  let adopted = false;
  for (;;) {
    if (version > latest) {
      throw new DatabaseSchemaError(
        'SCHEMA_TOO_NEW',
        database,
        `${database} has schema version ${version}, but this release knows versions up to ${latest}: a newer ` +
          'release wrote it. Run that release (or a later one) on it; nothing was changed.',
      );
    }
    if (version === latest) return { from, to: version, adopted };
    const migration = migrations[version] as Migration;
    yield* exec('BEGIN IMMEDIATE');
    try {
      // Another process may have migrated the file while this one waited for the lock.
      const current = yield* userVersion();
      if (current !== version) {
        yield* exec('ROLLBACK');
        version = current;
        continue;
      }
      if (migration.version === 1) adopted = yield* baseline(database, migration);
      else for (const statement of migration.statements) yield* exec(statement);
      const broken = yield* all<unknown>('PRAGMA foreign_key_check');
      if (broken.length > 0) throw new Error(`${broken.length} rows break a foreign key`);
      yield* exec(`PRAGMA user_version = ${migration.version}`);
      yield* exec('COMMIT');
      version = migration.version;
    } catch (err) {
      try {
        yield* exec('ROLLBACK');
      } catch {
        // SQLite may have rolled back on its own already (a full disk, say).
      }
      if (err instanceof DatabaseSchemaError) throw err;
      throw new DatabaseSchemaError(
        'MIGRATION_FAILED',
        database,
        `${database}: migration ${migration.version} (${migration.description}) failed and was rolled back; ` +
          `the file stays at schema version ${version}: ${messageOf(err)}`,
        { cause: err },
      );
    }
  }
}

/** Not `instanceof Error`: errors from node:sqlite may come from another realm (jest's, say). */
function messageOf(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(err);
}

/** Migration 1 on a new file, or the adoption of a file made before schema versions. Returns adopted. */
function* baseline(database: string, migration: Migration): Steps<boolean> {
  const expected = migration.statements.map(createdObject);
  const before = yield* all<SchemaObject>(SCHEMA_OBJECTS_QUERY);
  const refuse = (differences: string[]) =>
    new DatabaseSchemaError(
      'SCHEMA_MISMATCH',
      database,
      `${database} has no schema version and is not the schema this release can adopt as version 1 ` +
        `(${migration.description}): ${differences.join('; ')}. Nothing was changed.`,
    );
  // Checked before running anything: a table of the same name but other columns would make the
  // baseline's CREATE INDEX fail with a less useful message, or succeed on the wrong table.
  const found = schemaDifferences(expected, before, { partial: true });
  if (found.length > 0) throw refuse(found);
  for (const statement of migration.statements) yield* exec(statement);
  const after = schemaDifferences(expected, yield* all<SchemaObject>(SCHEMA_OBJECTS_QUERY));
  if (after.length > 0) throw refuse(after);
  return before.length > 0;
}
