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
const caKeys = new Map<string, { keys: KeyPair; cert: x509.X509Certificate }>();

async function ca(mspId: string) {
  let entry = caKeys.get(mspId);
  if (!entry) {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as KeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: `CN=ca.${mspId.toLowerCase()}`,
      notBefore: new Date('2026-01-01'),
      notAfter: new Date('2030-01-01'),
      keys,
      signingAlgorithm: ALG,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    entry = { keys, cert };
    caKeys.set(mspId, entry);
  }
  return entry;
}

/**
 * A real X.509 certificate as Fabric CA would issue it: ECDSA P-256, subject CN = enrollment id,
 * role and other attributes in Fabric's attribute extension. A new key each call, so calling it
 * twice with the same name models a re-enrollment (same subject, new key).
 */
export async function makeIdentity(
  mspId: string,
  enrollmentId: string,
  attrs: Record<string, string>,
): Promise<SigningTestIdentity> {
  const issuer = await ca(mspId);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as KeyPair;
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
