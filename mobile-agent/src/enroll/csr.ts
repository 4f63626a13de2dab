// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API loaded first.
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/**
 * A PKCS#10 request signed with the device's own key, so the CA certifies a key it never sees.
 * Fabric CA requires the subject CN to be the enrollment id; it writes the rest of the subject and
 * the role attributes itself.
 */
export async function createCsr(enrollmentId: string, signingPrivateKeyPem: string): Promise<string> {
  const privateKey = createPrivateKey(signingPrivateKeyPem);
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  const subtle = webcrypto.subtle;
  const keys = {
    privateKey: await subtle.importKey('pkcs8', pkcs8, ALG, false, ['sign']),
    publicKey: await subtle.importKey('spki', spki, ALG, true, ['verify']),
  };
  // x509's parameter types name the DOM's WebCrypto types, which Node's typings don't declare globally:
  // Node's own CryptoKeys and webcrypto are what it uses at run time.
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: `CN=${escapeDn(enrollmentId)}`,
      keys,
      signingAlgorithm: ALG,
    },
    webcrypto,
  );
  return csr.toString('pem');
}

function escapeDn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}
