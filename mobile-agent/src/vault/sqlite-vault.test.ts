import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeliveryTree, elementLeafHash, newSalt, verifyElementProof, type DataElement } from '@phr/common';
import { AsyncDatabase } from './sqlite-async';
import { SqliteVault, UNREADABLE, VaultError } from './sqlite-vault';
import { VAULT_MIGRATIONS } from './migrations';
import type { VaultDelivery, VaultElement, VaultKeys, VaultRead } from './vault-types';

// ---- fixtures: deliveries built the way the gateway builds them (segmenter + DeliveryTree) ----

const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const RACE = 'urn:oid:2.16.840.1.113883.6.238';

interface CodingSpec {
  system: string;
  code: string;
  display?: string;
  value?: number | string;
  unit?: string;
}
interface ResourceSpec {
  resourceType: string;
  time?: string;
  codings: CodingSpec[];
}
interface Built {
  delivery: VaultDelivery;
  elements: VaultElement[];
}

/** Element 0 is the whole resource, then one coded element per coding: `<segmentId>.<n>`. */
function segment(segmentId: string, spec: ResourceSpec): DataElement[] {
  const resource: Record<string, unknown> = {
    resourceType: spec.resourceType,
    id: randomUUID(),
    code: {
      coding: spec.codings.map(({ system, code, display }) =>
        display === undefined ? { system, code } : { system, code, display },
      ),
    },
  };
  if (spec.time !== undefined) resource.effectiveDateTime = spec.time;
  const head: DataElement = {
    id: `${segmentId}.0`,
    kind: 'resource',
    resourceType: spec.resourceType,
    path: spec.resourceType,
  };
  if (spec.time !== undefined) head.time = spec.time;
  head.resource = resource;
  const coded = spec.codings.map((c, i): DataElement => {
    const e: DataElement = {
      id: `${segmentId}.${i + 1}`,
      kind: 'coded',
      resourceType: spec.resourceType,
      path: `${spec.resourceType}.code.coding[${i}]`,
      system: c.system,
      code: c.code,
    };
    if (c.display !== undefined) e.display = c.display;
    if (c.value !== undefined) e.value = c.value;
    if (c.unit !== undefined) e.unit = c.unit;
    if (spec.time !== undefined) e.time = spec.time;
    return e;
  });
  return [head, ...coded];
}

function buildDelivery(sender: string, storedAt: string, specs: ResourceSpec[]): Built {
  const deliveryId = randomUUID();
  const segments = specs.map((spec) => {
    const segmentId = randomUUID();
    return { segmentId, salted: segment(segmentId, spec).map((element) => ({ element, salt: newSalt() })) };
  });
  const tree = new DeliveryTree(segments.map((s) => s.salted.map((e) => elementLeafHash(e.element, e.salt))));
  const elements = segments.flatMap((s, si) =>
    s.salted.map(({ element, salt }, ei) => ({
      deliveryId,
      segmentId: s.segmentId,
      element,
      salt,
      proof: tree.proof(si, ei),
    })),
  );
  return {
    delivery: {
      deliveryId,
      sender,
      merkleRoot: tree.root,
      categories: ['laboratory'],
      segmentCount: segments.length,
      elementCount: elements.length,
      createdAt: '2024-06-02T00:00:00.000Z',
      storedAt,
    },
    elements,
  };
}

function keys(): VaultKeys {
  return { dataKey: randomBytes(32), indexKey: randomBytes(32) };
}

/** Delivery A: three resources with times, one without; delivery B: a later HbA1c (zoned time) and a medication. */
function fixtures(): { a: Built; b: Built } {
  const a = buildDelivery('Hospital1MSP', '2024-06-02T10:00:00.000Z', [
    {
      resourceType: 'Observation',
      time: '2024-03-01T08:00:00.000Z',
      codings: [{ system: LOINC, code: '4548-4', display: 'HbA1c', value: 6.1, unit: '%' }],
    },
    {
      resourceType: 'Observation',
      time: '2024-02-01T08:00:00.000Z',
      codings: [{ system: LOINC, code: '2345-7', display: 'Glucose', value: 5.4, unit: 'mmol/L' }],
    },
    { resourceType: 'Condition', time: '2023-05-01', codings: [{ system: SNOMED, code: '44054006' }] },
    { resourceType: 'Patient', codings: [{ system: RACE, code: '2106-3' }] },
  ]);
  const b = buildDelivery('Hospital2MSP', '2024-06-03T10:00:00.000Z', [
    {
      resourceType: 'Observation',
      // Not normalized by a careless sender: the vault still orders it as 2024-06-01T08:00Z.
      time: '2024-06-01T10:00:00+02:00',
      codings: [{ system: LOINC, code: '4548-4', display: 'HbA1c', value: 6.4, unit: '%' }],
    },
    {
      resourceType: 'MedicationRequest',
      time: '2024-01-15T00:00:00.000Z',
      codings: [
        { system: RXNORM, code: '860975' },
        { system: SNOMED, code: '44054006' },
      ],
    },
  ]);
  return { a, b };
}

const idsOf = (elements: readonly { element: DataElement }[]) => elements.map((e) => e.element.id);
const find = (built: Built, si: number, ei: number) =>
  built.elements.find((e) => e.proof.segmentIndex === si && e.proof.elementIndex === ei) as VaultElement;

// ---- harness ----

let dir: string;
let file: string;
let vaultKeys: VaultKeys;
let vault: SqliteVault | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'phr-vault-'));
  file = join(dir, 'vault.sqlite');
  vaultKeys = keys();
  vault = undefined;
});

afterEach(async () => {
  await vault?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function openVault(k: VaultKeys = vaultKeys): Promise<SqliteVault> {
  await vault?.close();
  vault = await SqliteVault.open(file, k);
  return vault;
}

/** Direct access to the file, as someone with the device's disk would have it. */
async function raw<T>(work: (db: AsyncDatabase) => Promise<T>): Promise<T> {
  const db = await AsyncDatabase.open(file);
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

async function storeFixtures(v: SqliteVault): Promise<{ a: Built; b: Built }> {
  const f = fixtures();
  expect(await v.storeDelivery(f.a.delivery, f.a.elements)).toBe(true);
  expect(await v.storeDelivery(f.b.delivery, f.b.elements)).toBe(true);
  return f;
}

async function rowCount(table: string): Promise<number> {
  return raw(async (db) => ((await db.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)) as { n: number }).n);
}

const unreadableIds = (reads: VaultRead[]) =>
  reads.filter((r): r is Extract<VaultRead, { ok: false }> => !r.ok).map((r) => r.elementId);

// ---- tests ----

describe('SqliteVault: opening', () => {
  it('creates the schema once, in WAL mode, in a file only its owner can read', async () => {
    await openVault();
    await vault?.close();
    await openVault(); // idempotent
    await vault?.close();
    vault = undefined;
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await raw(async (db) => {
      expect(await db.get('PRAGMA user_version')).toEqual({ user_version: VAULT_MIGRATIONS.length });
      expect(await db.get('PRAGMA journal_mode')).toEqual({ journal_mode: 'wal' });
      const tables = await db.all<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
      );
      expect(tables.map((t) => t.name)).toEqual(
        expect.arrayContaining(['deliveries', 'elements', 'meta', 'notifications']),
      );
    });
  });

  it('refuses keys that are not 32-byte buffers', async () => {
    await expect(SqliteVault.open(file, { dataKey: randomBytes(16), indexKey: randomBytes(32) })).rejects.toMatchObject(
      { name: 'VaultError', code: 'INVALID_KEYS' },
    );
    await expect(
      SqliteVault.open(file, { dataKey: randomBytes(32), indexKey: 'x' as unknown as Buffer }),
    ).rejects.toMatchObject({ code: 'INVALID_KEYS' });
  });

  it('refuses a vault written by a newer schema', async () => {
    await openVault();
    await vault?.close();
    vault = undefined;
    await raw((db) => db.exec(`PRAGMA user_version = ${VAULT_MIGRATIONS.length + 1}`));
    await expect(SqliteVault.open(file, vaultKeys)).rejects.toMatchObject({ code: 'SCHEMA_TOO_NEW' });
  });

  it('refuses a file that is not a database', async () => {
    writeFileSync(file, Buffer.alloc(4096, 0x42));
    await expect(SqliteVault.open(file, vaultKeys)).rejects.toThrow(/not a database/);
  });

  it('fails every call after close, and closes twice without error', async () => {
    const v = await openVault();
    await v.close();
    await v.close();
    await expect(v.deliveries()).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(v.search({})).rejects.toBeInstanceOf(VaultError);
  });
});

describe('SqliteVault: storing deliveries', () => {
  it('stores a delivery once: a second store returns false and changes nothing', async () => {
    const v = await openVault();
    const { a } = fixtures();
    expect(await v.hasDelivery(a.delivery.deliveryId)).toBe(false);
    expect(await v.storeDelivery(a.delivery, a.elements)).toBe(true);
    expect(await v.hasDelivery(a.delivery.deliveryId)).toBe(true);

    const altered = { ...a.delivery, sender: 'EvilMSP', storedAt: '2030-01-01T00:00:00.000Z' };
    const other = fixtures().a.elements.map((e) => ({ ...e, deliveryId: a.delivery.deliveryId }));
    expect(await v.storeDelivery(altered, other)).toBe(false);
    expect(await v.delivery(a.delivery.deliveryId)).toEqual(a.delivery);
    expect(await rowCount('elements')).toBe(a.elements.length);
    expect(idsOf(await v.search({}))).toEqual(expect.arrayContaining(idsOf(a.elements)));
  });

  it('lists deliveries newest first and returns undefined for an unknown one', async () => {
    const v = await openVault();
    const { a, b } = await storeFixtures(v);
    expect(await v.deliveries()).toEqual([b.delivery, a.delivery]);
    expect(await v.delivery(a.delivery.deliveryId)).toEqual(a.delivery);
    expect(await v.delivery(randomUUID())).toBeUndefined();
  });

  it('stores nothing when an element fails mid-insert (duplicate element id), and stays usable', async () => {
    const v = await openVault();
    const { a, b } = fixtures();
    // The fourth row repeats the first row's id: three inserts succeed before the constraint fails.
    const dup = { ...find(a, 1, 1), element: { ...find(a, 1, 1).element, id: a.elements[0]?.element.id as string } };
    const broken = [...a.elements.slice(0, 3), dup, ...a.elements.slice(4)];
    await expect(v.storeDelivery(a.delivery, broken)).rejects.toThrow(/UNIQUE constraint failed/);
    expect(await v.hasDelivery(a.delivery.deliveryId)).toBe(false);
    expect(await rowCount('elements')).toBe(0);
    expect(await rowCount('deliveries')).toBe(0);

    // No transaction left open: the next delivery stores, and the broken one can be stored correctly later.
    expect(await v.storeDelivery(b.delivery, b.elements)).toBe(true);
    expect(await v.storeDelivery(a.delivery, a.elements)).toBe(true);
    expect(await rowCount('elements')).toBe(a.elements.length + b.elements.length);
  });

  it('refuses a delivery reusing an element id of another delivery, without touching either', async () => {
    const v = await openVault();
    const { a, b } = fixtures();
    await v.storeDelivery(a.delivery, a.elements);
    const stolen = b.elements.map((e, i) =>
      i === b.elements.length - 1 ? { ...e, element: { ...e.element, id: a.elements[2]?.element.id as string } } : e,
    );
    await expect(v.storeDelivery(b.delivery, stolen)).rejects.toThrow(/UNIQUE/);
    expect(await v.hasDelivery(b.delivery.deliveryId)).toBe(false);
    expect(await rowCount('elements')).toBe(a.elements.length);
    expect((await v.readAll()).every((r) => r.ok)).toBe(true);
  });

  it('stores several deliveries in one transaction: all, skipping those already stored, or none', async () => {
    const v = await openVault();
    const { a, b } = fixtures();
    const c = fixtures().a;
    await v.storeDelivery(a.delivery, a.elements);
    // c's last element reuses an element id of a: the whole batch (b too) is rolled back
    const clash = c.elements.map((e, i) =>
      i === c.elements.length - 1 ? { ...e, element: { ...e.element, id: a.elements[1]?.element.id as string } } : e,
    );
    await expect(
      v.storeDeliveries([
        { delivery: b.delivery, elements: b.elements },
        { delivery: c.delivery, elements: clash },
      ]),
    ).rejects.toThrow(/UNIQUE/);
    expect(await v.hasDelivery(b.delivery.deliveryId)).toBe(false);
    expect(await rowCount('deliveries')).toBe(1);
    expect(await rowCount('elements')).toBe(a.elements.length);

    const stored = await v.storeDeliveries([
      { delivery: a.delivery, elements: a.elements },
      { delivery: b.delivery, elements: b.elements },
      { delivery: c.delivery, elements: c.elements },
    ]);
    expect(stored).toEqual([b.delivery.deliveryId, c.delivery.deliveryId]);
    expect(await rowCount('elements')).toBe(a.elements.length + b.elements.length + c.elements.length);
    expect((await v.readAll()).every((r) => r.ok)).toBe(true);
  });

  it('refuses malformed input before writing anything', async () => {
    const v = await openVault();
    const { a, b } = fixtures();
    const foreign = [...a.elements, b.elements[0] as VaultElement];
    await expect(v.storeDelivery(a.delivery, foreign)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const badProof = a.elements.map((e, i) => (i === 1 ? { ...e, proof: { ...e.proof, elementIndex: -1 } } : e));
    await expect(v.storeDelivery(a.delivery, badProof)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const badKind = a.elements.map((e, i) =>
      i === 1 ? { ...e, element: { ...e.element, kind: 'other' as DataElement['kind'] } } : e,
    );
    await expect(v.storeDelivery(a.delivery, badKind)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(v.storeDelivery({ ...a.delivery, segmentCount: -1 }, a.elements)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    expect(await rowCount('deliveries')).toBe(0);
    expect(await rowCount('elements')).toBe(0);
  });

  it('runs concurrent calls one at a time: transactions neither interleave nor swallow other writes', async () => {
    const v = await openVault();
    const many = [fixtures().a, fixtures().a, fixtures().b, fixtures().b];
    const { a } = fixtures();
    const broken = a.elements.map((e, i) =>
      i === 2 ? { ...e, element: { ...e.element, id: a.elements[1]?.element.id as string } } : e,
    );
    const results = await Promise.allSettled([
      ...many.map((d) => v.storeDelivery(d.delivery, d.elements)),
      v.storeDelivery(a.delivery, broken),
      v.setMeta('cursor', 'x'),
      v.addNotification('delivery-stored', 'stored', 'r1'),
      ...many.map((d) => v.storeDelivery(d.delivery, d.elements)),
    ]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'rejected'))).toEqual([
      true,
      true,
      true,
      true,
      'rejected',
      undefined,
      expect.objectContaining({ ref: 'r1' }),
      false,
      false,
      false,
      false,
    ]);
    expect(await v.getMeta('cursor')).toBe('x');
    expect(await rowCount('elements')).toBe(many.reduce((n, d) => n + d.elements.length, 0));
    expect(await v.hasDelivery(a.delivery.deliveryId)).toBe(false);
  });
});

describe('SqliteVault: search', () => {
  let a: Built;
  let b: Built;
  let v: SqliteVault;
  beforeEach(async () => {
    v = await openVault();
    ({ a, b } = await storeFixtures(v));
  });

  it('returns everything newest first, timeless last, then in delivery order; elements read back unchanged', async () => {
    const all = await v.search({});
    expect(idsOf(all)).toEqual([
      ...idsOf([find(b, 0, 0), find(b, 0, 1)]), // 2024-06-01T08:00Z (sent as +02:00)
      ...idsOf([find(a, 0, 0), find(a, 0, 1)]), // 2024-03-01
      ...idsOf([find(a, 1, 0), find(a, 1, 1)]), // 2024-02-01
      ...idsOf([find(b, 1, 0), find(b, 1, 1), find(b, 1, 2)]), // 2024-01-15
      ...idsOf([find(a, 2, 0), find(a, 2, 1)]), // 2023-05-01
      ...idsOf([find(a, 3, 0), find(a, 3, 1)]), // no time
    ]);
    const original = new Map([...a.elements, ...b.elements].map((e) => [e.element.id, e]));
    for (const stored of all) expect(stored).toEqual(original.get(stored.element.id));
  });

  it('returns elements whose proofs still lead to their delivery root', async () => {
    const roots = new Map([a, b].map((d) => [d.delivery.deliveryId, d.delivery.merkleRoot]));
    const all = await v.search({});
    expect(all).toHaveLength(a.elements.length + b.elements.length);
    for (const s of all) {
      expect(verifyElementProof(s.element, s.salt, s.proof, roots.get(s.deliveryId) as string)).toBe(true);
    }
    // The check can fail: the same element against the other delivery's root.
    const first = all[0] as VaultElement;
    expect(verifyElementProof(first.element, first.salt, first.proof, a.delivery.merkleRoot)).toBe(false);
  });

  it('filters by resource type', async () => {
    expect(idsOf(await v.search({ resourceType: 'Condition' }))).toEqual(idsOf([find(a, 2, 0), find(a, 2, 1)]));
    expect(await v.search({ resourceType: 'Encounter' })).toEqual([]);
  });

  it('filters by system and code through the blind index, across deliveries', async () => {
    expect(idsOf(await v.search({ system: LOINC, code: '4548-4' }))).toEqual(idsOf([find(b, 0, 1), find(a, 0, 1)]));
    expect(idsOf(await v.search({ system: SNOMED, code: '44054006' }))).toEqual(idsOf([find(b, 1, 2), find(a, 2, 1)]));
    expect(await v.search({ system: SNOMED, code: '4548-4' })).toEqual([]);
  });

  it('filters by system alone and by code alone', async () => {
    expect(idsOf(await v.search({ system: LOINC }))).toEqual(idsOf([find(b, 0, 1), find(a, 0, 1), find(a, 1, 1)]));
    expect(idsOf(await v.search({ code: '44054006' }))).toEqual(idsOf([find(b, 1, 2), find(a, 2, 1)]));
    expect(idsOf(await v.search({ code: '2106-3' }))).toEqual(idsOf([find(a, 3, 1)]));
  });

  it('filters by clinical time: from inclusive, to exclusive, offsets normalized', async () => {
    expect(idsOf(await v.search({ from: '2024-02-01T08:00:00.000Z', to: '2024-03-01T08:00:00.000Z' }))).toEqual(
      idsOf([find(a, 1, 0), find(a, 1, 1)]),
    );
    // 09:30+02:00 is 07:30Z, before b's 08:00Z; 10:00+02:00 is exactly it, and `to` is exclusive.
    expect(idsOf(await v.search({ from: '2024-06-01T09:30:00+02:00', to: '2024-06-01T10:00:00+02:00' }))).toEqual([]);
    expect(idsOf(await v.search({ from: '2024-06-01T09:30:00+02:00', to: '2024-06-01T10:00:01+02:00' }))).toEqual(
      idsOf([find(b, 0, 0), find(b, 0, 1)]),
    );
    // Day precision: a partial date sorts as the start of its day.
    expect(idsOf(await v.search({ from: '2023-05-01', to: '2023-05-02' }))).toEqual(
      idsOf([find(a, 2, 0), find(a, 2, 1)]),
    );
    // Elements without a time never match a time range.
    expect(idsOf(await v.search({ from: '0000' }))).not.toContain(find(a, 3, 0).element.id);
  });

  it('filters by delivery and by kind', async () => {
    expect(idsOf(await v.search({ deliveryId: b.delivery.deliveryId }))).toEqual(
      idsOf([find(b, 0, 0), find(b, 0, 1), find(b, 1, 0), find(b, 1, 1), find(b, 1, 2)]),
    );
    const resources = await v.search({ kind: 'resource' });
    expect(resources).toHaveLength(6);
    expect(resources.every((e) => e.element.kind === 'resource' && e.element.resource !== undefined)).toBe(true);
  });

  it('combines criteria, all of which must hold', async () => {
    expect(
      idsOf(
        await v.search({
          resourceType: 'Observation',
          system: LOINC,
          code: '4548-4',
          from: '2024-01-01',
          to: '2024-04-01',
        }),
      ),
    ).toEqual(idsOf([find(a, 0, 1)]));
    expect(idsOf(await v.search({ deliveryId: a.delivery.deliveryId, kind: 'resource', from: '2024' }))).toEqual(
      idsOf([find(a, 0, 0), find(a, 1, 0)]),
    );
    expect(await v.search({ resourceType: 'Condition', system: LOINC })).toEqual([]);
  });

  it('limits the number of results', async () => {
    expect(idsOf(await v.search({ limit: 3 }))).toEqual(idsOf([find(b, 0, 0), find(b, 0, 1), find(a, 0, 0)]));
    expect(await v.search({ limit: 0 })).toEqual([]);
  });

  it('refuses a malformed query', async () => {
    await expect(v.search({ limit: -1 })).rejects.toMatchObject({ code: 'INVALID_QUERY' });
    await expect(v.search({ limit: 1.5 })).rejects.toMatchObject({ code: 'INVALID_QUERY' });
    await expect(v.search({ kind: 'other' as DataElement['kind'] })).rejects.toMatchObject({ code: 'INVALID_QUERY' });
    await expect(v.search({ code: 42 as unknown as string })).rejects.toMatchObject({ code: 'INVALID_QUERY' });
  });
});

describe('SqliteVault: at rest', () => {
  it('keeps no code, value or display in the clear on disk', async () => {
    const v = await openVault();
    await storeFixtures(v);
    await v.close();
    vault = undefined;
    const bytes = Buffer.concat(
      readdirSync(dir)
        .filter((f) => f.startsWith('vault.sqlite'))
        .map((f) => readFileSync(join(dir, f))),
    );
    for (const secret of ['4548-4', '44054006', 'HbA1c', 'mmol/L', LOINC, SNOMED]) {
      expect(bytes.includes(Buffer.from(secret))).toBe(false);
    }
    // What stays plain, by design: resource types (and clinical times) for range queries.
    expect(bytes.includes(Buffer.from('MedicationRequest'))).toBe(true);
  });

  it('indexes codes as HMAC-SHA256(indexKey, system|code) and systems as HMAC(indexKey, system)', async () => {
    const v = await openVault();
    const { a } = await storeFixtures(v);
    const hmac = (text: string) => createHmac('sha256', vaultKeys.indexKey).update(text).digest('hex');
    const row = await raw((db) =>
      db.get<{ code_index: string; system_index: string }>(
        'SELECT code_index, system_index FROM elements WHERE element_id = ?',
        [find(a, 0, 1).element.id],
      ),
    );
    expect(row).toEqual({ code_index: hmac(`${LOINC}|4548-4`), system_index: hmac(LOINC) });
  });

  it('persists deliveries, elements, notifications and meta across reopening', async () => {
    let v = await openVault();
    const { a, b } = await storeFixtures(v);
    await v.addNotification('delivery-stored', 'A delivery from Hospital1MSP was stored.', a.delivery.deliveryId);
    await v.setMeta('access-seen', '2024-06-01');
    const before = await v.search({});
    v = await openVault();
    expect(await v.search({})).toEqual(before);
    expect(await v.deliveries()).toEqual([b.delivery, a.delivery]);
    expect((await v.notifications()).map((n) => n.ref)).toEqual([a.delivery.deliveryId]);
    expect(await v.getMeta('access-seen')).toBe('2024-06-01');
  });
});

describe('SqliteVault: unreadable rows', () => {
  let a: Built;
  let b: Built;
  beforeEach(async () => {
    const v = await openVault();
    ({ a, b } = await storeFixtures(v));
    await v.close();
    vault = undefined;
  });

  it('reads every row back in delivery order, all readable, of all deliveries or one', async () => {
    const v = await openVault();
    const all = await v.readAll();
    expect(all.every((r) => r.ok)).toBe(true);
    expect(all.map((r) => (r.ok ? r.stored.element.id : ''))).toEqual(idsOf([...a.elements, ...b.elements]));
    const one = await v.readAll(b.delivery.deliveryId);
    expect(one.map((r) => (r.ok ? r.stored : undefined))).toEqual(b.elements);
    expect(await v.readAll(randomUUID())).toEqual([]);
  });

  it('names exactly the element whose sealed value was altered, and search skips it', async () => {
    const target = find(a, 0, 1);
    await raw(async (db) => {
      const row = await db.get<{ sealed: Buffer }>('SELECT sealed FROM elements WHERE element_id = ?', [
        target.element.id,
      ]);
      const sealed = Buffer.from(row?.sealed as Buffer);
      sealed[20] = (sealed[20] as number) ^ 0x01;
      await db.run('UPDATE elements SET sealed = ? WHERE element_id = ?', [sealed, target.element.id]);
    });
    const v = await openVault();
    const reads = await v.readAll();
    expect(reads.filter((r) => !r.ok)).toEqual([
      { ok: false, deliveryId: a.delivery.deliveryId, elementId: target.element.id, error: UNREADABLE.decrypt },
    ]);
    expect(idsOf(await v.search({ system: LOINC, code: '4548-4' }))).toEqual(idsOf([find(b, 0, 1)]));
    expect(idsOf(await v.search({ limit: 3 }))).toEqual(idsOf([find(b, 0, 0), find(b, 0, 1), find(a, 0, 0)]));
    expect(idsOf(await v.search({ limit: 4 }))).toEqual(
      idsOf([find(b, 0, 0), find(b, 0, 1), find(a, 0, 0), find(a, 1, 0)]),
    );
  });

  it('names exactly the two elements whose sealed values were swapped', async () => {
    const x = find(a, 1, 1);
    const y = find(b, 1, 2);
    await raw(async (db) => {
      const get = async (id: string) =>
        (await db.get<{ sealed: Buffer }>('SELECT sealed FROM elements WHERE element_id = ?', [id]))?.sealed as Buffer;
      const [sx, sy] = [await get(x.element.id), await get(y.element.id)];
      await db.run('UPDATE elements SET sealed = ? WHERE element_id = ?', [sy, x.element.id]);
      await db.run('UPDATE elements SET sealed = ? WHERE element_id = ?', [sx, y.element.id]);
    });
    const v = await openVault();
    const reads = await v.readAll();
    expect(unreadableIds(reads).sort()).toEqual([x.element.id, y.element.id].sort());
    expect(reads.filter((r) => !r.ok).every((r) => !r.ok && r.error === UNREADABLE.decrypt)).toBe(true);
    expect(reads.filter((r) => r.ok)).toHaveLength(a.elements.length + b.elements.length - 2);
  });

  it('detects a sealed value moved within its segment (same delivery and segment, other element)', async () => {
    const x = find(a, 0, 0);
    const y = find(a, 0, 1);
    await raw((db) =>
      db.run('UPDATE elements SET sealed = (SELECT sealed FROM elements WHERE element_id = ?) WHERE element_id = ?', [
        x.element.id,
        y.element.id,
      ]),
    );
    const v = await openVault();
    // The associated data names the element, so the copy fails authentication, not merely a later check.
    expect((await v.readAll()).filter((r) => !r.ok)).toEqual([
      { ok: false, deliveryId: a.delivery.deliveryId, elementId: y.element.id, error: UNREADABLE.decrypt },
    ]);
  });

  it('detects altered plain columns: an element moved into another search, or a truncated value', async () => {
    const glucose = find(a, 1, 1);
    const hba1c = find(a, 0, 1);
    const condition = find(a, 2, 0);
    await raw(async (db) => {
      // Make the glucose element answer HbA1c searches; make the condition look years newer; cut another short.
      await db.run(
        'UPDATE elements SET code_index = (SELECT code_index FROM elements WHERE element_id = ?) WHERE element_id = ?',
        [hba1c.element.id, glucose.element.id],
      );
      await db.run("UPDATE elements SET clinical_time = '2030-01-01' WHERE element_id = ?", [condition.element.id]);
      await db.run("UPDATE elements SET sealed = x'0102' WHERE element_id = ?", [find(b, 1, 1).element.id]);
    });
    const v = await openVault();
    const bad = (await v.readAll()).filter((r) => !r.ok);
    expect(bad).toEqual([
      { ok: false, deliveryId: a.delivery.deliveryId, elementId: glucose.element.id, error: UNREADABLE.columns },
      { ok: false, deliveryId: a.delivery.deliveryId, elementId: condition.element.id, error: UNREADABLE.columns },
      { ok: false, deliveryId: b.delivery.deliveryId, elementId: find(b, 1, 1).element.id, error: UNREADABLE.format },
    ]);
    expect(idsOf(await v.search({ system: LOINC, code: '4548-4' }))).toEqual(idsOf([find(b, 0, 1), find(a, 0, 1)]));
    expect(idsOf(await v.search({ from: '2029-01-01' }))).toEqual([]);
  });

  it('fills a limited search past unreadable rows by reading further pages', async () => {
    const big = buildDelivery('Hospital1MSP', '2024-07-01T00:00:00.000Z', [
      {
        resourceType: 'Observation',
        time: '2030-01-01T00:00:00.000Z',
        codings: Array.from({ length: 150 }, (_, i) => ({ system: LOINC, code: `code-${i}` })),
      },
    ]);
    let v = await openVault();
    await v.storeDelivery(big.delivery, big.elements);
    const order = idsOf(await v.search({}));
    await v.close();
    vault = undefined;
    // The first 60 rows in search order (the newest) become unreadable.
    const spoiled = big.elements.slice(0, 60).map((e) => e.element.id);
    await raw((db) =>
      db.run(
        "UPDATE elements SET sealed = x'01' || randomblob(40) WHERE element_id IN (SELECT value FROM json_each(?))",
        [JSON.stringify(spoiled)],
      ),
    );
    v = await openVault();
    const page = await v.search({ limit: 100 });
    // 60 of the first 100 rows are skipped, so the last results come from the second page of rows.
    expect(idsOf(page)).toEqual(order.filter((id) => !spoiled.includes(id)).slice(0, 100));
    expect(order.indexOf(page[99]?.element.id as string)).toBe(159);
    expect(unreadableIds(await v.readAll(big.delivery.deliveryId))).toEqual(spoiled);
  });

  it('with the wrong vault key, lists deliveries but reads no element', async () => {
    const v = await openVault(keys());
    expect(await v.deliveries()).toHaveLength(2);
    const reads = await v.readAll();
    expect(reads).toHaveLength(a.elements.length + b.elements.length);
    expect(reads.every((r) => !r.ok && r.error === UNREADABLE.decrypt)).toBe(true);
    expect(await v.search({})).toEqual([]);
  });

  it('with the right data key but another index key, reads every row as altered', async () => {
    const v = await openVault({ dataKey: vaultKeys.dataKey, indexKey: randomBytes(32) });
    const reads = await v.readAll();
    // Rows without a code or system have no index to disagree with.
    const coded = new Set(idsOf([...a.elements, ...b.elements].filter((e) => e.element.system !== undefined)));
    expect(unreadableIds(reads).sort()).toEqual([...coded].sort());
  });
});

describe('SqliteVault: notifications and meta', () => {
  it('adds a notification once per kind and ref, lists newest first, marks read', async () => {
    const v = await openVault();
    const first = await v.addNotification('access', 'Hospital1MSP (clinician) read your Laboratory records.', 'ev-1');
    expect(first).toMatchObject({ kind: 'access', ref: 'ev-1', read: false });
    expect(typeof first?.id).toBe('number');
    expect(new Date(first?.createdAt as string).toISOString()).toBe(first?.createdAt);
    expect(await v.addNotification('access', 'again', 'ev-1')).toBeUndefined();
    const second = await v.addNotification('consent', 'You granted access.', 'ev-1');
    const third = await v.addNotification('delivery-stored', 'Stored.', 'd-1');
    expect((await v.notifications()).map((n) => n.id)).toEqual([third?.id, second?.id, first?.id]);
    expect(await v.notifications({ limit: 1 })).toEqual([third]);

    await v.markNotificationsRead([first?.id as number, 9999]);
    expect((await v.notifications({ unreadOnly: true })).map((n) => n.id)).toEqual([third?.id, second?.id]);
    await v.markNotificationsRead([]);
    expect(await v.notifications({ unreadOnly: true })).toHaveLength(2);
    await v.markNotificationsRead();
    expect(await v.notifications({ unreadOnly: true })).toEqual([]);
    expect((await v.notifications()).every((n) => n.read)).toBe(true);
  });

  it('refuses unknown notification kinds and bad ids', async () => {
    const v = await openVault();
    await expect(v.addNotification('gossip' as 'access', 'x', 'y')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(v.markNotificationsRead([1.5])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(v.notifications({ limit: -2 })).rejects.toMatchObject({ code: 'INVALID_QUERY' });
  });

  it('gets, sets and overwrites meta values', async () => {
    const v = await openVault();
    expect(await v.getMeta('k')).toBeUndefined();
    await v.setMeta('k', 'one');
    await v.setMeta('k', 'two');
    await v.setMeta('other', '');
    expect(await v.getMeta('k')).toBe('two');
    expect(await v.getMeta('other')).toBe('');
  });
});

describe('SqliteVault: research decisions', () => {
  it('keeps each decision sealed, replaces it by offer, and lists them newest first', async () => {
    const v = await openVault();
    expect(await v.researchDecision('offer-0001')).toBeUndefined();
    await v.putResearchDecision({
      offerId: 'offer-0001',
      decision: 'declined',
      decidedAt: '2025-01-01T00:00:00.000Z',
      title: 'A study',
      credits: 0,
    });
    const accepted = {
      offerId: 'offer-0002',
      decision: 'accepted' as const,
      decidedAt: '2025-02-01T00:00:00.000Z',
      title: 'HbA1c of adults',
      participationId: 'rp-participation-1',
      stage: 'prepared' as const,
      credits: 0,
      secret: {
        studyPrivateKeyPem: 'PRIVATE-KEY-SENTINEL',
        studyCertificatePem: 'cert',
        extractJson: '{"value":7.10}',
        deliveryIds: ['d-1'],
        shared: { codes: [], demographics: [], elementCount: 0 },
      },
    };
    await v.putResearchDecision(accepted);
    await v.putResearchDecision({ ...accepted, stage: 'delivered', credits: 10 });
    expect(await v.researchDecision('offer-0002')).toEqual({ ...accepted, stage: 'delivered', credits: 10 });
    expect((await v.researchDecisions()).map((d) => d.offerId)).toEqual(['offer-0002', 'offer-0001']);
    await v.close();
    vault = undefined;
    // nothing of it is in the file in the clear
    const bytes =
      readFileSync(file).toString('latin1') +
      readdirSync(dir)
        .map((f) => readFileSync(join(dir, f)).toString('latin1'))
        .join('');
    expect(bytes).not.toContain('PRIVATE-KEY-SENTINEL');
    expect(bytes).not.toContain('HbA1c of adults');
  });

  it('does not read a decision sealed for another offer', async () => {
    const v = await openVault();
    await v.putResearchDecision({ offerId: 'offer-0001', decision: 'declined', decidedAt: 'x', title: '', credits: 0 });
    await v.close();
    vault = undefined;
    await raw((db) => db.exec("UPDATE research_decisions SET offer_id = 'offer-0009'"));
    const reopened = await openVault();
    await expect(reopened.researchDecision('offer-0009')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(await reopened.researchDecisions()).toEqual([]);
  });
});
