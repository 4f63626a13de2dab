import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  DatabaseSchemaError,
  normalizeSql,
  SCHEMA_OBJECTS_QUERY,
  type Migration,
  type SchemaObject,
} from '@phr/common';
import { IdentityStore } from '../identity/identity-store';
import { KeyedHash } from '../identity/keyed-hash';
import { MailboxStore } from '../mailbox/mailbox-store';
import { WakeupChannelStore } from '../notify/wakeup-channels';
import { PullStore } from '../pull/pull-store';
import { openDatabase } from './database';
import { DeliveryStore } from './delivery-store';
import { GATEWAY_MIGRATIONS } from './migrations';
import { StandardizedDb } from './standardized-db';

/** gateway.db as the release before schema versions left it (see the README there). */
const FIXTURES = resolve(__dirname, '..', '..', '..', 'fixtures', 'previous-release');
/**
 * Its gateway.key is not kept there: it is derived from a public seed. Loaded at run time, as the
 * folder is outside this package's sources (rootDir src), from the one place make-fixtures.ts uses.
 */
const { writePreviousReleaseGatewayKey } = jest.requireActual<{
  writePreviousReleaseGatewayKey: (dataDir: string) => string;
}>(join(FIXTURES, 'fixture-key'));
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as {
  commit: string;
  pseudonym: string;
  mrn: { system: string; value: string };
  pullLocation: string;
  deliveries: { stored: string; waiting: string; queued: string };
  rows: { gateway: Record<string, number> };
};

type Rows = Record<string, string[]>;

const userVersion = (db: DatabaseSync) =>
  (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'phr-previous-gateway-'));
  file = join(dir, 'gateway.db');
  copyFileSync(join(FIXTURES, 'gateway', 'gateway.db'), file);
  writePreviousReleaseGatewayKey(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Every row of every table, each as JSON of the columns `columns` names (all when absent), sorted. */
function allRows(db: DatabaseSync, columns?: Record<string, string[]>): Rows {
  const tables = db.prepare(`SELECT name FROM (${SCHEMA_OBJECTS_QUERY}) WHERE type = 'table'`).all() as {
    name: string;
  }[];
  const rows: Rows = {};
  for (const { name } of tables) {
    const list = columns?.[name]?.join(', ') ?? '*';
    rows[name] = db
      .prepare(`SELECT ${list} FROM ${name}`)
      .all()
      .map((r) => JSON.stringify(r, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)))
      .sort();
  }
  return rows;
}

function columnsOf(db: DatabaseSync): Record<string, string[]> {
  const columns: Record<string, string[]> = {};
  for (const table of Object.keys(allRows(db))) {
    columns[table] = (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
  }
  return columns;
}

/**
 * The fixture's tables and rows as the previous release left them. Read from a copy of its own:
 * SQLite leaves a -wal and -shm beside any file it opens, even read-only.
 */
function previous(): { rows: Rows; columns: Record<string, string[]>; version: number } {
  const copy = mkdtempSync(join(tmpdir(), 'phr-previous-gateway-'));
  copyFileSync(join(FIXTURES, 'gateway', 'gateway.db'), join(copy, 'gateway.db'));
  const db = new DatabaseSync(join(copy, 'gateway.db'), { readOnly: true });
  try {
    return { rows: allRows(db), columns: columnsOf(db), version: userVersion(db) };
  } finally {
    db.close();
    rmSync(copy, { recursive: true, force: true });
  }
}

const schemaOf = (db: DatabaseSync) =>
  (db.prepare(SCHEMA_OBJECTS_QUERY).all() as unknown as SchemaObject[]).map((o) => ({
    ...o,
    sql: normalizeSql(o.sql),
  }));

describe("the previous release's gateway database", () => {
  const before = previous();

  /** Every row of the previous release's tables is as it was; the tables later migrations made are empty. */
  function expectRowsKept(db: DatabaseSync): void {
    const after = allRows(db, before.columns);
    expect(Object.fromEntries(Object.keys(before.rows).map((t) => [t, after[t]]))).toEqual(before.rows);
    const added = Object.entries(after).filter(([table]) => !(table in before.rows));
    expect(added.filter(([, rows]) => rows.length > 0)).toEqual([]);
  }

  it('was made by the previous release: no schema version, real rows in every table', () => {
    expect(before.version).toBe(0);
    expect(Object.fromEntries(Object.entries(before.rows).map(([t, r]) => [t, r.length]))).toEqual(
      manifest.rows.gateway,
    );
    for (const n of Object.values(manifest.rows.gateway)) expect(n).toBeGreaterThan(0);
  });

  it('is adopted and upgraded to the current version, with the schema a new file gets and every row kept', () => {
    const logged: unknown[] = [];
    const log = { info: (fields: unknown, message: string) => logged.push({ fields, message }) };
    const db = openDatabase(file, { log: log as never });
    expect(userVersion(db)).toBe(GATEWAY_MIGRATIONS.length);
    expect(logged).toEqual([
      {
        message: 'database schema migrated',
        fields: { database: file, from: 0, to: GATEWAY_MIGRATIONS.length, adopted: true },
      },
    ]);
    // The previous release's text is kept as it wrote it; its meaning equals migration 1's.
    const fresh = openDatabase(':memory:');
    expect(schemaOf(db)).toEqual(schemaOf(fresh));
    fresh.close();
    expectRowsKept(db);
    db.close();

    // Opened again: nothing to do, nothing said.
    const again = openDatabase(file, { log: log as never });
    expect(logged).toHaveLength(1);
    again.close();
  });

  it('serves the gateway afterwards: deliveries, outbox, mail, links, pulls, wake-ups, standardized rows', () => {
    const db = openDatabase(file);
    const { stored, waiting, queued } = manifest.deliveries;
    const deliveries = new DeliveryStore(db);
    expect(deliveries.get(stored)).toMatchObject({ status: 'committed', pseudonym: manifest.pseudonym });
    expect(deliveries.get(waiting)?.status).toBe('committed');
    expect(deliveries.due(Date.now() + 3_600_000, 10).map((d) => d.deliveryId)).toEqual([queued]);
    expect(deliveries.get(queued)).toMatchObject({ status: 'queued', attempts: expect.any(Number) });

    const mailbox = new MailboxStore(db);
    const pending = mailbox.pending(manifest.pseudonym);
    expect(pending.map((m) => m.kind)).toEqual(['delivery', 'delivery']);
    expect(pending.every((m) => m.body !== null)).toBe(true);
    // New mail continues the patient's sequence.
    const next = mailbox.enqueueNow({
      pseudonym: manifest.pseudonym,
      messageId: 'after-upgrade-1',
      kind: 'delivery',
      body: '{}',
    });
    expect(next.sequence).toBe((pending.at(-1)?.sequence ?? 0) + 1);

    const identities = new IdentityStore(db, KeyedHash.loadOrCreate(join(dir, 'gateway.key')));
    expect(identities.resolve(manifest.mrn)).toBe(manifest.pseudonym);

    const requestId = manifest.pullLocation.split('/').at(-1) as string;
    expect(new PullStore(db).get(requestId)).toMatchObject({ status: 'answered', pseudonym: manifest.pseudonym });
    expect(new WakeupChannelStore(db).get(manifest.pseudonym)?.channel).toBe('local');

    const standardized = new StandardizedDb(db);
    expect(standardized.search({ pseudonym: manifest.pseudonym, limit: 1000 })).toHaveLength(
      manifest.rows.gateway.std_element as number,
    );
    expect(standardized.countByDelivery(stored)).toBeGreaterThan(0);
    db.close();
  });

  it('takes a later migration keeping every row, and a failing one leaves it at the version before', () => {
    const current = GATEWAY_MIGRATIONS.length;
    const addNote: Migration = {
      version: current + 1,
      description: 'test: deliveries get a note',
      statements: [
        'ALTER TABLE deliveries ADD COLUMN note TEXT',
        "UPDATE deliveries SET note = 'kept'",
        'CREATE INDEX deliveries_note ON deliveries (note)',
      ],
    };
    const breaks: Migration = {
      version: current + 2,
      description: 'test: breaks halfway',
      statements: ['DELETE FROM mailbox_message', 'INSERT INTO no_such_table VALUES (1)'],
    };
    expect(() => openDatabase(file, { migrations: [...GATEWAY_MIGRATIONS, addNote, breaks] })).toThrow(
      expect.objectContaining({ name: 'DatabaseSchemaError', code: 'MIGRATION_FAILED' }),
    );
    // Adopted and migrated up to the one that failed; its DELETE was rolled back with it.
    const db = openDatabase(file, { migrations: [...GATEWAY_MIGRATIONS, addNote] });
    expect(userVersion(db)).toBe(current + 1);
    expectRowsKept(db);
    expect(db.prepare('SELECT DISTINCT note FROM deliveries').all()).toEqual([{ note: 'kept' }]);
    expect(new DeliveryStore(db).get(manifest.deliveries.stored)?.status).toBe('committed');
    db.close();

    // This release does not know version current + 1: it refuses the file and leaves it as it is.
    const image = readFileSync(file);
    let error: unknown;
    try {
      openDatabase(file);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DatabaseSchemaError);
    expect(error).toMatchObject({
      code: 'SCHEMA_TOO_NEW',
      message: expect.stringContaining(
        `has schema version ${current + 1}, but this release knows versions up to ${current}`,
      ),
    });
    expect(readFileSync(file).equals(image)).toBe(true);
  });
});
