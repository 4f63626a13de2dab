import { chmodSync, copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { normalizeSql, SCHEMA_OBJECTS_QUERY, type Migration, type SchemaObject } from '@phr/common';
import { Agent } from '../agent';
import type { AgentConnectors } from '../connectors';
import { openKeystore, readKeystore } from '../keys/keystore';
import type { AgentLedger } from '../ledger/agent-ledger';
import { VAULT_MIGRATIONS } from './migrations';
import { SqliteVault, VaultError } from './sqlite-vault';
import type { VaultKeys } from './vault-types';

/** A patient's agent home as the release before numbered migrations left it (see the README there). */
const FIXTURES = resolve(__dirname, '..', '..', '..', 'fixtures', 'previous-release');
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as {
  passphrase: string;
  pseudonym: string;
  deliveries: { stored: string };
  rows: { agent: Record<string, number> };
};

/** Nothing here may reach the network: opening the agent and reading its records are local. */
const offline: AgentConnectors = {
  enroller: () => {
    throw new Error('offline');
  },
  ledger: () => ({ close: () => undefined }) as unknown as AgentLedger,
  gateway: () => {
    throw new Error('offline');
  },
};

type Rows = Record<string, string[]>;

let home: string;
let file: string;
let keys: VaultKeys;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'phr-previous-agent-'));
  for (const name of readdirSync(join(FIXTURES, 'agent'))) {
    copyFileSync(join(FIXTURES, 'agent', name), join(home, name));
    chmodSync(join(home, name), 0o600);
  }
  file = join(home, 'vault.db');
  keys = openKeystore(readKeystore(join(home, 'keystore.json')), manifest.passphrase).vaultKeys;
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

/** Every row of every table (the columns `columns` names, all when absent) as sorted JSON. */
function allRows(db: DatabaseSync, columns?: Record<string, string[]>): Rows {
  const rows: Rows = {};
  for (const { name } of schemaOf(db).filter((o) => o.type === 'table')) {
    rows[name] = db
      .prepare(`SELECT ${columns?.[name]?.join(', ') ?? '*'} FROM ${name}`)
      .all()
      .map((r) => JSON.stringify(r, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)))
      .sort();
  }
  return rows;
}

function schemaOf(db: DatabaseSync): SchemaObject[] {
  return (db.prepare(SCHEMA_OBJECTS_QUERY).all() as unknown as SchemaObject[]).map((o) => ({
    ...o,
    sql: normalizeSql(o.sql),
  }));
}

const userVersion = (db: DatabaseSync) =>
  (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;

/** Reads `path` through a copy of its own: SQLite leaves a -wal and -shm beside any file it opens. */
function inspect<T>(path: string, read: (db: DatabaseSync) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'phr-previous-agent-read-'));
  copyFileSync(path, join(dir, 'vault.db'));
  const db = new DatabaseSync(join(dir, 'vault.db'), { readOnly: true });
  try {
    return read(db);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const columnsOf = (db: DatabaseSync) =>
  Object.fromEntries(
    Object.keys(allRows(db)).map((t) => [
      t,
      (db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name),
    ]),
  );

describe("the previous release's agent vault", () => {
  const before = inspect(join(FIXTURES, 'agent', 'vault.db'), (db) => ({
    version: userVersion(db),
    rows: allRows(db),
    columns: columnsOf(db),
  }));
  /** Its rows after migrating: the same, and the tables later migrations made, empty. */
  const kept = { ...before.rows, research_decisions: [] };

  it('was made by the previous release: schema version 1, real rows in every table', () => {
    expect(before.version).toBe(1);
    expect(Object.fromEntries(Object.entries(before.rows).map(([t, r]) => [t, r.length]))).toEqual(manifest.rows.agent);
    for (const n of Object.values(manifest.rows.agent)) expect(n).toBeGreaterThan(0);
  });

  it('opens at the current version, with the schema a new vault gets and every row kept', async () => {
    const vault = await SqliteVault.open(file, keys);
    await vault.close();
    const fresh = join(home, 'fresh.db');
    await (await SqliteVault.open(fresh, keys)).close();
    const after = inspect(file, (db) => ({ version: userVersion(db), rows: allRows(db, before.columns) }));
    expect(after).toEqual({ version: VAULT_MIGRATIONS.length, rows: kept });
    expect(inspect(file, schemaOf)).toEqual(inspect(fresh, schemaOf));
  });

  it('serves the agent afterwards: its records decrypt and verify their columns, its notifications read', async () => {
    const agent = await Agent.open(home, manifest.passphrase, { connectors: offline });
    try {
      expect(await agent.status()).toMatchObject({
        pseudonym: manifest.pseudonym,
        deliveries: 1,
        elements: manifest.rows.agent.elements,
      });
      expect((await agent.deliveries()).map((d) => d.deliveryId)).toEqual([manifest.deliveries.stored]);
      const records = await agent.records({});
      expect(records).toHaveLength(manifest.rows.agent.elements as number);
      const coded = records.filter((r) => r.element.kind === 'coded');
      expect(coded.length).toBeGreaterThan(0);
      // A code search goes through the blind index the previous release wrote.
      const { resourceType, system, code } = coded[0]?.element as {
        resourceType: string;
        system: string;
        code: string;
      };
      const found = await agent.records({ resourceType, system, code });
      expect(found.map((r) => r.element.id)).toContain(coded[0]?.element.id);
      expect(await agent.notifications({})).toHaveLength(manifest.rows.agent.notifications as number);
    } finally {
      await agent.close();
    }
    const vault = await SqliteVault.open(file, keys);
    expect((await vault.readAll()).every((r) => r.ok)).toBe(true);
    await vault.close();
  });

  it('takes a later migration keeping every row, and a failing one leaves it at the version before', async () => {
    const current = VAULT_MIGRATIONS.length;
    const archive: Migration = {
      version: current + 1,
      description: 'test: notifications can be archived',
      statements: [
        'ALTER TABLE notifications ADD COLUMN archived INTEGER NOT NULL DEFAULT 0',
        'CREATE INDEX notifications_archived ON notifications (archived, id)',
      ],
    };
    const breaks: Migration = {
      version: current + 2,
      description: 'test: breaks halfway',
      statements: ['DELETE FROM elements', 'INSERT INTO no_such_table VALUES (1)'],
    };
    await expect(
      SqliteVault.open(file, keys, { migrations: [...VAULT_MIGRATIONS, archive, breaks] }),
    ).rejects.toMatchObject({
      name: 'VaultError',
      code: 'MIGRATION_FAILED',
      message: expect.stringContaining(`stays at schema version ${current + 1}`),
    });
    const vault = await SqliteVault.open(file, keys, { migrations: [...VAULT_MIGRATIONS, archive] });
    const reads = await vault.readAll();
    expect(reads).toHaveLength(manifest.rows.agent.elements as number);
    expect(reads.every((r) => r.ok)).toBe(true);
    await vault.close();
    expect(inspect(file, (db) => ({ version: userVersion(db), rows: allRows(db, before.columns) }))).toEqual({
      version: current + 1,
      rows: kept,
    });

    // This release does not know version current + 1: it refuses the vault and leaves it as it is.
    const image = readFileSync(file);
    const refused = SqliteVault.open(file, keys);
    await expect(refused).rejects.toBeInstanceOf(VaultError);
    await expect(refused).rejects.toMatchObject({
      code: 'SCHEMA_TOO_NEW',
      message: expect.stringContaining(
        `has schema version ${current + 1}, but this release knows versions up to ${current}`,
      ),
    });
    expect(readFileSync(file).equals(image)).toBe(true);
  });
});
