import * as x509 from '@peculiar/x509';
import type { Enroller, Enrollment } from '../../src/enroll/enroller';
import { EnrollmentError } from '../../src/enroll/enroller';
import type { TestCa } from '@phr/test-support';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/**
 * A doorman CA for tests that behaves like Fabric CA on enroll: one-time secrets, the CSR's
 * signature checked, its CN must be the enrollment id, the role attribute written by the CA.
 * The test CA the gateway trusts for patients signs the certificate.
 */
export class CsrSigningCa implements Enroller {
  private readonly secrets = new Map<string, string>();
  /** Every CSR it saw: tests check no private key was ever in one. */
  readonly csrs: string[] = [];

  constructor(private readonly ca: TestCa) {}

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
    const certificatePem = await this.ca.certify(enrollmentId, await csr.publicKey.export(ALG, ['verify']), {
      attrs: { 'phr.role': 'patient' },
    });
    return { certificatePem, caCertificatePem: this.ca.certificatePem };
  }
}
