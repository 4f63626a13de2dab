import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  scryptSync,
  type KeyObject,
} from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { inspect } from 'node:util';
import {
  canonicalJson,
  ENCRYPTION_ALGORITHMS,
  generateEncryptionKeyPair,
  type EncryptionAlgorithm,
  type EncryptionKeyPair,
} from '@phr/common';
import { z } from 'zod';
import type { VaultKeys } from '../vault/vault-types';

/**
 * The device's secrets, sealed under the patient's passphrase: the ECDSA P-256 key its Fabric
 * identity signs with, the key deliveries are encrypted to, the two vault keys and, once a backup
 * or a recovery setup made it, the patient's recovery secret.
 *
 * Sealing: scrypt(passphrase NFC-normalized, salt; N, r, p) → 32-byte key → AES-256-GCM with the
 * canonical JSON of the header `{v, kdf}` as associated data. The KDF parameters are in the file,
 * so later versions can raise them (re-seal on the next unlock or passphrase change) and still
 * open old files. A wrong passphrase and an altered file both fail the GCM tag and cannot be told
 * apart: both are WRONG_PASSPHRASE.
 *
 * Secrets stay in this process: the objects returned here serialize (JSON, util.inspect, hence
 * pino and console) as a placeholder, not as keys. JS strings cannot be wiped, so the PEMs live
 * until collected; the derived key and decrypted buffers are zeroed after use.
 */

export interface DeviceSecrets {
  /** PKCS#8 PEM, ECDSA P-256: the device's Fabric identity key. */
  signingPrivateKeyPem: string;
  /** The key deliveries are sealed to; its public half is registered on the ledger. */
  encryption: EncryptionKeyPair;
  vaultKeys: VaultKeys;
  /**
   * The patient's recovery secret (32 bytes), once a backup or a recovery setup made one. Not a
   * device key: it outlives the device (the patient keeps it as a recovery code) and a restore
   * brings it to the next device, so backups keep one key and one folder across devices.
   */
  recoverySecret?: Buffer;
}

/**
 * An unlocked keystore that can be sealed again without asking for the passphrase: the derived
 * key is kept (never the passphrase) until `close`, and each reseal uses a fresh IV.
 */
export interface KeystoreSession {
  readonly secrets: DeviceSecrets;
  /** The same passphrase-derived key and KDF header, a fresh IV, the given secrets. */
  reseal(secrets: DeviceSecrets): KeystoreFile;
  /** Zeroes the derived key; reseal throws after. */
  close(): void;
}

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

export interface KeystoreFile {
  v: 1;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; /** base64 */ salt: string };
  /** base64, 96 bits. */
  iv: string;
  /** base64. */
  ciphertext: string;
  /** base64, 128 bits. */
  tag: string;
}

export interface SealOptions {
  /** Defaults to DEFAULT_SCRYPT. Costs below it are refused unless `allowWeakKdf`. */
  kdf?: Partial<ScryptParams>;
  /** Tests only: lets `kdf.N` go below DEFAULT_SCRYPT.N (down to 2^10) to keep test suites fast. */
  allowWeakKdf?: boolean;
}

export type KeystoreErrorCode = 'WRONG_PASSPHRASE' | 'MALFORMED' | 'WEAK_PASSPHRASE';

export class KeystoreError extends Error {
  override readonly name = 'KeystoreError';
  constructor(
    readonly code: KeystoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** 2^17 × r 8 = 128 MiB and ~0.4 s per unlock on a laptop (OWASP's scrypt minimum is 2^17). */
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });
export const MIN_PASSPHRASE_LENGTH = 8;

const VERSION = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MIN_N = 2 ** 10;
/** What a file may ask of the KDF: bounds the memory and time a planted file can cost us. */
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024;
const MAX_R = 32;
const MAX_P = 16;
/** A keystore is a few KB (RSA-3072 is the largest key in it). */
const MAX_FILE_BYTES = 1024 * 1024;

const base64Bytes = (min: number, max: number) =>
  z
    .string()
    .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'not base64')
    .refine(
      (s) => {
        const n = Buffer.byteLength(s, 'base64');
        return n >= min && n <= max;
      },
      `must be ${min === max ? min : `${min} to ${max}`} bytes`,
    );

const fileSchema = z.strictObject({
  v: z.literal(VERSION),
  kdf: z.strictObject({
    name: z.literal('scrypt'),
    N: z.int(),
    r: z.int(),
    p: z.int(),
    salt: base64Bytes(SALT_BYTES, 64),
  }),
  iv: base64Bytes(IV_BYTES, IV_BYTES),
  ciphertext: base64Bytes(1, MAX_FILE_BYTES),
  tag: base64Bytes(TAG_BYTES, TAG_BYTES),
});

const sealedSecretsSchema = z.strictObject({
  signingPrivateKeyPem: z.string(),
  encryption: z.strictObject({
    algorithm: z.enum(ENCRYPTION_ALGORITHMS),
    publicKeyPem: z.string(),
    privateKeyPem: z.string(),
  }),
  vaultKeys: z.strictObject({
    dataKey: base64Bytes(KEY_BYTES, KEY_BYTES),
    indexKey: base64Bytes(KEY_BYTES, KEY_BYTES),
  }),
  recoverySecret: base64Bytes(KEY_BYTES, KEY_BYTES).optional(),
});

/** New keys for a new device: ECDSA P-256 signing, X25519 (or RSA-3072) encryption, two random vault keys. */
export function generateDeviceSecrets(algorithm: EncryptionAlgorithm = 'X25519'): DeviceSecrets {
  const { privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return guarded({
    signingPrivateKeyPem: privateKey,
    encryption: guarded(generateEncryptionKeyPair(algorithm)),
    vaultKeys: guarded({ dataKey: randomBytes(KEY_BYTES), indexKey: randomBytes(KEY_BYTES) }),
  });
}

/** Seals the secrets under the passphrase (at least MIN_PASSPHRASE_LENGTH characters). */
export function sealKeystore(secrets: DeviceSecrets, passphrase: string, options: SealOptions = {}): KeystoreFile {
  const secret = passphraseBytes(passphrase, true);
  const params = sealParams(options);
  const problem = secretsProblem(secrets);
  if (problem !== undefined) throw new KeystoreError('MALFORMED', `device secrets are not usable: ${problem}`);
  const header: Pick<KeystoreFile, 'v' | 'kdf'> = {
    v: VERSION,
    kdf: { name: 'scrypt', ...params, salt: randomBytes(SALT_BYTES).toString('base64') },
  };
  const key = deriveKey(secret, header.kdf);
  try {
    return sealWithKey(secrets, header, key);
  } finally {
    key.fill(0);
    secret.fill(0);
  }
}

/** Opens a keystore; WRONG_PASSPHRASE for a wrong passphrase or an altered file, MALFORMED for one that is not a keystore. */
export function openKeystore(file: KeystoreFile, passphrase: string): DeviceSecrets {
  const session = unlockKeystore(file, passphrase);
  session.close();
  return session.secrets;
}

/**
 * Opens a keystore and keeps what it takes to seal it again (the derived key, not the
 * passphrase): for an agent that adds a secret to its keystore while it runs (the recovery
 * secret). Errors as `openKeystore`.
 */
export function unlockKeystore(file: KeystoreFile, passphrase: string): KeystoreSession {
  const f = parseFile(file);
  if (typeof passphrase !== 'string') throw wrongPassphrase();
  const secret = passphraseBytes(passphrase, false);
  const key = deriveKey(secret, f.kdf);
  secret.fill(0);
  let secrets: DeviceSecrets;
  try {
    secrets = openWithKey(f, key);
  } catch (err) {
    key.fill(0);
    throw err;
  }
  const header: Pick<KeystoreFile, 'v' | 'kdf'> = { v: f.v, kdf: { ...f.kdf } };
  let open = true;
  return {
    secrets,
    reseal(next: DeviceSecrets): KeystoreFile {
      if (!open) throw new KeystoreError('MALFORMED', 'the keystore session is closed');
      const problem = secretsProblem(next);
      if (problem !== undefined) throw new KeystoreError('MALFORMED', `device secrets are not usable: ${problem}`);
      return sealWithKey(next, header, key);
    },
    close(): void {
      open = false;
      key.fill(0);
    },
  };
}

/** A copy of `secrets` with `recoverySecret` set, guarded like the rest. */
export function withRecoverySecret(secrets: DeviceSecrets, recoverySecret: Uint8Array): DeviceSecrets {
  if (!(recoverySecret instanceof Uint8Array) || recoverySecret.length !== KEY_BYTES) {
    throw new KeystoreError('MALFORMED', `the recovery secret must be ${KEY_BYTES} bytes`);
  }
  return guarded({ ...secrets, recoverySecret: Buffer.from(recoverySecret) });
}

/** Re-seals under a new passphrase, with a new salt and IV and the current (or given) KDF cost. */
export function changePassphrase(
  file: KeystoreFile,
  oldPassphrase: string,
  newPassphrase: string,
  options: SealOptions = {},
): KeystoreFile {
  // Refuse a weak new passphrase before spending a KDF run on the old one.
  passphraseBytes(newPassphrase, true).fill(0);
  return sealKeystore(openKeystore(file, oldPassphrase), newPassphrase, options);
}

/** Writes atomically (temporary file in the same folder, fsync, rename) with mode 0600. */
export function writeKeystore(path: string, file: KeystoreFile): void {
  const text = `${JSON.stringify(parseFile(file), null, 2)}\n`;
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    try {
      fchmodSync(fd, 0o600); // the mode given to open is reduced by the umask; make it exact
      writeFileSync(fd, text, 'utf8');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw err;
  }
  // Makes the rename itself durable; not every platform can open a folder.
  try {
    const dirFd = openSync(dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // best effort
  }
}

/** Reads and validates a keystore file (MALFORMED if it is not one; file system errors as they are). */
export function readKeystore(path: string): KeystoreFile {
  const fd = openSync(path, 'r');
  let text: string;
  try {
    if (fstatSync(fd).size > MAX_FILE_BYTES)
      throw new KeystoreError('MALFORMED', `${path} is too large for a keystore`);
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new KeystoreError('MALFORMED', `${path} is not JSON`, { cause: err });
  }
  return parseFile(json);
}

// ---- internals ----

function sealWithKey(secrets: DeviceSecrets, header: Pick<KeystoreFile, 'v' | 'kdf'>, key: Buffer): KeystoreFile {
  const plaintext = Buffer.from(
    canonicalJson({
      signingPrivateKeyPem: secrets.signingPrivateKeyPem,
      encryption: {
        algorithm: secrets.encryption.algorithm,
        publicKeyPem: secrets.encryption.publicKeyPem,
        privateKeyPem: secrets.encryption.privateKeyPem,
      },
      vaultKeys: {
        dataKey: secrets.vaultKeys.dataKey.toString('base64'),
        indexKey: secrets.vaultKeys.indexKey.toString('base64'),
      },
      ...(secrets.recoverySecret ? { recoverySecret: secrets.recoverySecret.toString('base64') } : {}),
    }),
    'utf8',
  );
  const iv = randomBytes(IV_BYTES);
  try {
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(headerAad(header));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      ...header,
      iv: iv.toString('base64'),
      ciphertext: ciphertext.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
    };
  } finally {
    plaintext.fill(0);
  }
}

function openWithKey(f: KeystoreFile, key: Buffer): DeviceSecrets {
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(f.iv, 'base64'), { authTagLength: TAG_BYTES });
    decipher.setAAD(headerAad({ v: f.v, kdf: f.kdf }));
    decipher.setAuthTag(Buffer.from(f.tag, 'base64'));
    plaintext = Buffer.concat([decipher.update(Buffer.from(f.ciphertext, 'base64')), decipher.final()]);
  } catch {
    throw wrongPassphrase();
  }
  let sealed: z.infer<typeof sealedSecretsSchema>;
  try {
    const parsed = sealedSecretsSchema.safeParse(JSON.parse(plaintext.toString('utf8')));
    if (!parsed.success) throw new KeystoreError('MALFORMED', 'the keystore opened but does not hold device secrets');
    sealed = parsed.data;
  } catch (err) {
    if (err instanceof KeystoreError) throw err;
    throw new KeystoreError('MALFORMED', 'the keystore opened but does not hold JSON');
  } finally {
    plaintext.fill(0);
  }
  const secrets: DeviceSecrets = guarded({
    signingPrivateKeyPem: sealed.signingPrivateKeyPem,
    encryption: guarded({ ...sealed.encryption }),
    vaultKeys: guarded({
      dataKey: Buffer.from(sealed.vaultKeys.dataKey, 'base64'),
      indexKey: Buffer.from(sealed.vaultKeys.indexKey, 'base64'),
    }),
    ...(sealed.recoverySecret !== undefined ? { recoverySecret: Buffer.from(sealed.recoverySecret, 'base64') } : {}),
  });
  const problem = secretsProblem(secrets);
  if (problem !== undefined) throw new KeystoreError('MALFORMED', `the keystore holds unusable secrets: ${problem}`);
  return secrets;
}

function wrongPassphrase(): KeystoreError {
  return new KeystoreError('WRONG_PASSPHRASE', 'wrong passphrase, or the keystore was altered');
}

/**
 * NFC first (RFC 8265, OpaqueString): the same passphrase typed on two keyboards may arrive
 * composed or decomposed. Length in code points, after normalization.
 */
function passphraseBytes(passphrase: string, enforcePolicy: boolean): Buffer {
  if (typeof passphrase !== 'string') {
    throw new KeystoreError('WEAK_PASSPHRASE', 'the passphrase must be a string');
  }
  const normalized = passphrase.normalize('NFC');
  if (enforcePolicy && [...normalized].length < MIN_PASSPHRASE_LENGTH) {
    throw new KeystoreError('WEAK_PASSPHRASE', `the passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`);
  }
  return Buffer.from(normalized, 'utf8');
}

function sealParams(options: SealOptions): ScryptParams {
  const params = { ...DEFAULT_SCRYPT, ...options.kdf };
  const problem = paramsProblem(params);
  if (problem !== undefined) throw new RangeError(`scrypt parameters: ${problem}`);
  if (params.r < DEFAULT_SCRYPT.r || params.p < DEFAULT_SCRYPT.p) {
    throw new RangeError(`scrypt parameters: r and p may not go below ${DEFAULT_SCRYPT.r} and ${DEFAULT_SCRYPT.p}`);
  }
  if (params.N < DEFAULT_SCRYPT.N && options.allowWeakKdf !== true) {
    throw new RangeError(`scrypt N below ${DEFAULT_SCRYPT.N} is for tests only (allowWeakKdf)`);
  }
  return params;
}

function paramsProblem({ N, r, p }: ScryptParams): string | undefined {
  if (!Number.isSafeInteger(N) || N < MIN_N || (N & (N - 1)) !== 0)
    return `N must be a power of two, at least ${MIN_N}`;
  if (!Number.isSafeInteger(r) || r < 1 || r > MAX_R) return `r must be 1 to ${MAX_R}`;
  if (!Number.isSafeInteger(p) || p < 1 || p > MAX_P) return `p must be 1 to ${MAX_P}`;
  if (scryptMemory({ N, r, p }) > MAX_SCRYPT_MEMORY) return 'N × r needs more than 1 GiB';
  return undefined;
}

/** What OpenSSL's scrypt allocates: 128·r·(N + 2) for V plus 128·r·p for B. */
function scryptMemory({ N, r, p }: ScryptParams): number {
  return 128 * r * (N + 2) + 128 * r * p;
}

function deriveKey(secret: Buffer, kdf: KeystoreFile['kdf']): Buffer {
  const { N, r, p } = kdf;
  return scryptSync(secret, Buffer.from(kdf.salt, 'base64'), KEY_BYTES, {
    N,
    r,
    p,
    maxmem: scryptMemory({ N, r, p }) + 1024 * 1024,
  });
}

function headerAad(header: Pick<KeystoreFile, 'v' | 'kdf'>): Buffer {
  const { name, N, r, p, salt } = header.kdf;
  return Buffer.from(canonicalJson({ v: header.v, kdf: { name, N, r, p, salt } }), 'utf8');
}

function parseFile(file: unknown): KeystoreFile {
  const parsed = fileSchema.safeParse(file);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KeystoreError(
      'MALFORMED',
      `not a keystore file: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const problem = paramsProblem(parsed.data.kdf);
  if (problem !== undefined) throw new KeystoreError('MALFORMED', `not a usable keystore: scrypt ${problem}`);
  return parsed.data;
}

/** Why the secrets cannot serve this device, or undefined. Never quotes key material. */
function secretsProblem(secrets: DeviceSecrets): string | undefined {
  if (typeof secrets !== 'object' || secrets === null) return 'not an object';
  let signing: KeyObject;
  try {
    signing = createPrivateKey(secrets.signingPrivateKeyPem);
  } catch {
    return 'the signing key is not a PEM private key';
  }
  if (signing.asymmetricKeyType !== 'ec' || signing.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    return 'the signing key is not an ECDSA P-256 key';
  }
  const encryption = encryptionProblem(secrets.encryption);
  if (encryption !== undefined) return encryption;
  const vaultKeys = secrets.vaultKeys;
  if (typeof vaultKeys !== 'object' || vaultKeys === null) return 'no vault keys';
  for (const name of ['dataKey', 'indexKey'] as const) {
    const key: unknown = vaultKeys[name];
    if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) return `vault ${name} must be ${KEY_BYTES} bytes`;
  }
  const recovery: unknown = secrets.recoverySecret;
  if (recovery !== undefined && (!Buffer.isBuffer(recovery) || recovery.length !== KEY_BYTES)) {
    return `the recovery secret must be ${KEY_BYTES} bytes`;
  }
  return undefined;
}

function encryptionProblem(encryption: EncryptionKeyPair | undefined): string | undefined {
  if (typeof encryption !== 'object' || encryption === null) return 'no encryption key pair';
  if (!(ENCRYPTION_ALGORITHMS as readonly string[]).includes(encryption.algorithm)) {
    return 'unknown encryption algorithm';
  }
  try {
    const privateKey = createPrivateKey(encryption.privateKeyPem);
    const expectedType = encryption.algorithm === 'X25519' ? 'x25519' : 'rsa';
    if (privateKey.asymmetricKeyType !== expectedType)
      return `the encryption key is not an ${encryption.algorithm} key`;
    const derived = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
    const declared = createPublicKey(encryption.publicKeyPem).export({ type: 'spki', format: 'der' });
    if (!derived.equals(declared)) return 'the encryption public key does not belong to its private key';
  } catch {
    return 'the encryption key pair is not readable PEM';
  }
  return undefined;
}

/** Makes JSON.stringify and util.inspect (so pino, console, jest output) print a placeholder, not keys. */
function guarded<T extends object>(value: T): T {
  const placeholder = () => '[device secret]';
  Object.defineProperty(value, 'toJSON', { value: placeholder, enumerable: false });
  Object.defineProperty(value, inspect.custom, { value: placeholder, enumerable: false });
  return value;
}
