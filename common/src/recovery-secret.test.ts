import { generateKeyPairSync } from 'node:crypto';
import {
  decodeRecoveryCode,
  deriveRecoveryKeys,
  encodeRecoveryCode,
  isRecoveryPublicKey,
  newRecoverySecret,
  RECOVERY_CODE_PREFIX,
  RECOVERY_SHARE_PREFIX,
  RecoveryCodeError,
  RecoverySecretError,
  rotationPayload,
  signRotation,
  verifyRotation,
  type RotationRequest,
} from './recovery-secret';

const secret = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const request: RotationRequest = {
  pseudonym: 'ptaaaaaaaaaaaaaaaaaaaaaaaaaa',
  newOwner: 'x509::/CN=patient-new::/CN=ca',
  encryptionPublicKey: 'BASE64KEY',
  encryptionAlgorithm: 'ecdh-p256',
  keyVersion: 3,
};

function codeError(fn: () => unknown): RecoveryCodeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RecoveryCodeError) return err;
    throw err;
  }
  throw new Error('expected a RecoveryCodeError');
}

describe('recovery keys', () => {
  it('are derived deterministically and independently of each other', () => {
    const a = deriveRecoveryKeys(secret);
    const b = deriveRecoveryKeys(Buffer.from(secret));
    expect(a.backupKey).toHaveLength(32);
    expect(a.backupKey.equals(b.backupKey)).toBe(true);
    expect(a.publicKey).toBe(b.publicKey);
    expect(a.signingKey.asymmetricKeyType).toBe('ed25519');
    expect(isRecoveryPublicKey(a.publicKey)).toBe(true);

    const other = deriveRecoveryKeys(newRecoverySecret());
    expect(other.backupKey.equals(a.backupKey)).toBe(false);
    expect(other.publicKey).not.toBe(a.publicKey);
  });

  it('pins the derivation (a change would orphan every backup and registered key)', () => {
    const keys = deriveRecoveryKeys(secret);
    expect(keys.backupKey.toString('hex')).toBe('779869a8464ca2f32b376e3460daa68e5f84818b3e264420a502565fb5956a93');
    expect(keys.publicKey).toBe('MCowBQYDK2VwAyEA7E3QnxogPXBLEP5QZqC/S97H/KJMkCAnAaoxdLS1lbQ=');
    // Crockford base32 of 00 01 02 …: 00000000 00000001 00000010 … read five bits at a time.
    expect(encodeRecoveryCode(secret, RECOVERY_CODE_PREFIX)).toBe(
      'PHRR-000G-40R4-0M30-E209-185G-R38E-1W81-24GK-2GAH-C5RR-34D1-P70X-3RFG-EDTP',
    );
  });

  it('refuses a secret of the wrong size', () => {
    expect(() => deriveRecoveryKeys(Buffer.alloc(31))).toThrow(RecoverySecretError);
    expect(newRecoverySecret()).toHaveLength(32);
  });
});

describe('rotation signature', () => {
  const keys = deriveRecoveryKeys(secret);
  const payload = rotationPayload(request);
  const signature = signRotation(payload, keys.signingKey);

  it('is domain-separated canonical JSON', () => {
    expect(JSON.parse(payload)).toEqual({ purpose: 'phr-ledger/rotate-keys/v1', ...request });
    expect(payload.startsWith('{"encryptionAlgorithm"')).toBe(true);
  });

  it('verifies for the payload it signed', () => {
    expect(verifyRotation(payload, signature, keys.publicKey)).toBe(true);
  });

  it.each<[string, Partial<RotationRequest>]>([
    ['another pseudonym', { pseudonym: 'ptbbbbbbbbbbbbbbbbbbbbbbbbbb' }],
    ['another new owner', { newOwner: 'x509::/CN=thief::/CN=ca' }],
    ['another encryption key', { encryptionPublicKey: 'OTHER' }],
    ['another algorithm', { encryptionAlgorithm: 'rsa' }],
    ['a later key version (replay)', { keyVersion: 4 }],
  ])('does not verify for %s', (_what, change) => {
    expect(verifyRotation(rotationPayload({ ...request, ...change }), signature, keys.publicKey)).toBe(false);
  });

  it('does not verify under another key and never throws on malformed input', () => {
    const other = deriveRecoveryKeys(newRecoverySecret());
    expect(verifyRotation(payload, signature, other.publicKey)).toBe(false);
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ type: 'spki', format: 'der' })
      .toString('base64');
    expect(verifyRotation(payload, signature, p256)).toBe(false);
    expect(isRecoveryPublicKey(p256)).toBe(false);
    for (const [sig, key] of [
      ['', keys.publicKey],
      ['not base64!', keys.publicKey],
      [signature.slice(0, -4), keys.publicKey],
      [signature, ''],
      [signature, 'AAAA'],
      [signature, keys.publicKey + '\n'],
      [undefined as unknown as string, keys.publicKey],
    ] as const) {
      expect(verifyRotation(payload, sig, key)).toBe(false);
    }
  });
});

describe('recovery codes', () => {
  it('round-trip the secret and a 33-byte share', () => {
    const code = encodeRecoveryCode(secret, RECOVERY_CODE_PREFIX);
    expect(code).toMatch(/^PHRR(-[0-9A-HJKMNP-TV-Z]{1,4})+$/);
    expect(decodeRecoveryCode(code, RECOVERY_CODE_PREFIX).equals(secret)).toBe(true);

    const share = Buffer.concat([newRecoverySecret(), Buffer.from([7])]);
    const paper = encodeRecoveryCode(share, RECOVERY_SHARE_PREFIX);
    expect(decodeRecoveryCode(paper, RECOVERY_SHARE_PREFIX).equals(share)).toBe(true);
  });

  it.each([1, 2, 3, 4, 5, 8, 16, 31, 32, 33, 64])('round-trips %i bytes', (n) => {
    const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 97 + 255) & 0xff));
    expect(decodeRecoveryCode(encodeRecoveryCode(bytes, 'PHRS'), 'PHRS').equals(bytes)).toBe(true);
  });

  it('reads leniently: case, spaces instead of dashes, and Crockford look-alikes', () => {
    const bytes = Buffer.alloc(32); // all zero: the code is full of 0s
    const code = encodeRecoveryCode(bytes, RECOVERY_CODE_PREFIX);
    const typed = `  ${code.toLowerCase().replace(/-/g, ' ').replace(/0/g, 'o')}\n`;
    expect(decodeRecoveryCode(typed, RECOVERY_CODE_PREFIX).equals(bytes)).toBe(true);

    const ones = Buffer.alloc(5, 0x08); // 00001000 ... → contains '1' in base32
    const onesCode = encodeRecoveryCode(ones, 'PHRS');
    expect(onesCode).toContain('1');
    expect(decodeRecoveryCode(onesCode.replace(/1/g, 'l'), 'PHRS').equals(ones)).toBe(true);
    expect(decodeRecoveryCode(onesCode.replace(/1/g, 'I'), 'PHRS').equals(ones)).toBe(true);
  });

  it('refuses a mistyped character with CHECKSUM', () => {
    const code = encodeRecoveryCode(secret, RECOVERY_CODE_PREFIX);
    const chars = [...code];
    const i = 6; // inside the first data group
    chars[i] = chars[i] === 'A' ? 'B' : 'A';
    expect(codeError(() => decodeRecoveryCode(chars.join(''), RECOVERY_CODE_PREFIX)).code).toBe('CHECKSUM');
    // Two adjacent characters swapped.
    const swapped = [...code];
    const j = code.indexOf('-', 5) + 1;
    [swapped[j], swapped[j + 1]] = [swapped[j + 1]!, swapped[j]!];
    if (swapped.join('') !== code) {
      expect(codeError(() => decodeRecoveryCode(swapped.join(''), RECOVERY_CODE_PREFIX)).code).toBe('CHECKSUM');
    }
  });

  it('refuses a code of the other kind, foreign characters and a wrong length with MALFORMED', () => {
    const code = encodeRecoveryCode(secret, RECOVERY_CODE_PREFIX);
    expect(codeError(() => decodeRecoveryCode(code, RECOVERY_SHARE_PREFIX)).code).toBe('MALFORMED');
    expect(codeError(() => decodeRecoveryCode(code.replace(/-(\w)/, '-U'), RECOVERY_CODE_PREFIX)).code).toBe(
      'MALFORMED',
    );
    expect(codeError(() => decodeRecoveryCode(code.slice(0, -6) + code.slice(-5), RECOVERY_CODE_PREFIX)).code).toBe(
      'MALFORMED',
    );
    expect(codeError(() => decodeRecoveryCode('PHRR-ABCD', RECOVERY_CODE_PREFIX)).code).toBe('MALFORMED');
    expect(codeError(() => decodeRecoveryCode('', RECOVERY_CODE_PREFIX)).code).toBe('MALFORMED');
    expect(codeError(() => encodeRecoveryCode(Buffer.alloc(0), 'PHRR')).code).toBe('MALFORMED');
  });

  it('uses the prefix in the checksum, so the same bytes under another word do not pass', () => {
    const code = encodeRecoveryCode(secret, RECOVERY_CODE_PREFIX);
    const relabelled = RECOVERY_SHARE_PREFIX + code.slice(RECOVERY_CODE_PREFIX.length);
    expect(codeError(() => decodeRecoveryCode(relabelled, RECOVERY_SHARE_PREFIX)).code).toBe('CHECKSUM');
  });
});
