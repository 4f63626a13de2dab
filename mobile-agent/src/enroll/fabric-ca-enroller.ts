import type FabricCAServices from 'fabric-ca-client';
import { EnrollmentError, type Enroller, type Enrollment } from './enroller';

export interface FabricCaOptions {
  url: string;
  caName: string;
  tlsRootCertPem: string;
}

/**
 * Enrollment at a Fabric CA with fabric-ca-client, always from the device's CSR: the library's
 * own key generation is never used, so the private key stays where it was made.
 */
export class FabricCaEnroller implements Enroller {
  private readonly ca: FabricCAServices;

  constructor(options: FabricCaOptions) {
    // Loaded only when enrolling: fabric-common reads process.argv through nconf/yargs at load time,
    // which would answer the CLI's own --help with its own.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Services = require('fabric-ca-client') as typeof FabricCAServices;
    this.ca = new Services(options.url, { trustedRoots: [options.tlsRootCertPem], verify: true }, options.caName);
  }

  async enroll(enrollmentId: string, enrollmentSecret: string, csrPem: string): Promise<Enrollment> {
    try {
      const result = await this.ca.enroll({ enrollmentID: enrollmentId, enrollmentSecret, csr: csrPem });
      return { certificatePem: result.certificate, caCertificatePem: result.rootCertificate };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const refused =
        /Authentication failure|Authorization failure|maximum number of enrollments|code: 20|status code 401/i.test(
          message,
        );
      throw new EnrollmentError(
        refused ? 'REFUSED' : 'UNREACHABLE',
        refused
          ? 'the patients CA refused this enrollment id and secret (wrong, or already used)'
          : `the patients CA cannot be reached: ${message}`,
        { cause: err },
      );
    }
  }
}
