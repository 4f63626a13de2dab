import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { TEST_KEYSTORE } from '@phr/test-support';
import {
  changePassphrase,
  DEFAULT_SCRYPT,
  generateDeviceSecrets,
  KeystoreError,
  openKeystore,
  readKeystore,
  sealKeystore,
  unlockKeystore,
  withRecoverySecret,
  writeKeystore,
  type DeviceSecrets,
  type KeystoreFile,
  type SealOptions,
} from './keystore';

/** The suites' test cost (2^10 instead of 2^17): the format and checks are the same; typed here, so it stays a SealOptions. */
const FAST: SealOptions = TEST_KEYSTORE;
const PASS = 'correct horse battery staple';

let secrets: DeviceSecrets;
let dir: string;

beforeAll(() => {
  secrets = generateDeviceSecrets();
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'phr-keystore-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The fields, as plain data, for comparing two sets of secrets. */
function plain(s: DeviceSecrets) {
  return {
    signingPrivateKeyPem: s.signingPrivateKeyPem,
    encryption: { ...s.encryption },
    vaultKeys: { dataKey: s.vaultKeys.dataKey.toString('hex'), indexKey: s.vaultKeys.indexKey.toString('hex') },
  };
}

function expectKeystoreError(fn: () => unknown, code: KeystoreError['code']): KeystoreError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(KeystoreError);
  expect(caught).toMatchObject({ name: 'KeystoreError', code });
  return caught as KeystoreError;
}

function flipBase64(text: string, byte = 0): string {
  const bytes = Buffer.from(text, 'base64');
  bytes[byte] = (bytes[byte] as number) ^ 0x01;
  return bytes.toString('base64');
}

describe('generateDeviceSecrets', () => {
  it('makes an ECDSA P-256 signing key, an X25519 encryption pair and two distinct 32-byte vault keys', () => {
    const signing = createPrivateKey(secrets.signingPrivateKeyPem);
    expect(signing.asymmetricKeyType).toBe('ec');
    expect(signing.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(secrets.signingPrivateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(secrets.encryption.algorithm).toBe('X25519');
    expect(createPrivateKey(secrets.encryption.privateKeyPem).asymmetricKeyType).toBe('x25519');
    expect(createPublicKey(secrets.encryption.publicKeyPem).asymmetricKeyType).toBe('x25519');
    expect(secrets.vaultKeys.dataKey).toHaveLength(32);
    expect(secrets.vaultKeys.indexKey).toHaveLength(32);
    expect(secrets.vaultKeys.dataKey.equals(secrets.vaultKeys.indexKey)).toBe(false);
    expect(plain(generateDeviceSecrets())).not.toEqual(plain(secrets));
  });

  it('makes an RSA-OAEP-256 encryption pair on request, and it round-trips', () => {
    const rsa = generateDeviceSecrets('RSA-OAEP-256');
    expect(rsa.encryption.algorithm).toBe('RSA-OAEP-256');
    expect(createPrivateKey(rsa.encryption.privateKeyPem).asymmetricKeyType).toBe('rsa');
    expect(plain(openKeystore(sealKeystore(rsa, PASS, FAST), PASS))).toEqual(plain(rsa));
  });

  it('prints as a placeholder in JSON and util.inspect, so a log line cannot carry a key', () => {
    for (const text of [
      JSON.stringify(secrets),
      JSON.stringify({ secrets }),
      inspect(secrets, { depth: 5 }),
      JSON.stringify(secrets.encryption),
      inspect(secrets.vaultKeys),
    ]) {
      expect(text).not.toMatch(/PRIVATE KEY/);
      expect(text).not.toContain(secrets.vaultKeys.dataKey.toString('hex'));
      expect(text).toContain('[device secret]');
    }
    // Still plain data to the code that uses it.
    expect(Object.keys(secrets).sort()).toEqual(['encryption', 'signingPrivateKeyPem', 'vaultKeys']);
  });
});

describe('sealKeystore / openKeystore', () => {
  it('round-trips the secrets, and the opened signing key signs', () => {
    const file = sealKeystore(secrets, PASS, FAST);
    const opened = openKeystore(file, PASS);
    expect(plain(opened)).toEqual(plain(secrets));
    const signature = sign('sha256', Buffer.from('hello'), opened.signingPrivateKeyPem);
    expect(verify('sha256', Buffer.from('hello'), createPublicKey(secrets.signingPrivateKeyPem), signature)).toBe(true);
    expect(inspect(opened)).not.toMatch(/PRIVATE KEY/);
  });

  it('writes the format {v, kdf, iv, ciphertext, tag} with the default scrypt cost recorded', () => {
    const file = sealKeystore(secrets, PASS);
    expect(Object.keys(file).sort()).toEqual(['ciphertext', 'iv', 'kdf', 'tag', 'v']);
    expect(file.v).toBe(1);
    expect(file.kdf).toEqual({ name: 'scrypt', N: 2 ** 17, r: 8, p: 1, salt: expect.any(String) });
    expect(DEFAULT_SCRYPT).toEqual({ N: 2 ** 17, r: 8, p: 1 });
    expect(Buffer.from(file.kdf.salt, 'base64')).toHaveLength(16);
    expect(Buffer.from(file.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(file.tag, 'base64')).toHaveLength(16);
    expect(plain(openKeystore(file, PASS))).toEqual(plain(secrets));
  });

  it('uses a fresh salt and IV every time and keeps no key material in the clear', () => {
    const one = sealKeystore(secrets, PASS, FAST);
    const two = sealKeystore(secrets, PASS, FAST);
    expect(one.kdf.salt).not.toBe(two.kdf.salt);
    expect(one.iv).not.toBe(two.iv);
    expect(one.ciphertext).not.toBe(two.ciphertext);
    const bytes = Buffer.from(one.ciphertext, 'base64');
    expect(bytes.includes(Buffer.from('PRIVATE KEY'))).toBe(false);
    expect(bytes.includes(secrets.vaultKeys.dataKey)).toBe(false);
    expect(JSON.stringify(one)).not.toContain(secrets.vaultKeys.dataKey.toString('base64'));
  });

  it('refuses a cost below the default unless explicitly allowed for tests', () => {
    expect(() => sealKeystore(secrets, PASS, { kdf: { N: 2 ** 10 } })).toThrow(RangeError);
    expect(() => sealKeystore(secrets, PASS, { kdf: { r: 4 }, allowWeakKdf: true })).toThrow(RangeError);
    expect(() => sealKeystore(secrets, PASS, { kdf: { N: 3000 }, allowWeakKdf: true })).toThrow(RangeError);
    expect(() => sealKeystore(secrets, PASS, { kdf: { N: 2 ** 9 }, allowWeakKdf: true })).toThrow(RangeError);
  });

  it('fails with WRONG_PASSPHRASE for a wrong passphrase, without saying more', () => {
    const file = sealKeystore(secrets, PASS, FAST);
    const err = expectKeystoreError(() => openKeystore(file, 'correct horse battery stapler'), 'WRONG_PASSPHRASE');
    expect(err.message).toBe('wrong passphrase, or the keystore was altered');
    expectKeystoreError(() => openKeystore(file, ''), 'WRONG_PASSPHRASE');
  });

  it('fails with WRONG_PASSPHRASE, indistinguishably, when ciphertext, tag, IV or header was altered', () => {
    const file = sealKeystore(secrets, PASS, FAST);
    const altered: KeystoreFile[] = [
      { ...file, ciphertext: flipBase64(file.ciphertext, 10) },
      { ...file, tag: flipBase64(file.tag) },
      { ...file, iv: flipBase64(file.iv) },
      { ...file, kdf: { ...file.kdf, salt: flipBase64(file.kdf.salt) } },
      { ...file, kdf: { ...file.kdf, N: 2 ** 11 } },
      { ...file, kdf: { ...file.kdf, r: 9 } },
      { ...file, kdf: { ...file.kdf, p: 2 } },
    ];
    for (const tampered of altered) {
      const err = expectKeystoreError(() => openKeystore(tampered, PASS), 'WRONG_PASSPHRASE');
      expect(err.message).toBe('wrong passphrase, or the keystore was altered');
    }
    // The original still opens: the failures above are the alterations, not the test.
    expect(plain(openKeystore(file, PASS))).toEqual(plain(secrets));
  });

  it('fails with MALFORMED for files that are not keystores, before running the KDF on their say-so', () => {
    const file = sealKeystore(secrets, PASS, FAST);
    const malformed: unknown[] = [
      null,
      'keystore',
      { ...file, v: 2 },
      { ...file, extra: 'field' },
      { ...file, kdf: { ...file.kdf, name: 'pbkdf2' } },
      { ...file, kdf: { ...file.kdf, N: 1000 } },
      { ...file, kdf: { ...file.kdf, N: 2 ** 30 } }, // 1 TiB of scrypt memory: refused, not attempted
      { ...file, kdf: { ...file.kdf, p: 0 } },
      { ...file, iv: 'not base64!' },
      { ...file, iv: Buffer.alloc(16).toString('base64') },
      { ...file, tag: '' },
      { ...file, kdf: { ...file.kdf, salt: 'c2hvcnQ=' } },
      (({ tag: _tag, ...rest }) => rest)(file),
    ];
    for (const bad of malformed) expectKeystoreError(() => openKeystore(bad as KeystoreFile, PASS), 'MALFORMED');
  });

  it('refuses weak passphrases when sealing, counting characters not UTF-16 units', () => {
    for (const weak of ['', 'short', '1234567', '🔑🔑🔑🔑🔑🔑🔑']) {
      expectKeystoreError(() => sealKeystore(secrets, weak, FAST), 'WEAK_PASSPHRASE');
    }
    expectKeystoreError(() => sealKeystore(secrets, undefined as unknown as string, FAST), 'WEAK_PASSPHRASE');
    expect(plain(openKeystore(sealKeystore(secrets, '12345678', FAST), '12345678'))).toEqual(plain(secrets));
    expect(plain(openKeystore(sealKeystore(secrets, '🔑🔑🔑🔑🔑🔑🔑🔑', FAST), '🔑🔑🔑🔑🔑🔑🔑🔑'))).toEqual(
      plain(secrets),
    );
  });

  it('opens with the passphrase typed in another Unicode normalization form', () => {
    const composed = 'caf\u00e9 au lait, s\u00f8rens';
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    expect(plain(openKeystore(sealKeystore(secrets, composed, FAST), decomposed))).toEqual(plain(secrets));
  });

  it('refuses to seal secrets that could not serve the device', () => {
    const other = generateDeviceSecrets();
    const broken: DeviceSecrets[] = [
      { ...secrets, signingPrivateKeyPem: secrets.encryption.privateKeyPem }, // X25519, not P-256
      { ...secrets, signingPrivateKeyPem: 'not a key' },
      { ...secrets, encryption: { ...secrets.encryption, publicKeyPem: other.encryption.publicKeyPem } },
      { ...secrets, encryption: { ...secrets.encryption, algorithm: 'RSA-OAEP-256' } },
      { ...secrets, vaultKeys: { ...secrets.vaultKeys, indexKey: Buffer.alloc(16) } },
    ];
    for (const s of broken) {
      const err = expectKeystoreError(() => sealKeystore(s, PASS, FAST), 'MALFORMED');
      expect(err.message).not.toMatch(/PRIVATE KEY/);
    }
  });
});

describe('the recovery secret and unlockKeystore', () => {
  it('keeps an optional recovery secret sealed with the rest; files without one still open', () => {
    const recovery = Buffer.alloc(32, 7);
    const withSecret = withRecoverySecret(secrets, recovery);
    const opened = openKeystore(sealKeystore(withSecret, PASS, FAST), PASS);
    expect(opened.recoverySecret?.equals(recovery)).toBe(true);
    expect(plain(opened)).toEqual(plain(secrets));
    expect(openKeystore(sealKeystore(secrets, PASS, FAST), PASS).recoverySecret).toBeUndefined();
    expect(JSON.stringify(withSecret)).not.toContain(recovery.toString('base64'));
    expect(inspect(withSecret, { depth: 5 })).not.toContain('07070707');
  });

  it('refuses a recovery secret that is not 32 bytes', () => {
    expectKeystoreError(() => withRecoverySecret(secrets, Buffer.alloc(31)), 'MALFORMED');
    expectKeystoreError(() => sealKeystore({ ...secrets, recoverySecret: Buffer.alloc(33) }, PASS, FAST), 'MALFORMED');
  });

  it('reseals under the same passphrase without asking for it, with a fresh IV, until closed', () => {
    const file = sealKeystore(secrets, PASS, FAST);
    const session = unlockKeystore(file, PASS);
    expect(plain(session.secrets)).toEqual(plain(secrets));
    const recovery = Buffer.alloc(32, 9);
    const resealed = session.reseal(withRecoverySecret(session.secrets, recovery));
    expect(resealed.kdf).toEqual(file.kdf);
    expect(resealed.iv).not.toBe(file.iv);
    expect(openKeystore(resealed, PASS).recoverySecret?.equals(recovery)).toBe(true);
    expectKeystoreError(() => openKeystore(resealed, 'not the passphrase'), 'WRONG_PASSPHRASE');
    session.close();
    expectKeystoreError(() => session.reseal(session.secrets), 'MALFORMED');
  });

  it('fails like openKeystore for a wrong passphrase', () => {
    expectKeystoreError(
      () => unlockKeystore(sealKeystore(secrets, PASS, FAST), 'wrong passphrase'),
      'WRONG_PASSPHRASE',
    );
  });
});

describe('changePassphrase', () => {
  it('re-seals the same secrets under the new passphrase only, with a new salt', () => {
    const file = sealKeystore(secrets, PASS, FAST);
    const changed = changePassphrase(file, PASS, 'a brand new passphrase', FAST);
    expect(changed.kdf.salt).not.toBe(file.kdf.salt);
    expect(plain(openKeystore(changed, 'a brand new passphrase'))).toEqual(plain(secrets));
    expectKeystoreError(() => openKeystore(changed, PASS), 'WRONG_PASSPHRASE');
  });

  it('refuses a wrong old passphrase or a weak new one', () => {
    const file = sealKeystore(secrets, PASS, FAST);
    expectKeystoreError(
      () => changePassphrase(file, 'not the passphrase', 'a brand new passphrase', FAST),
      'WRONG_PASSPHRASE',
    );
    expectKeystoreError(() => changePassphrase(file, PASS, 'short', FAST), 'WEAK_PASSPHRASE');
  });

  it('raises an old file to the default cost', () => {
    const file = sealKeystore(secrets, PASS, FAST);
    const changed = changePassphrase(file, PASS, 'a brand new passphrase');
    expect(changed.kdf).toMatchObject({ N: DEFAULT_SCRYPT.N, r: DEFAULT_SCRYPT.r, p: DEFAULT_SCRYPT.p });
  });
});

describe('writeKeystore / readKeystore', () => {
  it('writes a 0600 file atomically, leaving no temporary file, and reads it back', () => {
    const path = join(dir, 'keystore.json');
    const file = sealKeystore(secrets, PASS, FAST);
    const umask = process.umask(0);
    try {
      writeKeystore(path, file);
    } finally {
      process.umask(umask);
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['keystore.json']);
    expect(readKeystore(path)).toEqual(file);
    expect(plain(openKeystore(readKeystore(path), PASS))).toEqual(plain(secrets));
  });

  it('replaces an existing keystore whole, and keeps it 0600', () => {
    const path = join(dir, 'keystore.json');
    writeFileSync(path, 'old contents', { mode: 0o644 });
    const changed = sealKeystore(secrets, 'another passphrase', FAST);
    writeKeystore(path, changed);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readKeystore(path)).toEqual(changed);
    expect(readdirSync(dir)).toEqual(['keystore.json']);
  });

  it('refuses to write something that is not a keystore, leaving the old file alone', () => {
    const path = join(dir, 'keystore.json');
    const file = sealKeystore(secrets, PASS, FAST);
    writeKeystore(path, file);
    expectKeystoreError(() => writeKeystore(path, { ...file, v: 2 } as unknown as KeystoreFile), 'MALFORMED');
    expect(readKeystore(path)).toEqual(file);
    expect(readdirSync(dir)).toEqual(['keystore.json']);
  });

  it('reads MALFORMED for non-JSON or a wrong shape, and passes file system errors through', () => {
    const path = join(dir, 'keystore.json');
    writeFileSync(path, '{ not json');
    expectKeystoreError(() => readKeystore(path), 'MALFORMED');
    writeFileSync(path, JSON.stringify({ v: 1 }));
    expectKeystoreError(() => readKeystore(path), 'MALFORMED');
    writeFileSync(path, Buffer.alloc(2 * 1024 * 1024, 0x20));
    expectKeystoreError(() => readKeystore(path), 'MALFORMED');
    expect(() => readKeystore(join(dir, 'missing.json'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('writes JSON a person can read: the header and base64 fields only', () => {
    const path = join(dir, 'keystore.json');
    writeKeystore(path, sealKeystore(secrets, PASS, FAST));
    const text = readFileSync(path, 'utf8');
    expect(JSON.parse(text)).toMatchObject({ v: 1, kdf: { name: 'scrypt', N: 1024, r: 8, p: 1 } });
    expect(text).not.toMatch(/PRIVATE KEY/);
  });
});
