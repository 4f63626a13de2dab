import { createHash } from 'node:crypto';
import { Certificate } from '@fidm/x509';

/** OID of the extension in which Fabric CA writes enrollment attributes (`{"attrs":{...}}`). */
export const FABRIC_ATTRIBUTE_OID = '1.2.3.4.5.6.7.8.1';

/**
 * Fabric's x509 identity id ("x509::<subject DN>::<issuer DN>"), built exactly as fabric-shim's
 * ClientIdentity builds it, so services outside the chaincode derive the same identity key.
 */
export function fabricX509Id(certificatePem: string): string {
  const cert = Certificate.fromPEM(Buffer.from(certificatePem));
  const dn = (name: Certificate['subject']) =>
    name.attributes.map((a) => `/${a.shortName}=${String(a.value).replace('/', '\\/')}`).join('');
  return `x509::${dn(cert.subject)}::${dn(cert.issuer)}`;
}

/**
 * Identity key: a hash of the MSP ID and Fabric's x509 ID (subject and issuer DN). Re-enrolling
 * with a new key keeps the subject, so the key survives signing-key rotation; hashing keeps
 * enrollment names (which may be a clinician's user name) off the ledger.
 */
export function identityKey(mspId: string, x509Id: string): string {
  return 'id' + createHash('sha256').update(`${mspId}\n${x509Id}`).digest('hex').slice(0, 40);
}

/** The attributes Fabric CA put in the certificate (empty when it has none). */
export function fabricAttributes(certificatePem: string): Record<string, string> {
  const cert = Certificate.fromPEM(Buffer.from(certificatePem));
  const ext = cert.extensions.find((e) => e.oid === FABRIC_ATTRIBUTE_OID);
  if (!ext) return {};
  try {
    const parsed = JSON.parse(ext.value.toString('utf8')) as { attrs?: Record<string, unknown> };
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed.attrs ?? {})) if (typeof v === 'string') out[k] = v;
    return out;
  } catch {
    return {};
  }
}
