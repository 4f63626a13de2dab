import { generateKeyPairSync, verify } from 'node:crypto';
import { lowS, newEcdsaSigner } from './ecdsa-signer';

const ORDER = {
  'P-256': 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  'P-384': 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
} as const;

/** r and s of a DER ECDSA signature (the test's own reading, independent of the code under test). */
function rs(der: Uint8Array): [bigint, bigint] {
  const b = Buffer.from(der);
  const rLen = b[3] as number;
  const r = BigInt(`0x${b.subarray(4, 4 + rLen).toString('hex')}`);
  const sLen = b[5 + rLen] as number;
  return [r, BigInt(`0x${b.subarray(6 + rLen, 6 + rLen + sLen).toString('hex')}`)];
}

function der(r: bigint, s: bigint): Buffer {
  const int = (v: bigint) => {
    let hex = v.toString(16).padStart(2, '0');
    if (hex.length % 2) hex = `0${hex}`;
    if (parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
    return Buffer.concat([Buffer.from([0x02, hex.length / 2]), Buffer.from(hex, 'hex')]);
  };
  const body = Buffer.concat([int(r), int(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

function keys(namedCurve: 'P-256' | 'P-384') {
  return generateKeyPairSync('ec', {
    namedCurve,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
}

describe('newEcdsaSigner', () => {
  it.each(['P-256', 'P-384'] as const)(
    '%s: SHA-256 ECDSA over the message, DER, always low S (as fabric-gateway signs)',
    async (curve) => {
      const { privateKey, publicKey } = keys(curve);
      const signer = newEcdsaSigner(privateKey);
      for (let i = 0; i < 300; i++) {
        const message = Buffer.from(`proposal bytes ${i}`);
        const signature = await signer(message);
        expect(verify('sha256', message, publicKey, signature)).toBe(true);
        // Fabric's peers refuse a signature whose S is above half the curve order.
        expect(rs(signature)[1] <= ORDER[curve] >> 1n).toBe(true);
      }
    },
  );

  it('refuses keys Fabric identities do not use', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(() => newEcdsaSigner(pem)).toThrow('unsupported Fabric signing key');
  });
});

describe('lowS', () => {
  it('replaces a high S by n - S and keeps a low one; both verify', async () => {
    const { privateKey, publicKey } = keys('P-256');
    const message = Buffer.from('x');
    const low = Buffer.from(await newEcdsaSigner(privateKey)(message));
    const [r, s] = rs(low);
    const high = der(r, ORDER['P-256'] - s);
    expect(verify('sha256', message, publicKey, high)).toBe(true);
    expect(Buffer.from(lowS(low, ORDER['P-256']))).toEqual(low);
    expect(Buffer.from(lowS(high, ORDER['P-256']))).toEqual(low);
  });
});
