import { X509Certificate, type KeyObject } from 'node:crypto';
import { signFabric, verifyFabric } from '../crypto/ecdsa';
import { CaErrorCode, FabricCaError } from './errors';

/**
 * The string Fabric CA's token signs (`fabric-ca/util/util.go`): the method, the request URI
 * (path and query, as received) in base64, the raw body in base64 ("" when there is none) and the
 * base64 of the certificate PEM, joined with dots.
 */
export function tokenSigningString(method: string, uri: string, body: Uint8Array, b64Certificate: string): string {
  return `${method}.${Buffer.from(uri).toString('base64')}.${Buffer.from(body).toString('base64')}.${b64Certificate}`;
}

/** `Authorization: <b64(cert PEM)>.<b64(DER ECDSA signature, low S)>` as the npm and Go clients make it. */
export function createAuthToken(
  certificatePem: string,
  key: KeyObject,
  method: string,
  uri: string,
  body: Uint8Array = new Uint8Array(),
): string {
  const b64Certificate = Buffer.from(certificatePem).toString('base64');
  const signature = signFabric(key, Buffer.from(tokenSigningString(method, uri, body, b64Certificate)));
  return `${b64Certificate}.${signature.toString('base64')}`;
}

function strictBase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  return Buffer.from(text, 'base64');
}

function invalid(message: string, cause?: unknown): FabricCaError {
  return FabricCaError.authentication(
    CaErrorCode.INVALID_TOKEN,
    `Invalid token in authorization header: ${message}`,
    cause,
  );
}

/**
 * Checks a token's signature over this request exactly as fabric-ca-server does and returns the
 * signer's certificate. Whether the certificate is one this CA issued is the caller's next check.
 */
export function verifyAuthToken(header: string, method: string, uri: string, body: Uint8Array): X509Certificate {
  const parts = header.split('.');
  if (parts.length !== 2) throw invalid("Invalid token format; expecting 2 parts separated by '.'");
  const [b64Certificate = '', b64Signature = ''] = parts;
  const certificatePem = strictBase64(b64Certificate);
  const signature = strictBase64(b64Signature);
  if (!certificatePem || !signature) throw invalid('Invalid base64 encoding');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificatePem);
  } catch (err) {
    throw invalid('Error in parsing x509 certificate', err);
  }
  const signed = Buffer.from(tokenSigningString(method, uri, body, b64Certificate));
  if (!verifyFabric(certificate, signed, signature)) throw invalid('Token signature validation failed');
  return certificate;
}
