import {
  createHash,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { canonicalJson } from './canonical-json';

/**
 * The recovery secret (issue 15): 32 random bytes made on the device, independent of the device
 * keys and of the passphrase, from which the backup key and the registry's recovery signing key
 * are derived. Whoever holds it (the patient's printed recovery code, or T guardians' shares) can
 * read the backups and move the pseudonym to a new device; nobody else can.
 */
export const RECOVERY_SECRET_BYTES = 32;

/** Prefix word of a printed recovery secret. */
export const RECOVERY_CODE_PREFIX = 'PHRR';
/** Prefix word of a printed Shamir share (a paper guardian). */
export const RECOVERY_SHARE_PREFIX = 'PHRS';

/** Domain separation of the rotation payload: no other signed PHR Ledger message can be mistaken for it. */
export const ROTATE_KEYS_PURPOSE = 'phr-ledger/rotate-keys/v1';

const HKDF_SALT = 'phr-ledger recovery v1';
/** RFC 8410 PKCS#8 wrapping of a 32-byte Ed25519 seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface RecoveryKeys {
  /** AES-256-GCM key for the patient's backups. */
  backupKey: Buffer;
  /** Ed25519 private key that authorizes `PatientRegistry.RotateKeys` for a new device. */
  signingKey: KeyObject;
  /** Its public key, Ed25519 SPKI DER in base64: what `SetRecoveryKey` puts on the ledger. */
  publicKey: string;
}

/** A recovery secret of the wrong size: a bug or a corrupted keystore, never user input. */
export class RecoverySecretError extends Error {
  override readonly name = 'RecoverySecretError';
  readonly code = 'RECOVERY_SECRET';
}

export function newRecoverySecret(): Buffer {
  return randomBytes(RECOVERY_SECRET_BYTES);
}

/**
 * The keys the secret stands for. Deterministic, so the same secret on any device (restored from
 * a recovery code or rebuilt from shares) gives the same backup key and the same public key the
 * ledger holds.
 *
 * @throws RecoverySecretError when `secret` is not 32 bytes.
 */
export function deriveRecoveryKeys(secret: Uint8Array): RecoveryKeys {
  if (secret.length !== RECOVERY_SECRET_BYTES) {
    throw new RecoverySecretError(`a recovery secret is ${RECOVERY_SECRET_BYTES} bytes, not ${secret.length}`);
  }
  const derive = (info: string): Buffer =>
    Buffer.from(hkdfSync('sha256', secret, Buffer.from(HKDF_SALT, 'utf8'), Buffer.from(info, 'utf8'), 32));
  const backupKey = derive('backup-key');
  const seed = derive('registry-signing-key');
  const signingKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  seed.fill(0);
  const publicKey = createPublicKey(signingKey).export({ type: 'spki', format: 'der' }).toString('base64');
  return { backupKey, signingKey, publicKey };
}

export interface RotationRequest {
  pseudonym: string;
  /** The new owner: the Fabric identity id of the new device's identity (the chaincode's caller id). */
  newOwner: string;
  encryptionPublicKey: string;
  encryptionAlgorithm: string;
  /**
   * The record's CURRENT keyVersion. The chaincode increments it on rotation, so a signature can
   * be used once: replaying it against the rotated record no longer verifies.
   */
  keyVersion: number;
}

/** The exact text the recovery key signs and the chaincode verifies. */
export function rotationPayload(p: RotationRequest): string {
  return canonicalJson({
    purpose: ROTATE_KEYS_PURPOSE,
    pseudonym: p.pseudonym,
    newOwner: p.newOwner,
    encryptionPublicKey: p.encryptionPublicKey,
    encryptionAlgorithm: p.encryptionAlgorithm,
    keyVersion: p.keyVersion,
  });
}

/** Base64 Ed25519 signature of `payload` (UTF-8). */
export function signRotation(payload: string, signingKey: KeyObject): string {
  return sign(null, Buffer.from(payload, 'utf8'), signingKey).toString('base64');
}

/**
 * Whether `publicKeyB64` (Ed25519 SPKI DER, base64) signed `payload`. Pure and deterministic, so
 * every endorsing peer reaches the same answer; anything malformed is `false`, never an exception.
 * Base64 must be canonical so one signature has one text.
 */
export function verifyRotation(payload: string, signatureB64: string, publicKeyB64: string): boolean {
  try {
    if (!isCanonicalBase64(signatureB64) || !isCanonicalBase64(publicKeyB64)) return false;
    const key = createPublicKey({ key: Buffer.from(publicKeyB64, 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ed25519') return false;
    const signature = Buffer.from(signatureB64, 'base64');
    if (signature.length !== 64) return false;
    return verify(null, Buffer.from(payload, 'utf8'), key, signature);
  } catch {
    return false;
  }
}

/** Whether `publicKeyB64` is an Ed25519 SPKI DER public key in canonical base64. */
export function isRecoveryPublicKey(publicKeyB64: unknown): publicKeyB64 is string {
  try {
    if (typeof publicKeyB64 !== 'string' || !isCanonicalBase64(publicKeyB64)) return false;
    const key = createPublicKey({ key: Buffer.from(publicKeyB64, 'base64'), format: 'der', type: 'spki' });
    return (
      key.asymmetricKeyType === 'ed25519' &&
      key.export({ type: 'spki', format: 'der' }).toString('base64') === publicKeyB64
    );
  } catch {
    return false;
  }
}

function isCanonicalBase64(text: unknown): text is string {
  return (
    typeof text === 'string' &&
    text.length > 0 &&
    /^[A-Za-z0-9+/]+={0,2}$/.test(text) &&
    Buffer.from(text, 'base64').toString('base64') === text
  );
}

// ---- printable codes ----

/** Why a typed code was refused: not a code of this kind at all, or a typing mistake. */
export type RecoveryCodeErrorCode = 'MALFORMED' | 'CHECKSUM';

export class RecoveryCodeError extends Error {
  override readonly name = 'RecoveryCodeError';
  constructor(
    readonly code: RecoveryCodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const GROUP = 4;
/** 20 bits: four characters; a random typing mistake passes it about once in a million. */
const CHECKSUM_CHARS = 4;

/**
 * `PREFIX-XXXX-XXXX-…-CCCC`: the bytes in Crockford base32, in groups of four, then a checksum
 * group (the first 20 bits of SHA-256 over the prefix and the bytes). The prefix names what the
 * code is, so a share typed where a recovery code is expected is refused, not misread.
 */
export function encodeRecoveryCode(bytes: Uint8Array, prefix: string): string {
  const word = checkPrefix(prefix);
  if (bytes.length === 0) throw new RecoveryCodeError('MALFORMED', 'nothing to encode');
  const data = toBase32(bytes);
  const groups: string[] = [];
  for (let i = 0; i < data.length; i += GROUP) groups.push(data.slice(i, i + GROUP));
  return [word, ...groups, checksum(word, bytes)].join('-');
}

/**
 * Reads a typed code back. Case, spaces and dashes do not matter; Crockford's look-alikes
 * (I and L for 1, O for 0) are read as the digits.
 *
 * @throws RecoveryCodeError MALFORMED when it is not a code with this prefix; CHECKSUM when it is
 *   one but a character is wrong.
 */
export function decodeRecoveryCode(text: string, prefix: string): Buffer {
  const word = checkPrefix(prefix);
  if (typeof text !== 'string') throw new RecoveryCodeError('MALFORMED', 'a code is text');
  const flat = text.toUpperCase().replace(/[\s-]+/g, '');
  if (!flat.startsWith(word)) {
    throw new RecoveryCodeError('MALFORMED', `a code of this kind starts with ${word}`);
  }
  const body = [...flat.slice(word.length)].map((c) => (c === 'I' || c === 'L' ? '1' : c === 'O' ? '0' : c)).join('');
  const bad = [...body].find((c) => !CROCKFORD.includes(c));
  if (bad !== undefined) throw new RecoveryCodeError('MALFORMED', `'${bad}' is not a character of a code`);
  const data = body.slice(0, body.length - CHECKSUM_CHARS);
  const sum = body.slice(body.length - CHECKSUM_CHARS);
  const bytes = data.length > 0 ? fromBase32(data) : undefined;
  if (bytes === undefined) throw new RecoveryCodeError('MALFORMED', 'the code has the wrong number of characters');
  if (checksum(word, bytes) !== sum) {
    throw new RecoveryCodeError('CHECKSUM', 'the code does not check out: a character is mistyped');
  }
  return bytes;
}

function checkPrefix(prefix: string): string {
  const word = prefix.toUpperCase();
  if (!/^[A-Z]+$/.test(word)) throw new RecoveryCodeError('MALFORMED', 'a code prefix is a word of letters');
  return word;
}

function checksum(word: string, bytes: Uint8Array): string {
  const h = createHash('sha256').update(word, 'utf8').update(bytes).digest();
  const bits = ((h[0]! << 12) | (h[1]! << 4) | (h[2]! >> 4)) >>> 0;
  let out = '';
  for (let i = CHECKSUM_CHARS - 1; i >= 0; i--) out += CROCKFORD[(bits >> (i * 5)) & 31];
  return out;
}

function toBase32(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let n = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    n += 8;
    while (n >= 5) {
      out += CROCKFORD[(acc >> (n - 5)) & 31];
      n -= 5;
    }
  }
  if (n > 0) out += CROCKFORD[(acc << (5 - n)) & 31];
  return out;
}

/** Undefined when the length cannot come from `toBase32` or the padding bits are not zero. */
function fromBase32(text: string): Buffer | undefined {
  const length = Math.floor((text.length * 5) / 8);
  if (length === 0 || Math.ceil((length * 8) / 5) !== text.length) return undefined;
  const out = Buffer.alloc(length);
  let acc = 0;
  let n = 0;
  let i = 0;
  for (const c of text) {
    acc = ((acc << 5) | CROCKFORD.indexOf(c)) & 0xffff;
    n += 5;
    if (n >= 8) {
      out[i++] = (acc >> (n - 8)) & 0xff;
      n -= 8;
    }
  }
  if ((acc & ((1 << n) - 1)) !== 0) return undefined;
  return out;
}
