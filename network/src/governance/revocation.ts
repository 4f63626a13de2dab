import 'reflect-metadata';
import { X509Crl } from '@peculiar/x509';

const parse = (crl: string | Uint8Array) => new X509Crl(typeof crl === 'string' ? crl : Buffer.from(crl));

/** Whether two CRLs (PEM or DER) come from the same CA (a newer CRL from a CA replaces its older one). */
export function crlIssuedBy(crl: string | Uint8Array, other: string | Uint8Array): boolean {
  try {
    return parse(crl).issuer === parse(other).issuer;
  } catch {
    return false;
  }
}
