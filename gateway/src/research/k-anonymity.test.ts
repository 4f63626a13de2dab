import { ageBand, kAnonymize, KAnonymityError, type QiRecord } from './k-anonymity';

const YEAR = 2025;
const person = (patient: string, age: number, gender: string, postalCode3: string, year = '2020'): QiRecord => ({
  patient,
  birthYear: YEAR - age,
  gender,
  postalCode3,
  year,
});
const demographics = ['ageBand', 'gender', 'postalCode3'] as const;

/** The smallest class among kept rows, counted in distinct patients, computed independently. */
function smallestClass(records: readonly QiRecord[], values: ReturnType<typeof kAnonymize>['values']): number {
  const classes = new Map<string, Set<string>>();
  values.forEach((v, i) => {
    if (!v) return;
    const key = JSON.stringify(v);
    (classes.get(key) ?? classes.set(key, new Set()).get(key))!.add(records[i]!.patient);
  });
  return Math.min(...[...classes.values()].map((s) => s.size));
}

describe('ageBand', () => {
  it('bands by 10 and 20 years and groups the oldest as Safe Harbor does', () => {
    expect(ageBand(YEAR - 34, YEAR, '10y')).toBe('30-39');
    expect(ageBand(YEAR - 34, YEAR, '20y')).toBe('20-39');
    expect(ageBand(YEAR - 89, YEAR, '10y')).toBe('80-89');
    expect(ageBand(YEAR - 90, YEAR, '10y')).toBe('90+');
    expect(ageBand(YEAR - 95, YEAR, '20y')).toBe('80+');
    expect(ageBand(undefined, YEAR, '10y')).toBe('unknown');
    expect(ageBand(YEAR + 1, YEAR, '10y')).toBe('unknown');
  });
});

describe('kAnonymize', () => {
  it('keeps the finest rung when every class already holds k patients', () => {
    const records = ['a', 'b', 'c', 'd', 'e'].map((p) => person(p, 34, 'female', '021'));
    const r = kAnonymize(records, { k: 5, quasiIdentifiers: demographics, referenceYear: YEAR });
    expect(r.level.level).toBe(0);
    expect(r).toMatchObject({ kReached: 5, classes: 1, suppressedRows: 0, suppressedPatients: 0, keptPatients: 5 });
    expect(r.values[0]).toEqual({ ageBand: '30-39', gender: 'female', postalCode3: '021' });
  });

  it('widens age bands to 20 years before giving up the postal area', () => {
    const records = [21, 25, 28, 33, 38].map((age, i) => person(`p${i}`, age, 'male', '017'));
    const r = kAnonymize(records, { k: 5, quasiIdentifiers: demographics, referenceYear: YEAR });
    expect(r.level).toMatchObject({ level: 1, ageBand: '20y', postalCode3: 'kept' });
    expect(r.values.every((v) => v?.ageBand === '20-39' && v.postalCode3 === '017')).toBe(true);
    expect(r.kReached).toBe(5);
  });

  it('drops the postal area, then age, and gender only when nothing else will do', () => {
    const postal = ['010', '011', '012', '013', '014'].map((z, i) => person(`p${i}`, 44, 'male', z));
    expect(kAnonymize(postal, { k: 5, quasiIdentifiers: demographics, referenceYear: YEAR }).level).toMatchObject({
      level: 2,
      gender: 'kept',
    });
    const genders = ['male', 'male', 'male', 'female', 'female'].map((g, i) => person(`p${i}`, 44, g, '010'));
    const r = kAnonymize(genders, { k: 5, quasiIdentifiers: demographics, referenceYear: YEAR });
    expect(r.level.level).toBe(4);
    expect(r.values[0]).toEqual({ ageBand: '*', gender: '*', postalCode3: '*' });
  });

  it('suppresses a small class when the rung is within the suppression budget', () => {
    const records = [
      ...['a', 'b', 'c', 'd', 'e', 'f'].map((p) => person(p, 50, 'female', '020')),
      person('outlier', 50, 'male', '020'),
    ];
    const r = kAnonymize(records, {
      k: 5,
      quasiIdentifiers: demographics,
      referenceYear: YEAR,
      maxSuppressedShare: 0.2,
    });
    expect(r.level.level).toBe(0);
    expect(r.values[6]).toBeUndefined();
    expect(r).toMatchObject({ kReached: 6, suppressedRows: 1, suppressedPatients: 1, keptPatients: 6 });
  });

  it('counts patients, not rows: many rows of two patients never make a class of five', () => {
    const records = Array.from({ length: 20 }, (_, i) => person(i % 2 ? 'x' : 'y', 40, 'male', '020'));
    const r = kAnonymize(records, { k: 5, quasiIdentifiers: demographics, referenceYear: YEAR });
    expect(r).toMatchObject({ kReached: 0, keptRows: 0, suppressedRows: 20, suppressedPatients: 2 });
    expect(r.values.every((v) => v === undefined)).toBe(true);
  });

  it('never generalises the year: rows in a small year class are suppressed', () => {
    const records = [
      ...['a', 'b', 'c', 'd', 'e'].map((p) => person(p, 40, 'male', '020', '2019')),
      person('a', 40, 'male', '020', '2021'),
    ];
    const r = kAnonymize(records, { k: 5, quasiIdentifiers: ['gender', 'year'], referenceYear: YEAR });
    expect(r.values.slice(0, 5).every((v) => v?.year === '2019')).toBe(true);
    expect(r.values[5]).toBeUndefined();
    expect(r).toMatchObject({ suppressedRows: 1, suppressedPatients: 0, kReached: 5 });
    // only the quasi-identifiers asked for are released
    expect(Object.keys(r.values[0]!)).toEqual(['gender', 'year']);
  });

  it('reaches k over the rows it keeps in a mixed population', () => {
    const records: QiRecord[] = [];
    for (let i = 0; i < 60; i++) {
      const rows = 1 + (i % 3);
      for (let j = 0; j < rows; j++) {
        records.push(person(`p${i}`, 18 + ((i * 7) % 70), i % 3 ? 'male' : 'female', `0${10 + (i % 6)}`));
      }
    }
    const r = kAnonymize(records, { k: 5, quasiIdentifiers: demographics, referenceYear: YEAR });
    expect(r.kReached).toBeGreaterThanOrEqual(5);
    expect(smallestClass(records, r.values)).toBe(r.kReached);
    expect(r.keptRows + r.suppressedRows).toBe(records.length);
  });

  it('refuses k below 5 and unknown or repeated quasi-identifiers', () => {
    expect(() => kAnonymize([], { k: 4, quasiIdentifiers: [], referenceYear: YEAR })).toThrow(KAnonymityError);
    expect(() => kAnonymize([], { k: 5.5, quasiIdentifiers: [], referenceYear: YEAR })).toThrow(KAnonymityError);
    expect(() => kAnonymize([], { k: 5, quasiIdentifiers: ['zip' as 'year'], referenceYear: YEAR })).toThrow(
      /unknown quasi-identifier/,
    );
    expect(() => kAnonymize([], { k: 5, quasiIdentifiers: ['year', 'year'], referenceYear: YEAR })).toThrow(/repeat/);
  });
});
