import { generateKeyPairSync, sign, verify, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import { TestCa } from '../testing/pki';
import { publicKeyOf, signFabric, verifyFabric } from './ecdsa';

const ORDER = {
  prime256v1: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  secp384r1: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
} as const;

/** r and s of a DER signature, read with asn1js (independently of the code under test). */
function rs(der: Uint8Array): { r: bigint; s: bigint } {
  const parsed = asn1js.fromBER(Buffer.from(der));
  const seq = parsed.result as asn1js.Sequence;
  const [r, s] = seq.valueBlock.value as asn1js.Integer[];
  return { r: (r as asn1js.Integer).toBigInt(), s: (s as asn1js.Integer).toBigInt() };
}

function der(r: bigint, s: bigint): Buffer {
  return Buffer.from(
    new asn1js.Sequence({ value: [asn1js.Integer.fromBigInt(r), asn1js.Integer.fromBigInt(s)] }).toBER(false),
  );
}

describe.each(['prime256v1', 'secp384r1'] as const)('Fabric ECDSA on %s', (curve) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const order = ORDER[curve];
  const message = Buffer.from('the proposal bytes');

  it('signs SHA-256 of the message with a low S, which Fabric verifies', () => {
    for (let i = 0; i < 20; i++) {
      const signature = signFabric(privateKey, message);
      const { s } = rs(signature);
      expect(s <= order >> 1n).toBe(true);
      expect(verifyFabric(publicKey, message, signature)).toBe(true);
    }
  });

  it('refuses the high-S twin of a valid signature, and accepts the low-S one', () => {
    const low = signFabric(privateKey, message);
    const { r, s } = rs(low);
    const high = der(r, order - s);
    // Mathematically valid: plain ECDSA accepts both.
    expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, high)).toBe(true);
    expect(verifyFabric(publicKey, message, high)).toBe(false);
    expect(verifyFabric(publicKey, message, der(r, s))).toBe(true);
  });

  it('refuses another message, a truncated signature, trailing bytes and garbage', () => {
    const signature = signFabric(privateKey, message);
    expect(verifyFabric(publicKey, Buffer.from('other bytes'), signature)).toBe(false);
    expect(verifyFabric(publicKey, message, signature.subarray(0, signature.length - 1))).toBe(false);
    expect(verifyFabric(publicKey, message, Buffer.concat([signature, Buffer.from([0])]))).toBe(false);
    expect(verifyFabric(publicKey, message, Buffer.from('not a signature at all'))).toBe(false);
    expect(verifyFabric(publicKey, message, new Uint8Array(0))).toBe(false);
  });
});

describe('verifyFabric', () => {
  it('takes the key from a certificate, and a certificate of another key does not verify', () => {
    const ca = TestCa.root();
    const a = ca.issue({ cn: 'a', ous: ['client'] });
    const b = ca.issue({ cn: 'b', ous: ['client'] });
    const message = Buffer.from('x');
    const signature = signFabric(a.key, message);
    expect(verifyFabric(new X509Certificate(a.certificatePem), message, signature)).toBe(true);
    expect(verifyFabric(publicKeyOf(a.certificatePem), message, signature)).toBe(true);
    expect(verifyFabric(new X509Certificate(b.certificatePem), message, signature)).toBe(false);
  });

  it('refuses keys that are not Fabric identities', () => {
    const ed = generateKeyPairSync('ed25519');
    expect(() => signFabric(ed.privateKey, Buffer.from('x'))).toThrow();
    expect(verifyFabric(ed.publicKey, Buffer.from('x'), sign(null, Buffer.from('x'), ed.privateKey))).toBe(false);
  });
});
