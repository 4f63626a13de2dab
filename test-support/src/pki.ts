/** The test CA: Fabric-shaped certificates (enrollment id as CN, `phr.role` attributes) for identities and TLS. */
import { webcrypto } from 'node:crypto';
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { FABRIC_ATTRIBUTE_OID } from '@phr/common';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface Issued {
  certificatePem: string;
  privateKeyPem: string;
}

export interface IssueOptions {
  attrs?: Record<string, string>;
  hosts?: string[];
  notAfter?: Date;
}

export interface TestCa extends Issued {
  mspId: string;
  /** A new key pair and its certificate. */
  issue(name: string, options?: IssueOptions): Promise<Issued>;
  /** A certificate for a public key made elsewhere (a CSR's): the private key never comes here. */
  certify(name: string, publicKey: webcrypto.CryptoKey, options?: IssueOptions): Promise<string>;
}

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
}

async function pkcs8(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END PRIVATE KEY-----\n`;
}

/**
 * A CA shaped like a Fabric CA: ECDSA P-256, leaf certificates with the enrollment id as CN and
 * attributes (phr.role …) in Fabric's attribute extension, usable both as Fabric identities and
 * as TLS client or server certificates.
 */
export async function makeCa(mspId: string): Promise<TestCa> {
  const keys = await keyPair();
  const now = Date.now();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=ca.${mspId.toLowerCase()},O=${mspId}`,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 365 * 86400_000),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const ca: TestCa = {
    mspId,
    certificatePem: caCert.toString('pem'),
    privateKeyPem: await pkcs8(keys.privateKey),
    async issue(name, options = {}) {
      const leaf = await keyPair();
      const certificatePem = await ca.certify(name, leaf.publicKey, options);
      return { certificatePem, privateKeyPem: await pkcs8(leaf.privateKey) };
    },
    async certify(name, publicKey, options = {}) {
      const extensions: x509.Extension[] = [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ];
      if (options.attrs) {
        extensions.push(
          new x509.Extension(FABRIC_ATTRIBUTE_OID, false, Buffer.from(JSON.stringify({ attrs: options.attrs }))),
        );
      }
      if (options.hosts) {
        extensions.push(
          new x509.SubjectAlternativeNameExtension(
            options.hosts.map((h) =>
              /^\d+\.\d+\.\d+\.\d+$/.test(h) ? { type: 'ip', value: h } : { type: 'dns', value: h },
            ),
          ),
        );
      }
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: Math.floor(Math.random() * 1e12).toString(16),
        subject: `CN=${name},OU=client,O=${mspId}`,
        issuer: caCert.subject,
        notBefore: new Date(now - 3600_000),
        notAfter: options.notAfter ?? new Date(now + 30 * 86400_000),
        signingKey: keys.privateKey,
        publicKey,
        signingAlgorithm: ALG,
        extensions,
      });
      return cert.toString('pem');
    },
  };
  return ca;
}

/** The base64 body of a PEM public key (SPKI), as the ledger's patient records may hold it. */
export const spkiBase64 = (pem: string): string => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
