import { statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { CaDatabase, isRevokedIdentity, type IssuedCertificate } from './ca-database';
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

  it('revokes an identity: state -1, all its good certificates revoked at once, never enrolls again', () => {
    const db = CaDatabase.open(join(home.home, 'revoke.db'));
    const base = { secretHash: 'h', type: 'client', affiliation: '', attributes: [], maxEnrollments: -1 };
    db.insertIdentity({ id: 'r', ...base });
    db.insertIdentity({ id: 'k', ...base });
    for (const serial of ['r1', 'r2', 'r3']) expect(db.recordEnrollment('r', certificate(serial, 'r'))).toBe(true);
    expect(db.recordEnrollment('k', certificate('k1', 'k'))).toBe(true);
    const at = new Date('2030-01-02T03:04:05.000Z');
    expect(db.revokeCertificate('r2', 'ab', 4, at)).toBe(true);
    expect(db.revokeCertificate('r2', 'ab', 4, at)).toBe(false);
    expect(db.revokeCertificate('nope', 'ab', 0, at)).toBe(false);
    const later = new Date('2030-02-01T00:00:00.000Z');
    const revoked = db.revokeIdentity('r', 1, later);
    expect(revoked?.map((c) => c.serial).sort()).toEqual(['r1', 'r3']);
    expect(db.revokeIdentity('r', 1, later)).toEqual([]);
    expect(db.revokeIdentity('nobody', 1, later)).toBeUndefined();
    const identity = db.getIdentity('r');
    expect(identity && isRevokedIdentity(identity)).toBe(true);
    expect(db.recordEnrollment('r', certificate('r4', 'r'))).toBe(false);
    expect(db.getCertificate('r4', 'ab')).toBeUndefined();
    expect(db.getCertificate('r2', 'ab')).toMatchObject({ status: 'revoked', revokedAt: at, reason: 4 });
    expect(db.getCertificate('r1', 'ab')).toMatchObject({ status: 'revoked', revokedAt: later, reason: 1 });
    expect(db.getCertificate('k1', 'ab')).toMatchObject({ status: 'good', reason: 0 });
    expect(db.getCertificate('k1', 'ab')?.revokedAt).toBeUndefined();
    expect(db.revokedCertificates().map((c) => c.serial)).toEqual(['r2', 'r1', 'r3']);
    expect(db.revokedCertificates({ revokedAfter: at }).map((c) => c.serial)).toEqual(['r1', 'r3']);
    expect(db.revokedCertificates({ revokedBefore: later }).map((c) => c.serial)).toEqual(['r2']);
    expect(db.revokedCertificates({ expireAfter: new Date(1) })).toEqual([]);
    expect(db.revokedCertificates({ expireBefore: new Date(2) })).toHaveLength(3);
    db.close();
  });

  it('upgrades a database of the first schema: its certificates good, revocable', () => {
    const file = join(home.home, 'v1.db');
    const v1 = new DatabaseSync(file);
    v1.exec(`
      CREATE TABLE identities (id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, type TEXT NOT NULL,
        affiliation TEXT NOT NULL, attributes TEXT NOT NULL, max_enrollments INTEGER NOT NULL,
        enrollments INTEGER NOT NULL DEFAULT 0, registered_at TEXT NOT NULL);
      CREATE TABLE certificates (serial TEXT NOT NULL, aki TEXT NOT NULL, enrollment_id TEXT NOT NULL,
        pem TEXT NOT NULL, not_before TEXT NOT NULL, not_after TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'good', issued_at TEXT NOT NULL, PRIMARY KEY (serial, aki));
      CREATE INDEX certificates_by_id ON certificates (enrollment_id);
      INSERT INTO identities VALUES ('old', 'h', 'client', '', '[]', -1, 1, '2024-01-01T00:00:00.000Z');
      INSERT INTO certificates VALUES ('0a', 'ab', 'old', 'PEM', '2024-01-01T00:00:00.000Z',
        '2034-01-01T00:00:00.000Z', 'good', '2024-01-01T00:00:00.000Z');
      PRAGMA user_version = 1;
    `);
    v1.close();
    const db = CaDatabase.open(file);
    expect(db.getCertificate('0a', 'ab')).toMatchObject({ status: 'good', reason: 0 });
    expect(db.revokeIdentity('old', 0)?.map((c) => c.serial)).toEqual(['0a']);
    expect(db.revokedCertificates().map((c) => c.enrollmentId)).toEqual(['old']);
    db.close();
  });
});
