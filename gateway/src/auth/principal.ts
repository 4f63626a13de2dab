import type { Role } from '@phr/common';

/**
 * Who is calling, as established by the HTTP edge from the TLS client certificate. Handlers and
 * repositories take a Principal; they never read identity from headers, paths or bodies.
 */
export interface Principal {
  /** MSP of the CA that issued the client certificate. */
  mspId: string;
  role: Role;
  /** Same identity key the chaincode derives (hash of MSP ID and x509 subject/issuer). */
  id: string;
  /** Break-glass clinician. */
  emergency: boolean;
  certificatePem: string;
}
