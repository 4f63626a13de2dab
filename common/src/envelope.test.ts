import 'reflect-metadata';
import { createPrivateKey, generateKeyPairSync, KeyObject, randomBytes, sign, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { canonicalJson } from './canonical-json';
import {
  EnvelopeError,
  generateEncryptionKeyPair,
  openEnvelope,
  seal,
  verifyEnvelope,
  verifyEnvelopeSignature,
  type EncryptionKeyPair,
  type EnvelopeSigner,
  type SealedEnvelope,
} from './envelope';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** A real self-signed ECDSA certificate, as a Fabric CA-issued identity looks to this code. */
async function makeSigner(namedCurve: 'P-256' | 'P-384' = 'P-256', cn = 'gateway.hospital-a'): Promise<EnvelopeSigner> {
  const alg = { name: 'ECDSA', namedCurve, hash: namedCurve === 'P-256' ? 'SHA-256' : 'SHA-384' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: `CN=${cn}`,
    notBefore: new Date('2026-01-01'),
    notAfter: new Date('2030-01-01'),
    keys,
    signingAlgorithm: alg,
  });
  const privateKeyPem = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { certificatePem: cert.toString('pem'), privateKeyPem };
}

/** Re-signs an envelope the way an attacker holding some valid identity could, to reach the crypto layer. */
function resign(envelope: SealedEnvelope, signer: EnvelopeSigner): SealedEnvelope {
  const rest: Partial<SealedEnvelope> = { ...envelope, senderCertificate: signer.certificatePem };
  delete rest.signature;
  const signature = sign('sha256', Buffer.from(canonicalJson(rest)), createPrivateKey(signer.privateKeyPem));
  return { ...rest, signature: signature.toString('base64') } as SealedEnvelope;
}

/** base64 field with one bit flipped, still canonical base64 of the same length. */
function flipB64(value: string, byte = 0): string {
  const buf = Buffer.from(value, 'base64');
  const i = byte % buf.length;
  buf[i] = (buf[i] as number) ^ 0x01;
  return buf.toString('base64');
}

function expectEnvelopeError(fn: () => unknown, code: EnvelopeError['code']): EnvelopeError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(EnvelopeError);
  expect((thrown as EnvelopeError).name).toBe('EnvelopeError');
  expect((thrown as EnvelopeError).code).toBe(code);
  return thrown as EnvelopeError;
}

const bareBase64 = (pem: string) =>
  pem
    .replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '')
    .replace(/\s+/g, '')
    .trim();

const AAD = { deliveryId: 'dlv-7f3c', pseudonym: 'psn-91ab' };
const PLAINTEXT = Buffer.from(JSON.stringify({ resourceType: 'Bundle', note: 'ünïcödé ✓' }), 'utf8');

let signer: EnvelopeSigner;
let otherSigner: EnvelopeSigner;
let x25519: EncryptionKeyPair;
let otherX25519: EncryptionKeyPair;
let rsa: EncryptionKeyPair;
let otherRsa: EncryptionKeyPair;

beforeAll(async () => {
  [signer, otherSigner] = await Promise.all([makeSigner(), makeSigner('P-256', 'gateway.hospital-b')]);
  x25519 = generateEncryptionKeyPair();
  otherX25519 = generateEncryptionKeyPair('X25519');
  rsa = generateEncryptionKeyPair('RSA-OAEP-256');
  otherRsa = generateEncryptionKeyPair('RSA-OAEP-256');
}, 60_000);

const recipients = () =>
  [
    { name: 'X25519', keys: x25519, other: otherX25519, alg: 'X25519-HKDF-SHA256-A256GCM' },
    { name: 'RSA-OAEP-256', keys: rsa, other: otherRsa, alg: 'RSA-OAEP-256-A256GCM' },
  ] as const;

describe('generateEncryptionKeyPair', () => {
  it('makes PEM SPKI / PKCS#8 keys of the requested type (RSA 3072)', () => {
    expect(x25519.algorithm).toBe('X25519');
    expect(x25519.publicKeyPem).toContain('BEGIN PUBLIC KEY');
    expect(x25519.privateKeyPem).toContain('BEGIN PRIVATE KEY');
    expect(createPrivateKey(x25519.privateKeyPem).asymmetricKeyType).toBe('x25519');
    const rsaKey = createPrivateKey(rsa.privateKeyPem);
    expect(rsaKey.asymmetricKeyType).toBe('rsa');
    expect(rsaKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
    expect(x25519.publicKeyPem).not.toBe(otherX25519.publicKeyPem);
  });
});

describe.each(['X25519', 'RSA-OAEP-256'] as const)('seal / open with %s', (name) => {
  const r = () => recipients().find((x) => x.name === name)!;

  it('round trips, also through JSON, and reports the sender', () => {
    const { keys, alg } = r();
    const env = seal(PLAINTEXT, { algorithm: keys.algorithm, publicKey: keys.publicKeyPem }, AAD, signer);
    expect(env).toMatchObject({ v: 1, alg, aad: AAD, senderCertificate: signer.certificatePem });
    expect(name === 'X25519' ? env.epk : env.wrappedKey).toEqual(expect.any(String));
    expect(name === 'X25519' ? env.wrappedKey : env.epk).toBeUndefined();
    expect(Buffer.from(env.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(env.tag, 'base64')).toHaveLength(16);
    expect(env.ciphertext).not.toContain(Buffer.from('Bundle').toString('base64'));

    const wire = JSON.parse(JSON.stringify(env)) as SealedEnvelope;
    expect(verifyEnvelopeSignature(wire)).toBe(signer.certificatePem);
    expect(openEnvelope(wire, keys.privateKeyPem, { pseudonym: AAD.pseudonym, deliveryId: AAD.deliveryId })).toEqual(
      PLAINTEXT,
    );
    expect(openEnvelope(wire, keys.privateKeyPem)).toEqual(PLAINTEXT);
  });

  it('accepts the recipient key as bare base64 SPKI DER', () => {
    const { keys } = r();
    const env = seal(PLAINTEXT, { algorithm: keys.algorithm, publicKey: bareBase64(keys.publicKeyPem) }, AAD, signer);
    expect(openEnvelope(env, keys.privateKeyPem, AAD)).toEqual(PLAINTEXT);
  });

  it('uses fresh randomness for every envelope', () => {
    const { keys } = r();
    const recipient = { algorithm: keys.algorithm, publicKey: keys.publicKeyPem };
    const a = seal(PLAINTEXT, recipient, AAD, signer);
    const b = seal(PLAINTEXT, recipient, AAD, signer);
    for (const f of ['iv', 'salt', 'ciphertext', 'tag', name === 'X25519' ? 'epk' : 'wrappedKey'] as const) {
      expect(a[f]).not.toBe(b[f]);
    }
  });

  it('round trips an empty payload', () => {
    const { keys } = r();
    const env = seal(new Uint8Array(0), { algorithm: keys.algorithm, publicKey: keys.publicKeyPem }, {}, signer);
    expect(openEnvelope(env, keys.privateKeyPem, {})).toHaveLength(0);
  });

  it('rejects every unsigned change with SIGNATURE_INVALID', () => {
    const { keys } = r();
    const env = seal(PLAINTEXT, { algorithm: keys.algorithm, publicKey: keys.publicKeyPem }, AAD, signer);
    const keyField = name === 'X25519' ? 'epk' : 'wrappedKey';
    const tampered: SealedEnvelope[] = [
      { ...env, ciphertext: flipB64(env.ciphertext, 3) },
      { ...env, tag: flipB64(env.tag) },
      { ...env, iv: flipB64(env.iv) },
      { ...env, salt: flipB64(env.salt) },
      { ...env, aad: { ...AAD, pseudonym: 'psn-other' } },
      { ...env, aad: { ...AAD, extra: 'x' } },
      { ...env, [keyField]: flipB64(env[keyField] as string, 40) },
      { ...env, senderCertificate: otherSigner.certificatePem },
      { ...env, signature: flipB64(env.signature, 20) },
      { ...env, signature: randomBytes(70).toString('base64') },
    ];
    for (const t of tampered) {
      expectEnvelopeError(() => verifyEnvelopeSignature(t), 'SIGNATURE_INVALID');
      expectEnvelopeError(() => openEnvelope(t, keys.privateKeyPem), 'SIGNATURE_INVALID');
    }
  });

  it('re-signed tampering (an attacker with its own identity) fails to decrypt', () => {
    const { keys } = r();
    const env = seal(PLAINTEXT, { algorithm: keys.algorithm, publicKey: keys.publicKeyPem }, AAD, signer);
    // Re-signing changes the reported sender, which the caller checks against the CA/directory.
    const resigned = resign(env, otherSigner);
    expect(verifyEnvelopeSignature(resigned)).toBe(otherSigner.certificatePem);
    expect(openEnvelope(resigned, keys.privateKeyPem)).toEqual(PLAINTEXT);

    const keyField = name === 'X25519' ? 'epk' : 'wrappedKey';
    const otherKey =
      name === 'X25519'
        ? generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64')
        : flipB64(env.wrappedKey as string, 100);
    const tampered: SealedEnvelope[] = [
      { ...env, ciphertext: flipB64(env.ciphertext, 3) },
      { ...env, tag: flipB64(env.tag, 15) },
      { ...env, iv: flipB64(env.iv, 11) },
      { ...env, salt: flipB64(env.salt, 31) },
      { ...env, aad: { ...AAD, pseudonym: 'psn-other' } },
      { ...env, aad: { deliveryId: AAD.deliveryId } },
      { ...env, [keyField]: otherKey },
    ];
    for (const t of tampered) {
      const signed = resign(t, otherSigner);
      expect(verifyEnvelopeSignature(signed)).toBe(otherSigner.certificatePem);
      expectEnvelopeError(() => openEnvelope(signed, keys.privateKeyPem), 'DECRYPTION_FAILED');
    }
  });

  it('opens what verifyEnvelope checked without checking it again, and treats a look-alike as an envelope', () => {
    const { keys } = r();
    const env = seal(PLAINTEXT, { algorithm: keys.algorithm, publicKey: keys.publicKeyPem }, AAD, signer);
    const verified = verifyEnvelope(JSON.parse(JSON.stringify(env)) as SealedEnvelope);
    expect(verified.senderCertificate).toBe(signer.certificatePem);
    expect(openEnvelope(verified, keys.privateKeyPem, AAD)).toEqual(PLAINTEXT);
    expectEnvelopeError(
      () => openEnvelope(verified, keys.privateKeyPem, { ...AAD, deliveryId: 'dlv-other' }),
      'AAD_MISMATCH',
    );
    expectEnvelopeError(
      () => openEnvelope({ senderCertificate: signer.certificatePem }, keys.privateKeyPem),
      'MALFORMED',
    );
    expectEnvelopeError(() => verifyEnvelope({ ...env, ciphertext: flipB64(env.ciphertext) }), 'SIGNATURE_INVALID');
  });

  it('fails with DECRYPTION_FAILED for the wrong recipient key', () => {
    const { keys, other } = r();
    const env = seal(PLAINTEXT, { algorithm: keys.algorithm, publicKey: keys.publicKeyPem }, AAD, signer);
    expectEnvelopeError(() => openEnvelope(env, other.privateKeyPem), 'DECRYPTION_FAILED');
    const otherType = name === 'X25519' ? rsa : x25519;
    expectEnvelopeError(() => openEnvelope(env, otherType.privateKeyPem), 'DECRYPTION_FAILED');
  });

  it('fails with AAD_MISMATCH when the context differs from the expected one', () => {
    const { keys } = r();
    const env = seal(PLAINTEXT, { algorithm: keys.algorithm, publicKey: keys.publicKeyPem }, AAD, signer);
    expectEnvelopeError(
      () => openEnvelope(env, keys.privateKeyPem, { ...AAD, deliveryId: 'dlv-other' }),
      'AAD_MISMATCH',
    );
    expectEnvelopeError(() => openEnvelope(env, keys.privateKeyPem, { deliveryId: AAD.deliveryId }), 'AAD_MISMATCH');
    expectEnvelopeError(() => openEnvelope(env, keys.privateKeyPem, { ...AAD, more: '' }), 'AAD_MISMATCH');
  });
});

describe('large payloads', () => {
  it('round trips 5 MB (X25519 and RSA)', () => {
    const payload = randomBytes(5 * 1024 * 1024);
    for (const keys of [x25519, rsa]) {
      const env = seal(payload, { algorithm: keys.algorithm, publicKey: keys.publicKeyPem }, AAD, signer);
      const wire = JSON.parse(JSON.stringify(env)) as SealedEnvelope;
      expect(openEnvelope(wire, keys.privateKeyPem, AAD).equals(payload)).toBe(true);
    }
  });
});

describe('untrusted envelope parsing', () => {
  let env: SealedEnvelope;
  beforeAll(() => {
    env = seal(PLAINTEXT, { algorithm: 'X25519', publicKey: x25519.publicKeyPem }, AAD, signer);
  });
  const open = (e: unknown) => () => openEnvelope(e as SealedEnvelope, x25519.privateKeyPem);
  const without = (field: keyof SealedEnvelope) => {
    const copy: Partial<SealedEnvelope> = { ...env };
    delete copy[field];
    return copy;
  };

  it('rejects non-objects, unknown and missing fields as MALFORMED', () => {
    for (const bad of [null, 'envelope', 42, [env]]) expectEnvelopeError(open(bad), 'MALFORMED');
    expectEnvelopeError(open({ ...env, extra: 'x' }), 'MALFORMED');
    for (const field of [
      'v',
      'alg',
      'aad',
      'epk',
      'salt',
      'iv',
      'ciphertext',
      'tag',
      'senderCertificate',
      'signature',
    ] as const) {
      expectEnvelopeError(open(without(field)), 'MALFORMED');
    }
    expectEnvelopeError(open({ ...env, wrappedKey: env.epk }), 'MALFORMED');
  });

  it('rejects unknown versions and algorithms as UNSUPPORTED', () => {
    expectEnvelopeError(open({ ...env, v: 2 }), 'UNSUPPORTED');
    expectEnvelopeError(open({ ...env, alg: 'ECDH-ES+A128KW' }), 'UNSUPPORTED');
  });

  it('rejects wrong types, sizes and non-canonical base64 as MALFORMED', () => {
    const cases: Record<string, unknown>[] = [
      { ...env, aad: { deliveryId: 7 } },
      { ...env, aad: ['x'] },
      { ...env, aad: 'deliveryId' },
      { ...env, iv: Buffer.alloc(16).toString('base64') },
      // A truncated tag would lower forgery resistance, and GCM would otherwise accept it.
      { ...env, tag: Buffer.from(env.tag, 'base64').subarray(0, 4).toString('base64') },
      { ...env, salt: env.salt.replace(/=+$/, '') },
      { ...env, ciphertext: ` ${env.ciphertext}` },
      { ...env, ciphertext: `${env.ciphertext.slice(0, 8)}*${env.ciphertext.slice(8)}` },
      // Key bytes are only parsed once the signature holds, so this one is re-signed.
      resign({ ...env, epk: Buffer.alloc(44).toString('base64') }, signer) as unknown as Record<string, unknown>,
      { ...env, senderCertificate: 'not a certificate' },
      // A certificate with one base64 line cut out: truncated DER.
      {
        ...env,
        senderCertificate: signer.certificatePem
          .split('\n')
          .filter((_, i) => i !== 2)
          .join('\n'),
      },
      { ...env, senderCertificate: 17 },
      { ...env, signature: 17 },
    ];
    cases.forEach((c) => expectEnvelopeError(open(c), 'MALFORMED'));
  });

  it('rejects a signature made with the right key but a non-P-256 certificate as UNSUPPORTED', async () => {
    const p384 = await makeSigner('P-384');
    expectEnvelopeError(open(resign(env, p384)), 'UNSUPPORTED');
  });

  it('rejects a low-order X25519 epk as DECRYPTION_FAILED', () => {
    // The all-zero u-coordinate is a small-order point: the shared secret would be all zeros.
    const der = Buffer.from(env.epk as string, 'base64');
    const zero = Buffer.concat([der.subarray(0, 12), Buffer.alloc(32)]).toString('base64');
    expectEnvelopeError(open(resign({ ...env, epk: zero }, signer)), 'DECRYPTION_FAILED');
  });

  it('rejects an unreadable recipient private key as MALFORMED', () => {
    expectEnvelopeError(() => openEnvelope(env, 'not a key'), 'MALFORMED');
  });
});

describe('seal input checks', () => {
  const recipient = () => ({ algorithm: 'X25519' as const, publicKey: x25519.publicKeyPem });

  it('rejects a recipient key of the wrong type or an unreadable one', () => {
    expectEnvelopeError(
      () => seal(PLAINTEXT, { algorithm: 'X25519', publicKey: rsa.publicKeyPem }, AAD, signer),
      'MALFORMED',
    );
    expectEnvelopeError(
      () => seal(PLAINTEXT, { algorithm: 'RSA-OAEP-256', publicKey: x25519.publicKeyPem }, AAD, signer),
      'MALFORMED',
    );
    expectEnvelopeError(
      () => seal(PLAINTEXT, { algorithm: 'X25519', publicKey: 'bm9wZQ==' }, AAD, signer),
      'MALFORMED',
    );
    expectEnvelopeError(() => seal(PLAINTEXT, { algorithm: 'X25519', publicKey: 'no!' }, AAD, signer), 'MALFORMED');
    expectEnvelopeError(
      () => seal(PLAINTEXT, { algorithm: 'ElGamal', publicKey: x25519.publicKeyPem } as never, AAD, signer),
      'UNSUPPORTED',
    );
  });

  it('rejects RSA recipient keys below 2048 bits', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expectEnvelopeError(
      () => seal(PLAINTEXT, { algorithm: 'RSA-OAEP-256', publicKey: pem }, AAD, signer),
      'UNSUPPORTED',
    );
  });

  it('rejects AAD that is not a flat object of strings', () => {
    expectEnvelopeError(() => seal(PLAINTEXT, recipient(), { n: 1 } as never, signer), 'MALFORMED');
    expectEnvelopeError(() => seal(PLAINTEXT, recipient(), { n: { m: 'x' } } as never, signer), 'MALFORMED');
    expectEnvelopeError(() => seal(PLAINTEXT, recipient(), null as never, signer), 'MALFORMED');
    expectEnvelopeError(() => seal(PLAINTEXT, recipient(), { big: 'x'.repeat(20_000) }, signer), 'MALFORMED');
  });

  it('rejects a signer whose key is not P-256 or does not match its certificate', async () => {
    const p384 = await makeSigner('P-384');
    expectEnvelopeError(() => seal(PLAINTEXT, recipient(), AAD, p384), 'UNSUPPORTED');
    const mismatched = { certificatePem: signer.certificatePem, privateKeyPem: otherSigner.privateKeyPem };
    expectEnvelopeError(() => seal(PLAINTEXT, recipient(), AAD, mismatched), 'MALFORMED');
    expectEnvelopeError(() => seal(PLAINTEXT, recipient(), AAD, { ...signer, certificatePem: 'x' }), 'MALFORMED');
  });

  it('rejects a plaintext that is not bytes', () => {
    expectEnvelopeError(() => seal('text' as never, recipient(), AAD, signer), 'MALFORMED');
  });
});
