/** What the doorman CA gives back for a CSR: the device's certificate and the CA's root. */
export interface Enrollment {
  certificatePem: string;
  caCertificatePem: string;
}

/** The patients' CA (the doorman). Behind an interface so tests and other CAs can stand in. */
export interface Enroller {
  enroll(enrollmentId: string, enrollmentSecret: string, csrPem: string): Promise<Enrollment>;
}

export type EnrollmentErrorCode = 'UNREACHABLE' | 'REFUSED';

export class EnrollmentError extends Error {
  override readonly name = 'EnrollmentError';
  constructor(
    readonly code: EnrollmentErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
