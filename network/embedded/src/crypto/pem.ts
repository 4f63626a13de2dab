import { X509Certificate } from 'node:crypto';

/** PEM text of DER bytes, 64 characters a line, as Go's encoding/pem writes it. */
export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Every certificate in a PEM bundle, in order. */
export function splitPemCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/** The certificate re-encoded from its DER bytes: how a Fabric node serializes its own identity. */
export function canonicalCertificatePem(pem: string | Uint8Array): string {
  return toPem(new X509Certificate(pem).raw);
}
