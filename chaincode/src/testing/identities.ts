import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { FABRIC_ATTRIBUTE_OID } from '@phr/common';

type KeyPair = webcrypto.CryptoKeyPair;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface TestIdentity {
  mspId: string;
  certificatePem: string;
}

/** An identity with its key: for tests of what the identity signs itself (signed consents). */
export interface SigningTestIdentity extends TestIdentity {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const caKeys = new Map<string, Promise<TestCa>>();

/** A CA as Fabric CA runs one per organisation: self-signed, ECDSA P-256, CA:TRUE. */
export interface TestCa {
  keys: KeyPair;
  cert: x509.X509Certificate;
  certificatePem: string;
}

/**
 * A new CA named after `mspId`. Each call makes a new key, so a second call with the same MSP ID
 * is an impostor: same subject name as the organisation's real CA, another key.
 */
export async function makeCa(mspId: string): Promise<TestCa> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=ca.${mspId.toLowerCase()}`,
    notBefore: new Date('2026-01-01'),
    notAfter: new Date('2030-01-01'),
    keys,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  return { keys, cert, certificatePem: cert.toString('pem') };
}

/** The CA that issues every identity `makeIdentity` makes for `mspId` (one per MSP, for the whole run). */
function ca(mspId: string): Promise<TestCa> {
  let entry = caKeys.get(mspId);
  if (!entry) {
    entry = makeCa(mspId);
    caKeys.set(mspId, entry);
  }
  return entry;
}

/** PEM of the CA that issues the identities of `mspId`: what its hospital publishes in the directory. */
export async function caCertificatePem(mspId: string): Promise<string> {
  return (await ca(mspId)).certificatePem;
}

/**
 * A real X.509 certificate as Fabric CA would issue it: ECDSA P-256, subject CN = enrollment id,
 * role and other attributes in Fabric's attribute extension. A new key each call, so calling it
 * twice with the same name models a re-enrollment (same subject, new key). Issued by the MSP's
 * own test CA unless `issuedBy` names another.
 */
export async function makeIdentity(
  mspId: string,
  enrollmentId: string,
  attrs: Record<string, string>,
  issuedBy?: TestCa,
): Promise<SigningTestIdentity> {
  const issuer = issuedBy ?? (await ca(mspId));
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: Math.floor(Math.random() * 1e12).toString(16),
    subject: `CN=${enrollmentId},OU=client`,
    issuer: issuer.cert.subject,
    notBefore: new Date('2026-01-01'),
    notAfter: new Date('2030-01-01'),
    signingKey: issuer.keys.privateKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [new x509.Extension(FABRIC_ATTRIBUTE_OID, false, Buffer.from(JSON.stringify({ attrs })))],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const privateKeyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`;
  return { mspId, certificatePem: cert.toString('pem'), privateKeyPem };
}
