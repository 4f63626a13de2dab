import type { KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1 from '@peculiar/asn1-x509';
import { signFabric } from '../crypto/ecdsa';
import { toPem } from '../crypto/pem';
import { attributeExtensionValue, ATTRIBUTE_EXTENSION_OID } from './attributes';
import type { IssuedCertificate } from './ca-database';
import {
  altNamesExtension,
  altNamesOfHosts,
  authorityKeyIdExtension,
  basicConstraintsExtension,
  buildName,
  encode,
  extendedKeyUsageExtension,
  extension,
  hexId,
  keyUsageExtension,
  parseCertificate,
  randomSerial,
  signCertificate,
  subjectKeyIdExtension,
  subjectKeyId,
  type AltNames,
  type SubjectFields,
} from './certificate-builder';
import type { ParsedCsr } from './csr';
import { CaErrorCode, FabricCaError } from './errors';

const HOUR = 3600_000;
const MINUTE = 60_000;

const KU = { digitalSignature: 1, keyEncipherment: 4, keyAgreement: 16, keyCertSign: 32, cRLSign: 64 } as const;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** A signing profile of fabric-ca-server's default configuration. */
export interface SigningProfile {
  keyUsage: number;
  extKeyUsage: string[];
  expiryHours: number;
}

/** `signing.default` and `signing.profiles.tls` of fabric-ca-server's stock configuration. */
export const SIGNING_PROFILES: Readonly<Record<string, SigningProfile>> = {
  '': { keyUsage: KU.digitalSignature, extKeyUsage: [], expiryHours: 8760 },
  tls: {
    keyUsage: KU.digitalSignature | KU.keyEncipherment | KU.keyAgreement,
    extKeyUsage: [SERVER_AUTH, CLIENT_AUTH],
    expiryHours: 8760,
  },
};

/** The names fabric-ca-server puts in its own CSRs (`csr.names` of its default configuration). */
export const DEFAULT_CA_NAMES: SubjectFields = {
  C: ['US'],
  ST: ['North Carolina'],
  O: ['Hyperledger'],
  OU: ['Fabric'],
};

/** fabric-ca-server's `ca.expiry` default: 131400 h, 15 years. */
export const CA_EXPIRY_HOURS = 131400;

/** fabric-ca-server's `crl.expiry` default: a CRL's nextUpdate is 24 h after its thisUpdate. */
export const CRL_EXPIRY_HOURS = 24;

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

/** One entry of a CRL: the certificate's serial (Fabric CA's index form, hex) and when it was revoked. */
export interface CrlEntry {
  serial: string;
  revokedAt: Date;
}

/** The minimal two's-complement DER INTEGER contents of a non-negative hex serial. */
function serialBytes(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]*$/.test(hex)) throw new Error(`not a hex serial: ${hex}`);
  let digits = hex.replace(/^0+/, '');
  if (digits.length % 2 === 1) digits = `0${digits}`;
  const bytes = Buffer.from(digits, 'hex');
  if (bytes.length === 0) return new Uint8Array([0]);
  return (bytes[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
}

export interface IssueRequest {
  csr: ParsedCsr;
  enrollmentId: string;
  /** The identity's type: the certificate's first OU. */
  type: string;
  /** Dotted affiliation; each element becomes a further OU. */
  affiliation: string;
  /** Signing profile: "" (enrollment certificate) or "tls". */
  profile: string;
  /** SANs of the request (`hosts`), replacing the CSR's when given, even empty. */
  hosts?: readonly string[];
  /** Attributes for Fabric's attribute extension; none when undefined. */
  attributes?: ReadonlyMap<string, string>;
}

/** Go's `time.Round(time.Minute)`: to the nearest minute, halves up. */
function roundToMinute(date: Date): number {
  return Math.floor((date.getTime() + MINUTE / 2) / MINUTE) * MINUTE;
}

/**
 * Signs certificates with the CA's key as fabric-ca-server's cfssl signer does for enrollments:
 * subject from the CSR with OU = type (+ affiliation), validity from the CA's notBefore to
 * now + profile expiry (never past the CA's notAfter), the profile's key usages, SKI/AKI, SANs and
 * the attribute extension.
 */
export class Issuer {
  readonly caCertificatePem: string;
  private readonly ca: asn1.Certificate;
  private readonly caKeyId: Buffer;
  readonly caNotBefore: Date;
  readonly caNotAfter: Date;

  constructor(
    caCertificatePem: string,
    private readonly caKey: KeyObject,
  ) {
    this.caCertificatePem = caCertificatePem;
    this.ca = parseCertificate(caCertificatePem);
    this.caKeyId = subjectKeyId(this.ca.tbsCertificate.subjectPublicKeyInfo);
    this.caNotBefore = this.ca.tbsCertificate.validity.notBefore.getTime();
    this.caNotAfter = this.ca.tbsCertificate.validity.notAfter.getTime();
  }

  /** The CA certificate's own key id: the AKI of everything it issues. */
  get authorityKeyId(): string {
    return hexId(this.caKeyId);
  }

  /** Whether the CA certificate has the `cRLSign` key usage Fabric CA requires of a CRL issuer. */
  get canSignCrl(): boolean {
    const usage = this.ca.tbsCertificate.extensions?.find((e) => e.extnID === asn1.id_ce_keyUsage);
    if (!usage) return false;
    return (AsnConvert.parse(usage.extnValue.buffer, asn1.KeyUsage).toNumber() & KU.cRLSign) !== 0;
  }

  /**
   * An X.509 v2 CRL of `entries`, as fabric-ca-server's `gencrl` makes it (Go's
   * `Certificate.CreateCRL`): issuer = the CA's subject, thisUpdate now, nextUpdate now +
   * `expiryHours`, each entry's serial and revocation time, an Authority Key Identifier extension
   * holding the CA certificate's subject key id (how Fabric's MSP finds a CRL's issuer), signed
   * ECDSA-SHA256 with the CA's key. Returns the PEM (`X509 CRL`).
   */
  createCrl(entries: readonly CrlEntry[], now = new Date(), expiryHours = CRL_EXPIRY_HOURS): string {
    const signature = new asn1.AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 });
    const revoked = entries.map(
      (entry) =>
        new asn1.RevokedCertificate({
          userCertificate: new Uint8Array(serialBytes(entry.serial)).buffer,
          revocationDate: new asn1.Time(entry.revokedAt),
        }),
    );
    const tbs = new asn1.TBSCertList({
      version: asn1.Version.v2,
      signature,
      issuer: this.ca.tbsCertificate.subject,
      thisUpdate: new asn1.Time(now),
      nextUpdate: new asn1.Time(new Date(now.getTime() + expiryHours * HOUR)),
      ...(revoked.length > 0 ? { revokedCertificates: revoked } : {}),
      crlExtensions: [authorityKeyIdExtension(this.caSubjectKeyId)],
    });
    const tbsDer = Buffer.from(encode(tbs));
    const list = new asn1.CertificateList({
      tbsCertList: tbs,
      signatureAlgorithm: signature,
      signature: new Uint8Array(signFabric(this.caKey, tbsDer)).buffer,
    });
    return toPem(Buffer.from(encode(list)), 'X509 CRL');
  }

  /** The CA certificate's subject key identifier extension (what Go puts in a CRL's AKI), else its key id. */
  private get caSubjectKeyId(): Buffer {
    const ski = this.ca.tbsCertificate.extensions?.find((e) => e.extnID === asn1.id_ce_subjectKeyIdentifier);
    if (!ski) return this.caKeyId;
    return Buffer.from(AsnConvert.parse(ski.extnValue.buffer, asn1.SubjectKeyIdentifier).buffer);
  }

  issue(request: IssueRequest, now = new Date()): IssuedCertificate {
    const profile = SIGNING_PROFILES[request.profile];
    if (!profile) throw new FabricCaError(500, CaErrorCode.UNKNOWN, `Invalid profile: '${request.profile}'`);
    const { csr } = request;
    const subject: SubjectFields = {
      C: csr.subject.C,
      ST: csr.subject.ST,
      L: csr.subject.L,
      O: csr.subject.O,
      OU: [request.type, ...request.affiliation.split('.')].filter((ou) => ou !== ''),
      CN: csr.commonName,
      serialNumber: csr.subject.serialNumber,
    };
    const altNames = request.hosts ? altNamesOfHosts(request.hosts) : csr.altNames;
    const extra = request.attributes
      ? [extension(ATTRIBUTE_EXTENSION_OID, false, attributeExtensionValue(request.attributes))]
      : [];
    return this.sign(request.enrollmentId, subject, csr.publicKey, profile, altNames, extra, now);
  }

  /** The HTTPS server's own certificate (tls profile), as fabric-ca-server makes `tls-cert.pem`. */
  issueServerCertificate(
    publicKey: asn1.SubjectPublicKeyInfo,
    commonName: string,
    hosts: readonly string[],
    now = new Date(),
  ): IssuedCertificate {
    const profile = SIGNING_PROFILES.tls as SigningProfile;
    const subject = { ...DEFAULT_CA_NAMES, CN: commonName };
    return this.sign(commonName, subject, publicKey, profile, altNamesOfHosts(hosts), [], now);
  }

  private sign(
    enrollmentId: string,
    subject: SubjectFields,
    publicKey: asn1.SubjectPublicKeyInfo,
    profile: SigningProfile,
    altNames: AltNames,
    extra: asn1.Extension[],
    now: Date,
  ): IssuedCertificate {
    const notBefore = this.caNotBefore;
    const wanted = roundToMinute(now) + profile.expiryHours * HOUR;
    const notAfter = new Date(Math.min(wanted, this.caNotAfter.getTime()));
    const san = altNamesExtension(altNames);
    const extensions = [
      keyUsageExtension(profile.keyUsage),
      ...(profile.extKeyUsage.length > 0 ? [extendedKeyUsageExtension(profile.extKeyUsage)] : []),
      basicConstraintsExtension(false),
      subjectKeyIdExtension(subjectKeyId(publicKey)),
      authorityKeyIdExtension(this.caKeyId),
      ...(san ? [san] : []),
      ...extra,
    ];
    const serial = randomSerial();
    const { pem } = signCertificate(
      {
        serial,
        issuer: this.ca.tbsCertificate.subject,
        subject: buildName(subject),
        notBefore,
        notAfter,
        publicKey,
        extensions,
      },
      this.caKey,
    );
    return { serial: hexId(serial), aki: hexId(this.caKeyId), enrollmentId, pem, notBefore, notAfter };
  }
}

/**
 * A self-signed root as fabric-ca-server makes on first start: default names + CN, CA:TRUE with
 * path length 1, certificate and CRL signing, 15 years from five minutes ago, SANs from the hosts.
 */
export function createCaCertificate(
  publicKey: asn1.SubjectPublicKeyInfo,
  key: KeyObject,
  commonName: string,
  hosts: readonly string[],
  now = new Date(),
): string {
  const notBefore = new Date(roundToMinute(now) - 5 * MINUTE);
  const notAfter = new Date(notBefore.getTime() + CA_EXPIRY_HOURS * HOUR);
  const name = buildName({ ...DEFAULT_CA_NAMES, CN: commonName });
  const san = altNamesExtension(altNamesOfHosts(hosts));
  return signCertificate(
    {
      serial: randomSerial(),
      issuer: name,
      subject: name,
      notBefore,
      notAfter,
      publicKey,
      extensions: [
        keyUsageExtension(KU.keyCertSign | KU.cRLSign),
        basicConstraintsExtension(true, 1),
        subjectKeyIdExtension(subjectKeyId(publicKey)),
        ...(san ? [san] : []),
      ],
    },
    key,
  ).pem;
}
