import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as asn1 from '@peculiar/asn1-x509';
import { signFabric } from '../crypto/ecdsa';
import { toPem } from '../crypto/pem';

/** Attribute types of the subject names Fabric CA writes. */
export const NAME_OID = {
  C: '2.5.4.6',
  ST: '2.5.4.8',
  L: '2.5.4.7',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
  SERIAL_NUMBER: '2.5.4.5',
} as const;

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

/** The subject fields Go's `pkix.Name` keeps, in the order it encodes them. */
export interface SubjectFields {
  C?: string[];
  ST?: string[];
  L?: string[];
  O?: string[];
  OU?: string[];
  CN?: string;
  serialNumber?: string;
}

/** Subject alternative names by kind, in the order Go writes them. */
export interface AltNames {
  dns: string[];
  emails: string[];
  ips: string[];
  uris: string[];
}

export interface CertificateTemplate {
  serial: Buffer;
  issuer: asn1.Name;
  subject: asn1.Name;
  notBefore: Date;
  notAfter: Date;
  publicKey: asn1.SubjectPublicKeyInfo;
  extensions: asn1.Extension[];
}

/** PrintableString when every character allows it, else UTF8String: Go's encoding of name values. */
function directoryValue(value: string): asn1.AttributeValue {
  return /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value)
    ? new asn1.AttributeValue({ printableString: value })
    : new asn1.AttributeValue({ utf8String: value });
}

/** One RDN holding every value of a type (Go's multi-valued RDNs), its SET sorted as DER requires. */
function rdn(type: string, values: readonly string[]): asn1.RelativeDistinguishedName {
  const items = values.map((v) => new asn1.AttributeTypeAndValue({ type, value: directoryValue(v) }));
  const sorted = items
    .map((item) => ({ item, der: Buffer.from(AsnConvert.serialize(item)) }))
    .sort((a, b) => Buffer.compare(a.der, b.der))
    .map((x) => x.item);
  return new asn1.RelativeDistinguishedName(sorted);
}

/** A distinguished name encoded as Go encodes a `pkix.Name`: C, ST, L, O, OU, CN, serialNumber. */
export function buildName(fields: SubjectFields): asn1.Name {
  const rdns: asn1.RelativeDistinguishedName[] = [];
  const add = (type: string, values: readonly string[] | undefined) => {
    const present = (values ?? []).filter((v) => v !== '');
    if (present.length > 0) rdns.push(rdn(type, present));
  };
  add(NAME_OID.C, fields.C);
  add(NAME_OID.ST, fields.ST);
  add(NAME_OID.L, fields.L);
  add(NAME_OID.O, fields.O);
  add(NAME_OID.OU, fields.OU);
  add(NAME_OID.CN, fields.CN === undefined ? undefined : [fields.CN]);
  add(NAME_OID.SERIAL_NUMBER, fields.serialNumber === undefined ? undefined : [fields.serialNumber]);
  return new asn1.Name(rdns);
}

/** The values of each attribute type of a name, as Go's `pkix.Name.FillFromRDNSequence` reads them. */
export function readName(name: asn1.Name): SubjectFields {
  const fields: SubjectFields = {};
  const push = (key: 'C' | 'ST' | 'L' | 'O' | 'OU', value: string) => (fields[key] ??= []).push(value);
  for (const set of name) {
    for (const atv of set) {
      const value = atv.value.toString();
      switch (atv.type) {
        case NAME_OID.C:
          push('C', value);
          break;
        case NAME_OID.ST:
          push('ST', value);
          break;
        case NAME_OID.L:
          push('L', value);
          break;
        case NAME_OID.O:
          push('O', value);
          break;
        case NAME_OID.OU:
          push('OU', value);
          break;
        case NAME_OID.CN:
          fields.CN = value;
          break;
        case NAME_OID.SERIAL_NUMBER:
          fields.serialNumber = value;
          break;
      }
    }
  }
  return fields;
}

/**
 * Sorts hosts into SAN kinds as cfssl's `OverrideHosts` does: an IP address, else an e-mail
 * address, else a URI (a scheme or an absolute path), else a DNS name.
 */
export function altNamesOfHosts(hosts: readonly string[]): AltNames {
  const names: AltNames = { dns: [], emails: [], ips: [], uris: [] };
  for (const host of hosts) {
    if (isIP(host)) names.ips.push(host);
    else if (/^[^\s@<>]+@[^\s@<>]+$/.test(host)) names.emails.push(host);
    else if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(host) || host.startsWith('/')) names.uris.push(host);
    else names.dns.push(host);
  }
  return names;
}

export function isEmpty(names: AltNames): boolean {
  return names.dns.length + names.emails.length + names.ips.length + names.uris.length === 0;
}

/** An extension with its value's DER (or, for Fabric's attribute extension, raw bytes). */
export function extension(id: string, critical: boolean, value: ArrayBuffer | Uint8Array): asn1.Extension {
  return new asn1.Extension({ extnID: id, critical, extnValue: new OctetString(value) });
}

export function encode(value: unknown): ArrayBuffer {
  return AsnConvert.serialize(value);
}

export function keyUsageExtension(flags: number): asn1.Extension {
  return extension(asn1.id_ce_keyUsage, true, encode(new asn1.KeyUsage(flags)));
}

export function basicConstraintsExtension(isCa: boolean, pathLength?: number): asn1.Extension {
  const value = new asn1.BasicConstraints(isCa ? { cA: true, pathLenConstraint: pathLength } : {});
  return extension(asn1.id_ce_basicConstraints, true, encode(value));
}

export function extendedKeyUsageExtension(purposes: string[]): asn1.Extension {
  return extension(asn1.id_ce_extKeyUsage, false, encode(new asn1.ExtendedKeyUsage(purposes)));
}

export function subjectKeyIdExtension(ski: Buffer): asn1.Extension {
  return extension(asn1.id_ce_subjectKeyIdentifier, false, encode(new asn1.SubjectKeyIdentifier(ski)));
}

export function authorityKeyIdExtension(aki: Buffer): asn1.Extension {
  const value = new asn1.AuthorityKeyIdentifier({ keyIdentifier: new asn1.KeyIdentifier(aki) });
  return extension(asn1.id_ce_authorityKeyIdentifier, false, encode(value));
}

/** The SAN extension, or undefined when there are no names. */
export function altNamesExtension(names: AltNames): asn1.Extension | undefined {
  if (isEmpty(names)) return undefined;
  const general = [
    ...names.dns.map((dNSName) => new asn1.GeneralName({ dNSName })),
    ...names.emails.map((rfc822Name) => new asn1.GeneralName({ rfc822Name })),
    ...names.ips.map((iPAddress) => new asn1.GeneralName({ iPAddress })),
    ...names.uris.map((uniformResourceIdentifier) => new asn1.GeneralName({ uniformResourceIdentifier })),
  ];
  return extension(asn1.id_ce_subjectAltName, false, encode(new asn1.SubjectAlternativeName(general)));
}

/** The uncompressed EC point (the SPKI's bit string contents). */
export function publicKeyBytes(spki: asn1.SubjectPublicKeyInfo): Buffer {
  return Buffer.from(spki.subjectPublicKey);
}

/** The certificate's subject key identifier: SHA-1 of the public key bits (RFC 5280, method 1), as cfssl. */
export function subjectKeyId(spki: asn1.SubjectPublicKeyInfo): Buffer {
  return createHash('sha1').update(publicKeyBytes(spki)).digest();
}

/** BCCSP's key id: SHA-256 of the uncompressed point; names key files `<hex>_sk`. */
export function bccspSki(spki: asn1.SubjectPublicKeyInfo): Buffer {
  return createHash('sha256').update(publicKeyBytes(spki)).digest();
}

/** 20 random bytes, positive, no leading zero byte: cfssl's serial numbers. */
export function randomSerial(): Buffer {
  const serial = randomBytes(20);
  serial[0] = (serial[0] as number) & 0x7f || 0x01;
  return serial;
}

/** Fabric CA's index form of a serial or key id: lower-case hex without leading zeros. */
export function hexId(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').replace(/^0+/, '');
}

/** Builds the certificate and signs it with the issuer's P-256 key (SHA-256, low S, as BCCSP signs). */
export function signCertificate(template: CertificateTemplate, issuerKey: KeyObject): { der: Buffer; pem: string } {
  const signatureAlgorithm = new asn1.AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 });
  const tbs = new asn1.TBSCertificate({
    version: asn1.Version.v3,
    serialNumber: new Uint8Array(template.serial).buffer,
    signature: signatureAlgorithm,
    issuer: template.issuer,
    validity: new asn1.Validity({ notBefore: template.notBefore, notAfter: template.notAfter }),
    subject: template.subject,
    subjectPublicKeyInfo: template.publicKey,
    extensions: new asn1.Extensions(template.extensions),
  });
  const tbsDer = Buffer.from(encode(tbs));
  const signature = signFabric(issuerKey, tbsDer);
  const certificate = new asn1.Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm,
    signatureValue: new Uint8Array(signature).buffer,
  });
  const der = Buffer.from(encode(certificate));
  return { der, pem: toPem(der) };
}

/** The parsed structure of a DER or PEM certificate. */
export function parseCertificate(pemOrDer: string | Uint8Array): asn1.Certificate {
  return AsnConvert.parse(typeof pemOrDer === 'string' ? pemBody(pemOrDer, 'CERTIFICATE') : pemOrDer, asn1.Certificate);
}

/** The DER bytes of the first PEM block with this label (base64 padding and line breaks tolerated). */
export function pemBody(pem: string, label: string): Buffer {
  const match = new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`).exec(pem);
  if (!match?.[1]) throw new Error(`no ${label} PEM block`);
  return Buffer.from(match[1].replace(/\s+/g, ''), 'base64');
}
