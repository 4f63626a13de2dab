import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hash,
  hkdfSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  sign,
  verify,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { canonicalJson } from './canonical-json';
import type { EncryptionAlgorithm } from './ledger-model';

/**
 * Encryption to the patient with an authenticated sender: the gateway seals a delivery to the
 * patient's encryption key, and signs the whole envelope with its Fabric identity so the agent
 * knows which hospital sent it before it trusts a single decrypted byte.
 *
 * Key agreement: ephemeral X25519 ECDH, or a random secret wrapped with RSA-OAEP-SHA256 for RSA
 * recipients. Either secret goes through HKDF-SHA256 (salt = random salt || epk || recipient
 * public key, info = version, algorithm and a digest of the canonical AAD), so a key derived for
 * one recipient, algorithm or delivery is useless for any other. Content: AES-256-GCM with the
 * canonical AAD as associated data. Signature: ECDSA P-256/SHA-256 (DER) over the canonical JSON
 * of every other field.
 */

export type EnvelopeAlgorithm = 'X25519-HKDF-SHA256-A256GCM' | 'RSA-OAEP-256-A256GCM';

export interface EncryptionKeyPair {
  algorithm: EncryptionAlgorithm;
  /** PEM SPKI. */
  publicKeyPem: string;
  /** PEM PKCS#8. */
  privateKeyPem: string;
}

/** A recipient's public encryption key: PEM SPKI, or bare base64 SPKI DER (the ledger may hold either). */
export interface RecipientKey {
  algorithm: EncryptionAlgorithm;
  publicKey: string;
}

/** A Fabric identity: ECDSA P-256 certificate (PEM) and its PKCS#8 private key (PEM). */
export interface EnvelopeSigner {
  certificatePem: string;
  privateKeyPem: string;
}

export interface SealedEnvelope {
  v: 1;
  alg: EnvelopeAlgorithm;
  /** Bound as AES-GCM associated data (canonical JSON) and covered by the signature. */
  aad: Record<string, string>;
  /** X25519 only: the ephemeral public key, base64 SPKI DER. */
  epk?: string;
  /** RSA only: the RSA-OAEP-SHA256 wrapped secret, base64. */
  wrappedKey?: string;
  salt: string;
  iv: string;
  ciphertext: string;
  tag: string;
  /** PEM. */
  senderCertificate: string;
  /** base64 DER ECDSA-SHA256 over canonicalJson(envelope without `signature`). */
  signature: string;
}

export type EnvelopeErrorCode =
  'MALFORMED' | 'UNSUPPORTED' | 'SIGNATURE_INVALID' | 'AAD_MISMATCH' | 'DECRYPTION_FAILED';

export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
  constructor(
    readonly code: EnvelopeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const VERSION = 1;
const ALGORITHMS: Record<EncryptionAlgorithm, EnvelopeAlgorithm> = {
  X25519: 'X25519-HKDF-SHA256-A256GCM',
  'RSA-OAEP-256': 'RSA-OAEP-256-A256GCM',
};
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HKDF_SALT_BYTES = 32;
const X25519_SPKI_BYTES = 44;
const MIN_RSA_BITS = 2048;
const NEW_RSA_BITS = 3072;
/** AAD is a handful of identifiers; a bound keeps hostile envelopes from making us hash megabytes twice. */
const MAX_AAD_BYTES = 16 * 1024;
const HKDF_LABEL = 'phr-envelope/v1';

const ENVELOPE_FIELDS = new Set([
  'v',
  'alg',
  'aad',
  'epk',
  'wrappedKey',
  'salt',
  'iv',
  'ciphertext',
  'tag',
  'senderCertificate',
  'signature',
]);

export function generateEncryptionKeyPair(algorithm: EncryptionAlgorithm = 'X25519'): EncryptionKeyPair {
  if (algorithm === 'X25519') {
    const { publicKey, privateKey } = generateKeyPairSync('x25519', {
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    return { algorithm, publicKeyPem: publicKey, privateKeyPem: privateKey };
  }
  if (algorithm === 'RSA-OAEP-256') {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: NEW_RSA_BITS,
      publicExponent: 0x10001,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    return { algorithm, publicKeyPem: publicKey, privateKeyPem: privateKey };
  }
  throw new EnvelopeError('UNSUPPORTED', `unsupported encryption algorithm ${String(algorithm)}`);
}

export function seal(
  plaintext: Uint8Array,
  recipient: RecipientKey,
  aad: Record<string, string>,
  signer: EnvelopeSigner,
): SealedEnvelope {
  if (!(plaintext instanceof Uint8Array)) throw new EnvelopeError('MALFORMED', 'plaintext must be bytes');
  const aadText = aadCanonical(aad, 'aad');
  const { key: recipientKey, algorithm } = parseRecipientKey(recipient);
  const signingKey = parseSigner(signer);
  const alg = ALGORITHMS[algorithm];
  const recipientSpki = spkiDer(recipientKey);
  const salt = randomBytes(HKDF_SALT_BYTES);
  const iv = randomBytes(IV_BYTES);

  let secret: Buffer;
  let keyFields: { epk: string } | { wrappedKey: string };
  let epkDer: Buffer | undefined;
  try {
    if (algorithm === 'X25519') {
      const ephemeral = generateKeyPairSync('x25519');
      secret = x25519Secret(ephemeral.privateKey, recipientKey);
      epkDer = spkiDer(ephemeral.publicKey);
      keyFields = { epk: epkDer.toString('base64') };
    } else {
      secret = randomBytes(KEY_BYTES);
      const wrapped = publicEncrypt(
        { key: recipientKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        secret,
      );
      keyFields = { wrappedKey: wrapped.toString('base64') };
    }
  } catch (err) {
    throw new EnvelopeError('MALFORMED', 'recipient key cannot be used for key agreement', { cause: err });
  }

  const key = deriveKey(alg, secret, salt, epkDer, recipientSpki, aadText);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aadText, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);

  const unsigned: Omit<SealedEnvelope, 'signature'> = {
    v: VERSION,
    alg,
    aad: { ...aad },
    ...keyFields,
    salt: salt.toString('base64'),
    iv: iv.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    senderCertificate: signer.certificatePem,
  };
  const signature = sign('sha256', Buffer.from(canonicalJson(unsigned), 'utf8'), signingKey);
  return { ...unsigned, signature: signature.toString('base64') };
}

/**
 * Checks the signature against senderCertificate; returns the certificate PEM. Does not check who
 * issued it or its validity period (callers check the CA/directory; old envelopes outlive certs).
 */
export function verifyEnvelopeSignature(envelope: SealedEnvelope): string {
  return verifyEnvelope(envelope).senderCertificate;
}

/** An envelope whose form and signature `verifyEnvelope` checked; `openEnvelope` takes it as it is. */
export interface VerifiedEnvelope {
  readonly senderCertificate: string;
}

const verifiedEnvelopes = new WeakMap<VerifiedEnvelope, ParsedEnvelope>();

/**
 * Checks an envelope's form and signature once, for a caller that must judge the signer (its
 * issuer, the ledger's record of it) before opening: the result opens without a second check.
 */
export function verifyEnvelope(envelope: SealedEnvelope): VerifiedEnvelope {
  const env = parseEnvelope(envelope);
  checkSignature(env);
  const verified: VerifiedEnvelope = Object.freeze({ senderCertificate: env.senderCertificate });
  verifiedEnvelopes.set(verified, env);
  return verified;
}

/** Verifies the signature (unless `verifyEnvelope` did), checks aad equals expectedAad when given, decrypts. */
export function openEnvelope(
  envelope: SealedEnvelope | VerifiedEnvelope,
  recipientPrivateKeyPem: string,
  expectedAad?: Record<string, string>,
): Buffer {
  let env = verifiedEnvelopes.get(envelope);
  if (!env) {
    env = parseEnvelope(envelope);
    checkSignature(env);
  }
  if (expectedAad !== undefined && aadCanonical(expectedAad, 'expectedAad') !== env.aadText) {
    throw new EnvelopeError('AAD_MISMATCH', 'envelope was sealed for a different context');
  }

  let privateKey: KeyObject;
  try {
    if (typeof recipientPrivateKeyPem !== 'string') throw new TypeError('not a string');
    privateKey = createPrivateKey(recipientPrivateKeyPem);
  } catch (err) {
    throw new EnvelopeError('MALFORMED', 'recipient private key is not a readable PEM private key', { cause: err });
  }

  // Every failure from here on reads the same, so a sender cannot learn why a probe failed.
  const failed = () => new EnvelopeError('DECRYPTION_FAILED', 'envelope cannot be decrypted with this key');
  const recipientSpki = spkiDer(createPublicKey(privateKey));
  let secret: Buffer;
  let epkDer: Buffer | undefined;
  if (env.alg === 'X25519-HKDF-SHA256-A256GCM') {
    if (privateKey.asymmetricKeyType !== 'x25519') throw failed();
    const epk = parseSpki(env.epk as Buffer, 'envelope.epk');
    if (epk.asymmetricKeyType !== 'x25519') throw new EnvelopeError('MALFORMED', 'envelope.epk is not an X25519 key');
    epkDer = spkiDer(epk);
    try {
      secret = x25519Secret(privateKey, epk);
    } catch {
      throw failed();
    }
  } else {
    const wrapped = env.wrappedKey as Buffer;
    const bits = privateKey.asymmetricKeyDetails?.modulusLength;
    if (privateKey.asymmetricKeyType !== 'rsa' || bits === undefined || wrapped.length !== Math.ceil(bits / 8)) {
      throw failed();
    }
    try {
      secret = privateDecrypt(
        { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        wrapped,
      );
    } catch {
      throw failed();
    }
    if (secret.length !== KEY_BYTES) throw failed();
  }

  const key = deriveKey(env.alg, secret, env.salt, epkDer, recipientSpki, env.aadText);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, env.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(env.aadText, 'utf8'));
    decipher.setAuthTag(env.tag);
    return Buffer.concat([decipher.update(env.ciphertext), decipher.final()]);
  } catch {
    throw failed();
  }
}

// ---- internals ----

interface ParsedEnvelope {
  alg: EnvelopeAlgorithm;
  aad: Record<string, string>;
  /** The aad as canonical JSON: what the cipher authenticates. */
  aadText: string;
  epk?: Buffer;
  wrappedKey?: Buffer;
  salt: Buffer;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
  senderCertificate: string;
  signature: Buffer;
  /** Exactly the text the sender signed: the envelope minus `signature`, canonical. */
  signedText: string;
}

/** The envelope arrives as untrusted JSON: check every field's type, encoding and size before use. */
function parseEnvelope(input: unknown): ParsedEnvelope {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new EnvelopeError('MALFORMED', 'envelope is not a JSON object');
  }
  const raw = input as Record<string, unknown>;
  for (const field of Object.keys(raw)) {
    if (!ENVELOPE_FIELDS.has(field)) throw new EnvelopeError('MALFORMED', `envelope has unknown field ${field}`);
  }
  if (raw.v !== VERSION) {
    if (typeof raw.v === 'number') throw new EnvelopeError('UNSUPPORTED', `envelope version ${raw.v} is not supported`);
    throw new EnvelopeError('MALFORMED', 'envelope.v is missing');
  }
  if (raw.alg !== ALGORITHMS.X25519 && raw.alg !== ALGORITHMS['RSA-OAEP-256']) {
    if (typeof raw.alg === 'string')
      throw new EnvelopeError('UNSUPPORTED', `envelope algorithm ${raw.alg} is not supported`);
    throw new EnvelopeError('MALFORMED', 'envelope.alg is missing');
  }
  const alg = raw.alg as EnvelopeAlgorithm;

  const env: ParsedEnvelope = {
    alg,
    aad: raw.aad as Record<string, string>,
    aadText: aadCanonical(raw.aad, 'envelope.aad'),
    salt: base64Field(raw.salt, 'envelope.salt', HKDF_SALT_BYTES),
    iv: base64Field(raw.iv, 'envelope.iv', IV_BYTES),
    ciphertext: base64Field(raw.ciphertext, 'envelope.ciphertext'),
    tag: base64Field(raw.tag, 'envelope.tag', TAG_BYTES),
    senderCertificate: stringField(raw.senderCertificate, 'envelope.senderCertificate'),
    signature: base64Field(raw.signature, 'envelope.signature'),
    signedText: '',
  };
  if (alg === ALGORITHMS.X25519) {
    if (raw.wrappedKey !== undefined) throw new EnvelopeError('MALFORMED', `envelope.wrappedKey is not used by ${alg}`);
    env.epk = base64Field(raw.epk, 'envelope.epk', X25519_SPKI_BYTES);
  } else {
    if (raw.epk !== undefined) throw new EnvelopeError('MALFORMED', `envelope.epk is not used by ${alg}`);
    env.wrappedKey = base64Field(raw.wrappedKey, 'envelope.wrappedKey');
  }
  const unsigned = { ...raw };
  delete unsigned.signature;
  try {
    env.signedText = canonicalJson(unsigned);
  } catch (err) {
    // Only reachable for in-process objects (e.g. a field set to undefined); JSON cannot carry one.
    throw new EnvelopeError('MALFORMED', 'envelope cannot be serialized canonically', { cause: err });
  }
  return env;
}

function checkSignature(env: ParsedEnvelope): string {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(env.senderCertificate);
  } catch (err) {
    throw new EnvelopeError('MALFORMED', 'envelope.senderCertificate is not an X.509 certificate', { cause: err });
  }
  const publicKey = certificate.publicKey;
  if (!isP256(publicKey)) throw new EnvelopeError('UNSUPPORTED', 'sender certificate key is not ECDSA P-256');
  let valid: boolean;
  try {
    valid = verify('sha256', Buffer.from(env.signedText, 'utf8'), publicKey, env.signature);
  } catch (err) {
    // OpenSSL throws on some malformed DER instead of returning false; either way it is not a valid signature.
    throw new EnvelopeError('SIGNATURE_INVALID', 'envelope signature does not verify', { cause: err });
  }
  if (!valid) throw new EnvelopeError('SIGNATURE_INVALID', 'envelope signature does not verify');
  return env.senderCertificate;
}

function deriveKey(
  alg: EnvelopeAlgorithm,
  secret: Buffer,
  salt: Buffer,
  epkDer: Buffer | undefined,
  recipientSpki: Buffer,
  aadText: string,
): Buffer {
  // HKDF info is capped at 1024 bytes, so the AAD enters as its digest (still binding: SHA-256).
  const info = Buffer.concat([Buffer.from(`${HKDF_LABEL}\0${alg}\0`, 'utf8'), hash('sha256', aadText, 'buffer')]);
  const hkdfSalt = Buffer.concat(epkDer ? [salt, epkDer, recipientSpki] : [salt, recipientSpki]);
  return Buffer.from(hkdfSync('sha256', secret, hkdfSalt, info, KEY_BYTES));
}

function x25519Secret(privateKey: KeyObject, publicKey: KeyObject): Buffer {
  const secret = diffieHellman({ privateKey, publicKey });
  // A low-order peer key yields all zeros (RFC 7748 section 6.1); OpenSSL refuses it, check anyway.
  if (secret.every((b) => b === 0)) throw new Error('X25519 shared secret is all zeros');
  return secret;
}

function parseRecipientKey(recipient: RecipientKey): { key: KeyObject; algorithm: EncryptionAlgorithm } {
  if (typeof recipient !== 'object' || recipient === null) {
    throw new EnvelopeError('MALFORMED', 'recipient key is missing');
  }
  const { algorithm, publicKey } = recipient;
  if (algorithm !== 'X25519' && algorithm !== 'RSA-OAEP-256') {
    throw new EnvelopeError('UNSUPPORTED', `unsupported recipient algorithm ${String(algorithm)}`);
  }
  if (typeof publicKey !== 'string') throw new EnvelopeError('MALFORMED', 'recipient public key is not a string');
  let key: KeyObject;
  if (publicKey.trimStart().startsWith('-----BEGIN PUBLIC KEY-----')) {
    try {
      key = createPublicKey(publicKey);
    } catch (err) {
      throw new EnvelopeError('MALFORMED', 'recipient public key is not a readable PEM SPKI key', { cause: err });
    }
  } else {
    key = parseSpki(base64Field(publicKey.trim(), 'recipient public key'), 'recipient public key');
  }
  if (algorithm === 'X25519' && key.asymmetricKeyType !== 'x25519') {
    throw new EnvelopeError('MALFORMED', `recipient key is ${key.asymmetricKeyType ?? 'unknown'}, not X25519`);
  }
  if (algorithm === 'RSA-OAEP-256') {
    if (key.asymmetricKeyType !== 'rsa') {
      throw new EnvelopeError('MALFORMED', `recipient key is ${key.asymmetricKeyType ?? 'unknown'}, not RSA`);
    }
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS)
      throw new EnvelopeError('UNSUPPORTED', `RSA recipient key has ${bits} bits, fewer than ${MIN_RSA_BITS}`);
  }
  return { key, algorithm };
}

/**
 * Signers already checked, by object: a gateway seals every delivery with the same signer, and
 * importing its PEM key and certificate again and comparing them cost more than the signature.
 */
const checkedSigners = new WeakMap<EnvelopeSigner, { certificatePem: string; privateKeyPem: string; key: KeyObject }>();

function parseSigner(signer: EnvelopeSigner): KeyObject {
  if (typeof signer !== 'object' || signer === null) throw new EnvelopeError('MALFORMED', 'signer is missing');
  const known = checkedSigners.get(signer);
  if (known && known.certificatePem === signer.certificatePem && known.privateKeyPem === signer.privateKeyPem) {
    return known.key;
  }
  const key = checkSigner(signer);
  checkedSigners.set(signer, { certificatePem: signer.certificatePem, privateKeyPem: signer.privateKeyPem, key });
  return key;
}

function checkSigner(signer: EnvelopeSigner): KeyObject {
  let privateKey: KeyObject;
  let certificate: X509Certificate;
  try {
    privateKey = createPrivateKey(signer.privateKeyPem);
    certificate = new X509Certificate(signer.certificatePem);
  } catch (err) {
    throw new EnvelopeError('MALFORMED', 'signer needs a PEM certificate and a PEM private key', { cause: err });
  }
  if (!isP256(privateKey)) throw new EnvelopeError('UNSUPPORTED', 'signer key is not ECDSA P-256');
  // A mismatched pair would produce envelopes nobody can verify; fail at the sender instead.
  if (!spkiDer(createPublicKey(privateKey)).equals(spkiDer(certificate.publicKey))) {
    throw new EnvelopeError('MALFORMED', 'signer private key does not belong to its certificate');
  }
  return privateKey;
}

function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

function spkiDer(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

function parseSpki(der: Buffer, what: string): KeyObject {
  try {
    return createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch (err) {
    throw new EnvelopeError('MALFORMED', `${what} is not a DER SPKI public key`, { cause: err });
  }
}

/** Canonical AAD text; AAD must be a flat object of strings so both sides serialize it identically. */
function aadCanonical(aad: unknown, what: string): string {
  const proto: unknown = typeof aad === 'object' && aad !== null ? Object.getPrototypeOf(aad) : undefined;
  if (proto !== Object.prototype && proto !== null)
    throw new EnvelopeError('MALFORMED', `${what} must be an object of strings`);
  for (const [k, v] of Object.entries(aad as object)) {
    if (typeof v !== 'string') throw new EnvelopeError('MALFORMED', `${what}.${k} must be a string`);
  }
  const text = canonicalJson(aad);
  if (text.length > MAX_AAD_BYTES)
    throw new EnvelopeError('MALFORMED', `${what} is larger than ${MAX_AAD_BYTES} bytes`);
  return text;
}

function stringField(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new EnvelopeError('MALFORMED', `${what} must be a non-empty string`);
  }
  return value;
}

/**
 * Strict base64: Node's decoder skips characters it does not know, so decode, re-encode and
 * compare; anything but the canonical padded form is rejected.
 */
function base64Field(value: unknown, what: string, bytes?: number): Buffer {
  if (typeof value !== 'string') throw new EnvelopeError('MALFORMED', `${what} must be a base64 string`);
  const decoded = Buffer.from(value, 'base64');
  if (decoded.toString('base64') !== value) {
    throw new EnvelopeError('MALFORMED', `${what} is not canonical base64`);
  }
  if (bytes !== undefined && decoded.length !== bytes) {
    throw new EnvelopeError('MALFORMED', `${what} must be ${bytes} bytes, got ${decoded.length}`);
  }
  return decoded;
}
