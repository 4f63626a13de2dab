import type FabricCAServices from 'fabric-ca-client';
import { EnrollmentError, type Enroller, type Enrollment } from './enroller';

export interface FabricCaOptions {
  url: string;
  caName: string;
  tlsRootCertPem: string;
  /**
   * How long a CA call may stay silent before it is given up. fabric-ca-client's own default is 3 s,
   * which a phone on a slow network, or a device busy deriving its keystore key, easily exceeds.
   */
  timeoutMs?: number;
}

/** The deadline for a call to the patients CA when the caller sets none. */
export const DEFAULT_CA_TIMEOUT_MS = 30_000;

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
    // fabric-ca-client reads its deadline from fabric-common's process-wide settings on every call.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const common = require('fabric-common') as { Utils: { setConfigSetting(name: string, value: unknown): void } };
    common.Utils.setConfigSetting('connection-timeout', options.timeoutMs ?? DEFAULT_CA_TIMEOUT_MS);
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
