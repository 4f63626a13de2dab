import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { exactNumber, newPseudonym, type DataElement } from '@phr/common';
import { segmentResource } from '../ingest/segmenter';
import { StandardizedDb, StandardizedDbError, type StandardizedElementInput } from './standardized-db';
import { openDatabase } from './database';

const FIXTURES = join(__dirname, '..', '..', '..', 'fixtures', 'synthea-r4');
const LOINC = 'http://loinc.org';

type Resource = Record<string, unknown>;

/** One Synthea bundle as a delivery: every resource a segment, every element a row. */
function deliveryRows(file: string, pseudonym: string, deliveryId: string): StandardizedElementInput[] {
  const bundle = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as { entry: { resource: Resource }[] };
  return bundle.entry.flatMap(({ resource }, i) => {
    const segmentId = `${deliveryId}-s${i}`;
    return segmentResource({ segmentId, resource, sourceId: String(resource.id) }).map((element) => ({
      pseudonym,
      deliveryId,
      segmentId,
      element,
    }));
  });
}

describe('StandardizedDb', () => {
  const files = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .sort();
  let dir: string;
  let db: DatabaseSync;
  let store: StandardizedDb;
  const alice = newPseudonym();
  const bob = newPseudonym();
  let aliceRows: StandardizedElementInput[];
  let bobRows: StandardizedElementInput[];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'phr-stddb-'));
    db = openDatabase(join(dir, 'gateway.sqlite'));
    db.exec('PRAGMA journal_mode = WAL');
    store = new StandardizedDb(db);
    aliceRows = deliveryRows(files[0] as string, alice, 'delivery-alice-1');
    bobRows = deliveryRows(files[1] as string, bob, 'delivery-bob-1');
  });

  afterAll(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores only coded elements, inside the caller transaction', () => {
    db.exec('BEGIN IMMEDIATE');
    const storedAlice = store.insertElements(aliceRows);
    const storedBob = store.insertElements(bobRows);
    db.exec('COMMIT');
    const codedAlice = aliceRows.filter((r) => r.element.kind === 'coded').length;
    expect(storedAlice).toBe(codedAlice);
    expect(storedAlice).toBeLessThan(aliceRows.length);
    expect(store.countByDelivery('delivery-alice-1')).toBe(codedAlice);
    expect(store.countByDelivery('delivery-bob-1')).toBe(storedBob);
    expect(store.countByDelivery('no-such-delivery')).toBe(0);
  });

  it('leaves nothing behind when the transaction rolls back', () => {
    const rows = deliveryRows(files[2] as string, alice, 'delivery-rolled-back');
    db.exec('BEGIN IMMEDIATE');
    expect(store.insertElements(rows)).toBeGreaterThan(0);
    expect(store.countByDelivery('delivery-rolled-back')).toBeGreaterThan(0);
    db.exec('ROLLBACK');
    expect(store.countByDelivery('delivery-rolled-back')).toBe(0);
    expect(store.search({ deliveryId: 'delivery-rolled-back', limit: 10 })).toEqual([]);
  });

  it('refuses a duplicate element id (and the caller can roll back)', () => {
    const row = aliceRows.find((r) => r.element.kind === 'coded') as StandardizedElementInput;
    db.exec('BEGIN IMMEDIATE');
    expect(() => store.insertElements([row])).toThrow(/UNIQUE/);
    db.exec('ROLLBACK');
  });

  it('searches by patient and code, returning values as stored', () => {
    const expected = aliceRows
      .map((r) => r.element)
      .filter((e) => e.kind === 'coded' && e.system === LOINC && e.code === '8302-2');
    expect(expected.length).toBeGreaterThan(0);
    const found = store.search({ pseudonym: alice, system: LOINC, code: '8302-2', limit: 1000 });
    expect(found.map((f) => f.elementId)).toEqual(expected.map((e) => e.id));
    for (const f of found) {
      expect(f.pseudonym).toBe(alice);
      expect(f.resourceType).toBe('Observation');
      expect(typeof f.value).toBe('number');
      expect(f.unit).toBe('cm');
      expect(f.deliveryId).toBe('delivery-alice-1');
      expect(f.elementId.startsWith(`${f.segmentId}.`)).toBe(true);
    }
    const first = expected[0] as DataElement;
    expect(found[0]).toMatchObject({ value: first.value, display: first.display, time: first.time, path: first.path });
    // the other patient's rows never leak into a patient-scoped search
    expect(store.search({ pseudonym: bob, limit: 1000 }).every((f) => f.pseudonym === bob)).toBe(true);
  });

  it('filters by time range (from inclusive, to exclusive) and resource type', () => {
    const times = aliceRows
      .map((r) => r.element)
      .filter((e) => e.kind === 'coded' && e.resourceType === 'Observation' && e.time !== undefined)
      .map((e) => e.time as string)
      .sort();
    const from = times[Math.floor(times.length / 3)] as string;
    const to = times[Math.floor((2 * times.length) / 3)] as string;
    const expected = aliceRows.filter(
      (r) =>
        r.element.kind === 'coded' &&
        r.element.resourceType === 'Observation' &&
        (r.element.time as string) >= from &&
        (r.element.time as string) < to,
    );
    const found = store.search({ pseudonym: alice, resourceType: 'Observation', from, to, limit: 1000 });
    expect(found.length).toBe(expected.length);
    expect(found.length).toBeGreaterThan(0);
    for (const f of found) {
      expect(f.time! >= from && f.time! < to).toBe(true);
    }
  });

  it('pages with limit and offset in insertion order', () => {
    const page1 = store.search({ deliveryId: 'delivery-bob-1', limit: 5 });
    const page2 = store.search({ deliveryId: 'delivery-bob-1', limit: 5, offset: 5 });
    const both = store.search({ deliveryId: 'delivery-bob-1', limit: 10 });
    expect([...page1, ...page2]).toEqual(both);
    expect(both.map((r) => r.elementId)).toEqual(
      bobRows
        .filter((r) => r.element.kind === 'coded')
        .slice(0, 10)
        .map((r) => r.element.id),
    );
  });

  it('round-trips boolean and text values', () => {
    const make = (n: number, value: string | boolean): StandardizedElementInput => ({
      pseudonym: bob,
      deliveryId: 'delivery-values',
      segmentId: 'seg-values',
      element: {
        id: `seg-values.${n}`,
        kind: 'coded',
        resourceType: 'Observation',
        path: 'Observation.code.coding[0]',
        system: LOINC,
        code: '0000-0',
        value,
      },
    });
    db.exec('BEGIN IMMEDIATE');
    store.insertElements([make(1, true), make(2, false), make(3, 'http://snomed.info/sct|260385009')]);
    db.exec('COMMIT');
    expect(store.search({ deliveryId: 'delivery-values', limit: 10 }).map((r) => r.value)).toEqual([
      true,
      false,
      'http://snomed.info/sct|260385009',
    ]);
  });

  it('keeps a number as the text the element carried (7.10 stays 7.10), and its value for ranges', () => {
    const make = (n: number, text: string): StandardizedElementInput => ({
      pseudonym: bob,
      deliveryId: 'delivery-numbers',
      segmentId: 'seg-numbers',
      element: {
        id: `seg-numbers.${n}`,
        kind: 'coded',
        resourceType: 'Observation',
        path: 'Observation.code.coding[0]',
        system: LOINC,
        code: '0000-1',
        value: exactNumber(text),
      },
    });
    const texts = ['7.10', '0.000', '1e2', '-0.0', '7.1', '123456789012345678901234567890'];
    db.exec('BEGIN IMMEDIATE');
    store.insertElements(texts.map((t, i) => make(i, t)));
    db.exec('COMMIT');
    const values = store.search({ deliveryId: 'delivery-numbers', limit: 10 }).map((r) => r.value);
    expect(values.map((v) => String(v))).toEqual(texts);
    expect(values[4]).toBe(7.1);
    const nums = db
      .prepare("SELECT value_num FROM std_element WHERE delivery_id = 'delivery-numbers' ORDER BY seq")
      .all();
    expect(nums.map((r) => (r as { value_num: number }).value_num)).toEqual([
      7.1, 0, 100, 0, 7.1, 1.2345678901234568e29,
    ]);
  });

  it('survives reopening (schema creation is idempotent)', () => {
    const again = new StandardizedDb(db);
    expect(again.countByDelivery('delivery-alice-1')).toBe(store.countByDelivery('delivery-alice-1'));
  });

  it('rejects bad queries and incomplete coded elements', () => {
    expect(() => store.search({ limit: 0 })).toThrow(StandardizedDbError);
    expect(() => store.search({ limit: 5000 })).toThrow(StandardizedDbError);
    expect(() => store.search({ limit: 5, offset: -1 })).toThrow(StandardizedDbError);
    expect(() =>
      store.insertElements([
        {
          pseudonym: bob,
          deliveryId: 'd',
          segmentId: 's',
          element: { id: 's.1', kind: 'coded', resourceType: 'Observation', path: 'Observation.code.coding[0]' },
        },
      ]),
    ).toThrow(StandardizedDbError);
  });
});
