import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { Enroller, Enrollment } from '../../src/enroll/enroller';
import { EnrollmentError } from '../../src/enroll/enroller';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/**
 * A doorman CA for tests that behaves like Fabric CA on enroll: one-time secrets, the CSR's
 * signature checked, its CN must be the enrollment id, the role attribute written by the CA.
 * It signs with the same test CA the gateway trusts for patients.
 */
export class CsrSigningCa implements Enroller {
  private readonly secrets = new Map<string, string>();
  /** Every CSR it saw: tests check no private key was ever in one. */
  readonly csrs: string[] = [];

  constructor(private readonly ca: { mspId: string; certificatePem: string; privateKeyPem: string }) {}

  register(enrollmentId: string, secret: string): void {
    this.secrets.set(enrollmentId, secret);
  }

  async enroll(enrollmentId: string, secret: string, csrPem: string): Promise<Enrollment> {
    if (this.secrets.get(enrollmentId) !== secret) {
      throw new EnrollmentError(
        'REFUSED',
        'the patients CA refused this enrollment id and secret (wrong, or already used)',
      );
    }
    this.csrs.push(csrPem);
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    if (!(await csr.verify())) throw new EnrollmentError('REFUSED', 'CSR signature does not verify');
    if (csr.subjectName.getField('CN')[0] !== enrollmentId)
      throw new EnrollmentError('REFUSED', 'CSR CN is not the enrollment id');
    this.secrets.delete(enrollmentId);
    const caCert = new x509.X509Certificate(this.ca.certificatePem);
    const der = Buffer.from(this.ca.privateKeyPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const signingKey = await webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']);
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: Math.floor(Math.random() * 1e12).toString(16),
      subject: `CN=${enrollmentId},OU=client,O=${this.ca.mspId}`,
      issuer: caCert.subject,
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + 30 * 86400_000),
      signingKey,
      publicKey: await csr.publicKey.export(ALG, ['verify']),
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.Extension(
          '1.2.3.4.5.6.7.8.1',
          false,
          Buffer.from(JSON.stringify({ attrs: { 'phr.role': 'patient' } })),
        ),
      ],
    });
    return { certificatePem: cert.toString('pem'), caCertificatePem: this.ca.certificatePem };
  }
}
