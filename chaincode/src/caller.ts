import { createHash } from 'node:crypto';
import type { ClientIdentity } from 'fabric-shim';
import {
  EMERGENCY_ATTRIBUTE,
  isRole,
  PATIENTS_MSP_ID,
  ROLE_ATTRIBUTE,
  Roles,
  type IdentityRef,
  type Role,
} from '@phr/common';
import { forbidden } from './errors';

/**
 * Identity key: a hash of the MSP ID and Fabric's x509 ID (subject and issuer DN). Re-enrolling
 * with a new key keeps the subject, so the key survives signing-key rotation; hashing keeps
 * enrollment names (which may be a clinician's user name) off the ledger.
 */
export function identityKey(mspId: string, x509Id: string): string {
  return 'id' + createHash('sha256').update(`${mspId}\n${x509Id}`).digest('hex').slice(0, 40);
}

/** The submitting identity, derived only from its certificate and MSP, never from arguments. */
export class Caller {
  readonly mspId: string;
  readonly role: Role;
  readonly id: string;
  readonly emergency: boolean;
  readonly certificatePem: string;

  constructor(identity: ClientIdentity) {
    this.mspId = identity.getMSPID();
    const role = identity.getAttributeValue(ROLE_ATTRIBUTE);
    if (!isRole(role)) {
      throw forbidden(`the caller's certificate has no valid ${ROLE_ATTRIBUTE} attribute`);
    }
    if ((role === Roles.Patient) !== (this.mspId === PATIENTS_MSP_ID)) {
      throw forbidden(
        role === Roles.Patient
          ? `role patient is only valid for identities of ${PATIENTS_MSP_ID}`
          : `identities of ${PATIENTS_MSP_ID} may only act as patients`,
      );
    }
    this.role = role;
    this.id = identityKey(this.mspId, identity.getID());
    this.emergency = identity.getAttributeValue(EMERGENCY_ATTRIBUTE) === 'true';
    this.certificatePem = Buffer.from(identity.getIDBytes()).toString('utf8');
  }

  get ref(): IdentityRef {
    return { mspId: this.mspId, role: this.role, id: this.id };
  }

  get isHospital(): boolean {
    return this.mspId !== PATIENTS_MSP_ID;
  }
}
