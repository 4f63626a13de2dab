import type { ClientIdentity } from 'fabric-shim';
import {
  EMERGENCY_ATTRIBUTE,
  identityKey,
  isRole,
  PATIENTS_MSP_ID,
  ROLE_ATTRIBUTE,
  Roles,
  type IdentityRef,
  type Role,
} from '@phr/common';
import { forbidden } from './errors';

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
