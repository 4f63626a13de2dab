import { DatabaseSync } from 'node:sqlite';
import { v6 } from './migrations/v6';
import { coarseDemographics, StandardizedPatients } from './standardized-patients';

describe('coarseDemographics', () => {
  it('keeps the birth year, the gender and the 3-digit postal area of the current home address', () => {
    expect(
      coarseDemographics({
        resourceType: 'Patient',
        birthDate: '1961-05-14',
        gender: 'male',
        address: [
          { use: 'home', postalCode: '99501', period: { end: '2001-01-01' } },
          { use: 'work', postalCode: '01850' },
          { use: 'home', postalCode: '02114-3301' },
        ],
      }),
    ).toEqual({ birthYear: 1961, gender: 'male', postalCode3: '021' });
  });

  it('maps restricted or unreadable postal codes to 000 and leaves unknowns out', () => {
    expect(coarseDemographics({ address: [{ postalCode: '05901' }] })).toEqual({ postalCode3: '000' });
    expect(coarseDemographics({ address: [{ postalCode: 'SW1A 1AA' }] })).toEqual({ postalCode3: '000' });
    expect(coarseDemographics({ gender: 'robot', birthDate: 'soon', address: [{ city: 'Boston' }] })).toEqual({});
  });
});

describe('StandardizedPatients', () => {
  it('records coarse values only, and a later resource leaves what it does not state', () => {
    const db = new DatabaseSync(':memory:');
    try {
      for (const statement of v6.statements) db.exec(statement);
      const store = new StandardizedPatients(db);
      const pseudonym = 'ptaaaaaaaaaaaaaaaaaaaaaaaaaa';
      store.record(pseudonym, { birthYear: 1980, gender: 'female', postalCode3: '021' }, new Date());
      store.record(pseudonym, { postalCode3: '017' }, new Date());
      expect(store.get(pseudonym)).toEqual({ pseudonym, birthYear: 1980, gender: 'female', postalCode3: '017' });
      expect(store.get('ptbbbbbbbbbbbbbbbbbbbbbbbbbb')).toBeUndefined();
      // the table itself refuses anything finer than it should hold
      expect(() => db.prepare("INSERT INTO std_patient VALUES ('x', 1980, 'female', '02114', 'now')").run()).toThrow(
        /CHECK/,
      );
      expect(() => db.prepare("INSERT INTO std_patient VALUES ('y', 19800101, NULL, NULL, 'now')").run()).toThrow(
        /CHECK/,
      );
    } finally {
      db.close();
    }
  });
});
