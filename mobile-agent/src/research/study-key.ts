/**
 * The per-participation key that signs an extract. The envelope format wants a signer with an
 * X.509 certificate; the patient's own certificate would tell the researcher who the patient is,
 * so each participation gets a fresh P-256 key with a self-signed certificate whose subject is the
 * participation id and nothing else. The ledger holds its public key (`studyKey`), which is what
 * ties the envelope to the participation.
 */
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API loaded first.
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface StudyKey {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  certificatePem: string;
  /** SPKI DER, base64: what the ledger records as the participation's `studyKey`. */
  studyKey: string;
}

/** A new key and its certificate (CN = participationId), valid from a minute ago until `notAfter`. */
export async function newStudyKey(participationId: string, notAfter: Date, now = new Date()): Promise<StudyKey> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const certificatePem = await selfSigned(participationId, privateKeyPem, now, notAfter);
  return { privateKeyPem, certificatePem, studyKey: studyKeyOf(privateKeyPem) };
}

/** The SPKI DER (base64) of a private key's public half. */
export function studyKeyOf(privateKeyPem: string): string {
  return createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'der' }).toString('base64');
}

async function selfSigned(cn: string, privateKeyPem: string, now: Date, notAfter: Date): Promise<string> {
  const privateKey = createPrivateKey(privateKeyPem);
  const subtle = webcrypto.subtle;
  const keys = {
    privateKey: await subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), ALG, false, [
      'sign',
    ]),
    publicKey: await subtle.importKey(
      'spki',
      createPublicKey(privateKey).export({ type: 'spki', format: 'der' }),
      ALG,
      true,
      ['verify'],
    ),
  };
  const notBefore = new Date(now.getTime() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      // positive: the top bit clear
      serialNumber: `01${randomBytes(15).toString('hex')}`,
      name: `CN=${cn.replace(/([,+"\\<>;=])/g, '\\$1')}`,
      notBefore,
      notAfter: notAfter.getTime() > notBefore.getTime() ? notAfter : new Date(now.getTime() + 86_400_000),
      keys,
      signingAlgorithm: ALG,
    },
    webcrypto,
  );
  return cert.toString('pem');
}
