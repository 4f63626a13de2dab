import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CaDatabase, type IssuedCertificate } from './ca-database';
import { temporaryHome } from './test-kit';

function certificate(serial: string, id = 'p'): IssuedCertificate {
  return { serial, aki: 'ab', enrollmentId: id, pem: 'PEM', notBefore: new Date(0), notAfter: new Date(1) };
}

describe('CaDatabase', () => {
  const home = temporaryHome();
  const file = join(home.home, 'ca.db');
  afterAll(() => home.remove());

  it('registers once, counts enrollments up to the maximum, and keeps it all across reopening', () => {
    let db = CaDatabase.open(file);
    const identity = {
      id: 'p',
      secretHash: 'scrypt$x',
      type: 'client',
      affiliation: '',
      attributes: [{ name: 'a', value: 'b', ecert: true }],
      maxEnrollments: 2,
    };
    expect(db.insertIdentity(identity)).toBe(true);
    expect(db.insertIdentity({ ...identity, secretHash: 'other' })).toBe(false);
    expect(db.recordEnrollment('p', certificate('01'))).toBe(true);
    expect(db.recordEnrollment('p', certificate('02'))).toBe(true);
    expect(db.recordEnrollment('p', certificate('03'))).toBe(false);
    expect(db.getCertificate('03', 'ab')).toBeUndefined();
    db.close();
    db = CaDatabase.open(file);
    expect(db.getIdentity('p')).toEqual({ ...identity, enrollments: 2 });
    expect(db.getCertificate('02', 'ab')).toMatchObject({ enrollmentId: 'p', status: 'good' });
    expect(db.recordEnrollment('nobody', certificate('04'))).toBe(false);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    db.close();
  });

  it('never limits an identity with maximum -1', () => {
    const db = CaDatabase.open(file);
    db.insertIdentity({
      id: 'u',
      secretHash: 'h',
      type: 'client',
      affiliation: '',
      attributes: [],
      maxEnrollments: -1,
    });
    for (let i = 0; i < 5; i++) expect(db.recordEnrollment('u', certificate(`u${i}`, 'u'))).toBe(true);
    expect(db.getIdentity('u')?.enrollments).toBe(5);
    db.close();
  });
});
