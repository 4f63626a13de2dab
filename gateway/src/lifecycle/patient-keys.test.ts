import { randomBytes } from 'node:crypto';
import { openDatabase } from '../store/database';
import { LifecycleError } from './lifecycle-error';
import { PatientKeys } from './patient-keys';

describe('PatientKeys', () => {
  const secret = randomBytes(32);

  it('makes one key per patient on first use and answers the same one after', () => {
    const db = openDatabase(':memory:');
    const keys = new PatientKeys(db, secret);
    const a = keys.keyFor('pta');
    expect(a).toHaveLength(32);
    expect(keys.keyFor('pta')).toEqual(a);
    expect(new PatientKeys(db, secret).existing('pta')).toEqual(a);
    expect(keys.keyFor('ptb').equals(a)).toBe(false);
    expect(keys.existing('ptc')).toBeUndefined();
    db.close();
  });

  it('stores the key wrapped: the row is not the key, and another gateway secret opens nothing', () => {
    const db = openDatabase(':memory:');
    const key = new PatientKeys(db, secret).keyFor('pta');
    const row = db.prepare('SELECT wrapped_key FROM patient_key').get() as { wrapped_key: Uint8Array };
    expect(Buffer.from(row.wrapped_key).includes(key)).toBe(false);
    expect(() => new PatientKeys(db, randomBytes(32)).existing('pta')).toThrow(/cannot be decrypted/);
    db.close();
  });

  it('destroys a key, and makes none for a patient with an erasure receipt', () => {
    const db = openDatabase(':memory:');
    const keys = new PatientKeys(db, secret);
    keys.keyFor('pta');
    expect(keys.destroy('pta')).toBe(1);
    expect(keys.destroy('pta')).toBe(0);
    expect(keys.existing('pta')).toBeUndefined();
    db.prepare(
      "INSERT INTO erasure_receipt (pseudonym, receipt_id, answer_json, erased_at) VALUES ('pta', 'r-00000001', '{}', 'now')",
    ).run();
    expect(keys.isErased('pta')).toBe(true);
    expect(() => keys.keyFor('pta')).toThrow(expect.objectContaining({ name: 'LifecycleError', code: 'ERASED' }));
    expect(() => keys.keyFor('pta')).toThrow(LifecycleError);
    expect(keys.existing('pta')).toBeUndefined();
    db.close();
  });
});
