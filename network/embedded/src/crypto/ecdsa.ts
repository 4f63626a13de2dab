import { createPublicKey, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { lowS } from '@phr/ledger-client';

/** Orders of the curves Fabric identities use, for the low-S rule. */
const CURVE_ORDER: Record<string, bigint> = {
  prime256v1: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  secp384r1: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
};

function orderOf(key: KeyObject): bigint {
  const curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  const order = curve ? CURVE_ORDER[curve] : undefined;
  if (order === undefined) throw new Error(`unsupported Fabric key: ${key.asymmetricKeyType} ${curve ?? ''}`);
  return order;
}

/** Fabric's signature: ECDSA over SHA-256 of the message, DER, low S (P-256 and P-384 alike). */
export function signFabric(key: KeyObject, message: Uint8Array): Buffer {
  return Buffer.from(lowS(sign('sha256', message, { key, dsaEncoding: 'der' }), orderOf(key)));
}

/**
 * Verifies as Fabric's BCCSP does: SHA-256 for every curve, and a high-S signature is refused
 * even though it is mathematically valid (`bccsp/sw/ecdsa.go verifyECDSA`).
 */
export function verifyFabric(
  publicKey: KeyObject | X509Certificate,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  const key = publicKey instanceof X509Certificate ? publicKey.publicKey : publicKey;
  try {
    const s = derS(signature);
    if (s === undefined || s > orderOf(key) >> 1n) return false;
    return verify('sha256', message, { key, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}

/** S of a DER ECDSA signature, or undefined when it is not one. */
function derS(der: Uint8Array): bigint | undefined {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return undefined;
  let at = 2;
  let s: bigint | undefined;
  for (let i = 0; i < 2; i++) {
    if (der[at] !== 0x02) return undefined;
    const length = der[at + 1] as number;
    const value = BigInt(`0x${Buffer.from(der.subarray(at + 2, at + 2 + length)).toString('hex') || '0'}`);
    at += 2 + length;
    s = value;
  }
  return at === der.length ? s : undefined;
}

export function publicKeyOf(pem: string): KeyObject {
  return createPublicKey(pem);
}
