import { randomBytes } from 'node:crypto';
import { decryptRow, encryptRow, keptDeliveryAad, PatientCipherError, rowAad } from './patient-cipher';

describe('patient cipher (AES-256-GCM rows)', () => {
  const key = randomBytes(32);
  const aad = rowAad('backup_version', 'ptabc', 3);
  const plain = Buffer.from('the agent ciphertext, opaque here');

  it('round trips, with a fresh IV each time and 29 bytes of overhead', () => {
    const a = encryptRow(key, aad, plain);
    const b = encryptRow(key, aad, plain);
    expect(a.equals(b)).toBe(false);
    expect(a).toHaveLength(plain.length + 29);
    expect(decryptRow(key, aad, a)).toEqual(plain);
    expect(decryptRow(key, aad, new Uint8Array(a))).toEqual(plain);
  });

  it('does not open under another key, another row, or with a bit changed', () => {
    const blob = encryptRow(key, aad, plain);
    const flipped = Buffer.from(blob);
    flipped[20] = (flipped[20] as number) ^ 1;
    const cases = [
      () => decryptRow(randomBytes(32), aad, blob),
      () => decryptRow(key, rowAad('backup_version', 'ptabc', 4), blob),
      () => decryptRow(key, rowAad('backup_version', 'ptabd', 3), blob),
      () => decryptRow(key, keptDeliveryAad('dlv-1'), blob),
      () => decryptRow(key, aad, flipped),
      () => decryptRow(key, aad, blob.subarray(0, 20)),
    ];
    for (const c of cases) expect(c).toThrow(PatientCipherError);
  });

  it('keeps row keys apart: no part may hide a separator', () => {
    expect(rowAad('t', 'a', 'b')).toEqual(Buffer.from('t\0a\0b'));
    expect(() => rowAad('t', 'a\0b')).toThrow(TypeError);
  });
});
