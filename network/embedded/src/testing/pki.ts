// Test certificates for the embedded network's tests: CAs, intermediates, NodeOU identities, CRLs.
import 'reflect-metadata';
import { createPublicKey, generateKeyPairSync, webcrypto, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import {
  altNamesExtension,
  altNamesOfHosts,
  authorityKeyIdExtension,
  basicConstraintsExtension,
  buildName,
  extension,
  keyUsageExtension,
  randomSerial,
  signCertificate,
  subjectKeyId,
  subjectKeyIdExtension,
} from '../ca/certificate-builder';
import { LocalIdentity } from '../node/local-identity';

const HOUR = 3600_000;
const KEY_CERT_SIGN = 32 | 64;
const DIGITAL_SIGNATURE = 1;

export type Curve = 'prime256v1' | 'secp384r1';

export function newKey(curve: Curve = 'prime256v1'): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: curve }).privateKey;
}

export function keyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function spki(key: KeyObject): SubjectPublicKeyInfo {
  return AsnConvert.parse(createPublicKey(key).export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
}

export interface CertificateOptions {
  cn: string;
  /** Subject OUs, in one RDN as Fabric CA writes the type and affiliation. */
  ous?: string[];
  notBefore?: Date;
  notAfter?: Date;
  /** DNS names or IP addresses for a TLS certificate. */
  hosts?: string[];
  curve?: Curve;
  /** Fabric's attribute extension (1.2.3.4.5.6.7.8.1). */
  attributes?: Record<string, string>;
}

export interface IssuedCertificate {
  certificatePem: string;
  key: KeyObject;
  /** Lower-case hex serial number. */
  serial: string;
}

/** A certificate authority with a P-256 key: a root, or an intermediate issued by another. */
export class TestCa {
  private constructor(
    readonly key: KeyObject,
    readonly certificatePem: string,
    private readonly cn: string,
  ) {}

  static root(cn = 'ca.test', validity: { notBefore?: Date; notAfter?: Date } = {}): TestCa {
    const key = newKey();
    const name = buildName({ O: ['PHR Test'], CN: cn });
    const notBefore = validity.notBefore ?? new Date(Date.now() - HOUR);
    const pem = signCertificate(
      {
        serial: randomSerial(),
        issuer: name,
        subject: name,
        notBefore,
        notAfter: validity.notAfter ?? new Date(notBefore.getTime() + 24 * HOUR),
        publicKey: spki(key),
        extensions: [
          keyUsageExtension(KEY_CERT_SIGN),
          basicConstraintsExtension(true, 1),
          subjectKeyIdExtension(subjectKeyId(spki(key))),
        ],
      },
      key,
    ).pem;
    return new TestCa(key, pem, cn);
  }

  /** A CA certificate issued by this CA. */
  intermediate(cn: string): TestCa {
    const key = newKey();
    const pem = this.sign({ cn }, key, true);
    return new TestCa(key, pem, cn);
  }

  issue(options: CertificateOptions): IssuedCertificate {
    const key = newKey(options.curve);
    const serial = randomSerial();
    return { certificatePem: this.sign(options, key, false, serial), key, serial: serial.toString('hex') };
  }

  /** A signing identity of `mspId` whose certificate carries `ous` (e.g. the NodeOU 'peer'). */
  identity(mspId: string, ous: string | string[], options: Partial<CertificateOptions> = {}): LocalIdentity {
    const list = typeof ous === 'string' ? [ous] : ous;
    const issued = this.issue({
      cn: `${list[0] ?? 'none'}-${Math.random().toString(36).slice(2, 8)}`,
      ous: list,
      ...options,
    });
    return new LocalIdentity(mspId, issued.certificatePem, keyPem(issued.key));
  }

  private sign(options: CertificateOptions, key: KeyObject, isCa: boolean, serial = randomSerial()): string {
    const notBefore = options.notBefore ?? new Date(Date.now() - HOUR);
    const san = options.hosts ? altNamesExtension(altNamesOfHosts(options.hosts)) : undefined;
    const attrs = options.attributes
      ? [extension('1.2.3.4.5.6.7.8.1', false, Buffer.from(JSON.stringify({ attrs: options.attributes })))]
      : [];
    return signCertificate(
      {
        serial,
        issuer: buildName({ O: ['PHR Test'], CN: this.cn }),
        subject: buildName({ O: ['PHR Test'], OU: options.ous ?? [], CN: options.cn }),
        notBefore,
        notAfter: options.notAfter ?? new Date(notBefore.getTime() + 12 * HOUR),
        publicKey: spki(key),
        extensions: [
          keyUsageExtension(isCa ? KEY_CERT_SIGN : DIGITAL_SIGNATURE),
          basicConstraintsExtension(isCa, isCa ? 0 : undefined),
          subjectKeyIdExtension(subjectKeyId(spki(key))),
          authorityKeyIdExtension(subjectKeyId(spki(this.key))),
          ...(san ? [san] : []),
          ...attrs,
        ],
      },
      this.key,
    ).pem;
  }

  /** A DER CRL signed by this CA listing the serial numbers (hex). */
  async crl(serials: string[]): Promise<Buffer> {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const signingKey = await webcrypto.subtle.importKey(
      'pkcs8',
      this.key.export({ type: 'pkcs8', format: 'der' }),
      alg,
      false,
      ['sign'],
    );
    // x509's parameter types name the DOM's WebCrypto types, which Node's typings don't declare globally:
    // Node's own CryptoKey and webcrypto are what it uses at run time.
    const crl = await x509.X509CrlGenerator.create(
      {
        issuer: new x509.X509Certificate(this.certificatePem).subject,
        signingAlgorithm: alg,
        signingKey,
        thisUpdate: new Date(Date.now() - HOUR),
        nextUpdate: new Date(Date.now() + HOUR),
        entries: serials.map((serialNumber) => ({ serialNumber, revocationDate: new Date(Date.now() - HOUR) })),
      },
      webcrypto,
    );
    return Buffer.from(crl.rawData);
  }
}
