import { newPseudonym } from '@phr/common';
import { buildExtract, extractCsv, type ExclusionReason } from './extract-builder';
import type { SourceRow } from './extract-source';

const LOINC = 'http://loinc.org';

function population(n: number): { pseudonyms: string[]; rows: SourceRow[] } {
  const pseudonyms = Array.from({ length: n }, () => newPseudonym());
  const rows = pseudonyms.flatMap((pseudonym, i) => [
    {
      pseudonym,
      birthYear: 1970 + (i % 4),
      gender: 'female',
      postalCode3: '021',
      system: LOINC,
      code: '4548-4',
      valueType: 'number' as const,
      valueText: `${6 + i / 10}`,
      unit: '%',
      time: `2021-0${1 + (i % 9)}-1${i % 10}T08:30:00Z`,
    },
    {
      pseudonym,
      birthYear: 1970 + (i % 4),
      gender: 'female',
      postalCode3: '021',
      system: LOINC,
      code: '72166-2',
      valueType: 'string' as const,
      valueText: 'Never smoker, lives with Jane Doe',
      unit: 'free text unit',
      time: '2021-03-04',
    },
  ]);
  return { pseudonyms, rows };
}

describe('buildExtract', () => {
  it('leaves out excluded patients, numbers participants, and keeps only years, codes and plain values', () => {
    const { pseudonyms, rows } = population(9);
    const excluded = new Map<string, ExclusionReason>([
      [pseudonyms[0]!, 'optedOut'],
      [pseudonyms[1]!, 'erased'],
      [pseudonyms[2]!, 'notRegistered'],
    ]);
    const built = buildExtract(rows, {
      k: 5,
      quasiIdentifiers: ['ageBand', 'gender', 'postalCode3', 'year'],
      referenceYear: 2025,
      excluded,
    });
    expect(built.report.excluded).toEqual({ optedOut: 1, erased: 1, notRegistered: 1 });
    expect(built.members).toEqual([...pseudonyms.slice(3)].sort());
    expect(built.report).toMatchObject({ participants: 6, rows: 12, suppressedRows: 0, kReached: 6 });
    // the year is released: rows stand alone, with no participant number to join them
    expect(built.report.linkedRows).toBe(false);
    expect(built.rows.every((r) => r.participant === undefined)).toBe(true);
    for (const r of built.rows) {
      expect(r.year).toBe('2021');
      expect(r.ageBand).toBe('50-59');
    }
    // the free-text value and the phrase unit of the smoking rows are not released
    const smoking = built.rows.filter((r) => r.code === '72166-2');
    expect(smoking.every((r) => r.value === undefined && r.unit === undefined)).toBe(true);
    expect(built.report.dropped).toEqual({ textValues: 6, units: 6 });

    const csv = extractCsv(built.rows, built.report.quasiIdentifiers, built.report.linkedRows);
    const json = JSON.stringify(built.rows);
    for (const p of pseudonyms) {
      expect(csv).not.toContain(p);
      expect(json).not.toContain(p);
    }
    expect(csv).not.toMatch(/\d{4}-\d{2}/);
    expect(csv).not.toContain('Jane');
    expect(csv.split('\r\n')[0]).toBe('ageBand,gender,postalCode3,year,system,code,value,unit');
  });

  it('numbers participants when no year is released: their quasi-identifiers are the same on every row', () => {
    const { rows } = population(6);
    const built = buildExtract(rows, {
      k: 5,
      quasiIdentifiers: ['ageBand', 'gender', 'postalCode3'],
      referenceYear: 2025,
      excluded: new Map(),
    });
    expect(built.report.linkedRows).toBe(true);
    expect(new Set(built.rows.map((r) => r.participant))).toEqual(
      new Set(['P001', 'P002', 'P003', 'P004', 'P005', 'P006']),
    );
    // each participant's two rows stay together
    expect(built.rows.map((r) => r.participant)).toEqual(built.rows.map((r) => r.participant).sort());
    const csv = extractCsv(built.rows, built.report.quasiIdentifiers, built.report.linkedRows);
    expect(csv.split('\r\n')[0]).toBe('participant,ageBand,gender,postalCode3,system,code,value,unit');
  });

  it('with years released, a patient whose combination of years is unique cannot be singled out', () => {
    // Ten look-alike patients: five measured in 2019 and 2020, five in 2020 and 2021, and one, the
    // only one, in 2019 and 2021. Every (demographics, year) class holds at least 6 patients, but
    // rows joined by patient would show the one set {2019, 2021} held by a single person.
    const base = { birthYear: 1970, gender: 'female', postalCode3: '021', system: LOINC, code: '4548-4' };
    const rowsOf = (pseudonym: string, years: string[]): SourceRow[] =>
      years.map((y) => ({ ...base, pseudonym, valueType: 'number', valueText: '6.5', unit: '%', time: `${y}-05-01` }));
    const early = Array.from({ length: 5 }, () => newPseudonym());
    const late = Array.from({ length: 5 }, () => newPseudonym());
    const unusual = newPseudonym();
    const source = [
      ...early.flatMap((p) => rowsOf(p, ['2019', '2020'])),
      ...late.flatMap((p) => rowsOf(p, ['2020', '2021'])),
      ...rowsOf(unusual, ['2019', '2021']),
    ];
    const options = {
      k: 5,
      quasiIdentifiers: ['ageBand', 'gender', 'year'] as const,
      referenceYear: 2025,
      excluded: new Map<string, ExclusionReason>(),
    };
    const built = buildExtract(source, options);
    expect(built.members).toContain(unusual);
    expect(built.report).toMatchObject({ linkedRows: false, rows: 22, kReached: 6 });

    // nothing in a row ties it to another row of the same patient
    expect(built.rows.every((r) => !('participant' in r))).toBe(true);
    const csv = extractCsv(built.rows, built.report.quasiIdentifiers, built.report.linkedRows);
    expect(csv.split('\r\n')[0]).toBe('ageBand,gender,year,system,code,value,unit');
    // nor does the order: the extract is the same whatever order the hospital stored the rows in,
    // so no two rows can be told to be one patient's
    for (const order of [[...source].reverse(), [...source.slice(11), ...source.slice(0, 11)]]) {
      const again = buildExtract(order, options);
      expect(extractCsv(again.rows, again.report.quasiIdentifiers, again.report.linkedRows)).toBe(csv);
    }
    // what is left: each row is indistinguishable from the rows of at least k patients
    const byYear = new Map<string, number>();
    for (const r of built.rows) byYear.set(r.year!, (byYear.get(r.year!) ?? 0) + 1);
    expect(Object.fromEntries(byYear)).toEqual({ '2019': 6, '2020': 10, '2021': 6 });
  });

  it('suppresses what cannot reach k and reports it', () => {
    const { rows } = population(6);
    const loner: SourceRow = {
      pseudonym: newPseudonym(),
      birthYear: 1930,
      gender: 'male',
      postalCode3: '010',
      system: LOINC,
      code: '4548-4',
      valueType: 'number',
      valueText: '9.1',
      time: '1999-01-01',
    };
    const built = buildExtract([...rows, loner], {
      k: 5,
      quasiIdentifiers: ['gender', 'year'],
      referenceYear: 2025,
      excluded: new Map(),
    });
    expect(built.members).not.toContain(loner.pseudonym);
    expect(built.report).toMatchObject({ suppressedRows: 1, suppressedParticipants: 1, participants: 6, kReached: 6 });
    expect(built.rows.some((r) => r.year === '1999')).toBe(false);
  });

  it('shuffles participant numbers with the random source it is given', () => {
    const { pseudonyms, rows } = population(5);
    const options = { k: 5, quasiIdentifiers: ['gender'] as const, referenceYear: 2025, excluded: new Map() };
    const first = buildExtract(rows, { ...options, randomInt: () => 0 });
    const second = buildExtract(rows, { ...options, randomInt: (n) => n - 1 });
    // rows come out by participant: the first rows belong to different patients under the two orders
    const firstOf = (b: typeof first) => rows.findIndex((r) => r.valueText === b.rows[0]!.value);
    expect(firstOf(first)).not.toBe(firstOf(second));
    expect(first.members).toEqual([...pseudonyms].sort());
  });
});

describe('extractCsv', () => {
  it('quotes fields as RFC 4180 asks', () => {
    const csv = extractCsv([{ participant: 'P001', system: 'urn:x', code: 'a,b', value: 'say "hi"' }], [], true);
    expect(csv).toBe('participant,system,code,value,unit\r\nP001,urn:x,"a,b","say ""hi""",\r\n');
  });
});
