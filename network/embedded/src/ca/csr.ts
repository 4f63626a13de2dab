import { createPublicKey, verify } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import * as asn1 from '@peculiar/asn1-x509';
import { readName, type AltNames, type SubjectFields } from './certificate-builder';
import { CaErrorCode, FabricCaError } from './errors';

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const HASH_OF_SIGNATURE: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

/** What the CA takes from a PKCS#10 request: the subject, the key, the SANs, whether it asks to be a CA. */
export interface ParsedCsr {
  subject: SubjectFields;
  /** The subject CN, "" when absent. */
  commonName: string;
  publicKey: asn1.SubjectPublicKeyInfo;
  altNames: AltNames;
  requestsCa: boolean;
}

function badCsr(message: string, cause?: unknown): FabricCaError {
  return FabricCaError.badRequest(CaErrorCode.BAD_CSR, message, cause);
}

/**
 * Decodes and checks a PEM certificate request: its own signature must verify (as cfssl checks),
 * and its key must be an EC key (what Fabric identities use).
 */
export function parseCsr(pem: string): ParsedCsr {
  const block = /-----BEGIN ((?:NEW )?CERTIFICATE REQUEST)-----([^-]+)-----END \1-----/.exec(pem);
  if (!block?.[2]) throw badCsr('CSR Decode failed');
  let csr: CertificationRequest;
  try {
    csr = AsnConvert.parse(Buffer.from(block[2].replace(/\s+/g, ''), 'base64'), CertificationRequest);
  } catch (err) {
    throw badCsr('Failed to parse the certificate request', err);
  }
  const info = csr.certificationRequestInfo;
  const publicKey = info.subjectPKInfo;
  if (publicKey.algorithm.algorithm !== EC_PUBLIC_KEY) throw badCsr('The CSR key must be an EC key');
  const hash = HASH_OF_SIGNATURE[csr.signatureAlgorithm.algorithm];
  if (!hash || !csr.certificationRequestInfoRaw) throw badCsr('Unsupported CSR signature algorithm');
  let valid: boolean;
  try {
    const key = createPublicKey({ key: Buffer.from(AsnConvert.serialize(publicKey)), format: 'der', type: 'spki' });
    valid = verify(
      hash,
      Buffer.from(csr.certificationRequestInfoRaw),
      { key, dsaEncoding: 'der' },
      Buffer.from(csr.signature),
    );
  } catch (err) {
    throw badCsr('Failed to verify the CSR signature', err);
  }
  if (!valid) throw badCsr('The CSR signature is invalid');

  const subject = readName(info.subject);
  const altNames: AltNames = { dns: [], emails: [], ips: [], uris: [] };
  let requestsCa = false;
  for (const attribute of info.attributes ?? []) {
    if (attribute.type !== EXTENSION_REQUEST) continue;
    for (const value of attribute.values) {
      for (const ext of AsnConvert.parse(value, asn1.Extensions)) {
        if (ext.extnID === asn1.id_ce_subjectAltName) {
          for (const name of AsnConvert.parse(ext.extnValue, asn1.SubjectAlternativeName)) {
            if (name.dNSName !== undefined) altNames.dns.push(name.dNSName);
            else if (name.rfc822Name !== undefined) altNames.emails.push(name.rfc822Name);
            else if (name.iPAddress !== undefined) altNames.ips.push(name.iPAddress);
            else if (name.uniformResourceIdentifier !== undefined) altNames.uris.push(name.uniformResourceIdentifier);
          }
        } else if (ext.extnID === asn1.id_ce_basicConstraints) {
          requestsCa = AsnConvert.parse(ext.extnValue, asn1.BasicConstraints).cA;
        }
      }
    }
  }
  return { subject, commonName: subject.CN ?? '', publicKey, altNames, requestsCa };
}
