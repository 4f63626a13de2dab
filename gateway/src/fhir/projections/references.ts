import { organizationReference, PhrSystems, Roles, type IdentityRef, type Role } from '@phr/common';

// Moved to @phr/common with the Consent mapping; re-exported for the projections.
export { organizationReference, patientReference } from '@phr/common';

/** The resource type that best stands for an identity of each role (systems are Devices). */
export const ROLE_REFERENCE_TYPES = {
  [Roles.HospitalGateway]: 'Device',
  [Roles.Ehr]: 'Device',
  [Roles.Agent]: 'Device',
  [Roles.Clinician]: 'Practitioner',
  [Roles.Researcher]: 'Practitioner',
  [Roles.Admin]: 'Practitioner',
  [Roles.Patient]: 'Patient',
} as const satisfies Record<Role, string>;

const referenceTypeOf = (role: string): string | undefined =>
  (ROLE_REFERENCE_TYPES as Record<string, string | undefined>)[role];

/**
 * A Fabric identity: its identity key, assigned within its organisation (the MSP that issued its
 * certificate), and typed by its role when the role is one we know.
 */
export function identityReference(ref: Pick<IdentityRef, 'id' | 'mspId'> & { role?: string }): fhir4.Reference {
  const type = ref.role === undefined ? undefined : referenceTypeOf(ref.role);
  return {
    ...(type ? { type } : {}),
    identifier: { system: PhrSystems.identityKey, value: ref.id, assigner: organizationReference(ref.mspId) },
  };
}

/** The role as a coding of our role vocabulary (the certificate's `phr.role` attribute). */
export function roleConcept(role: string): fhir4.CodeableConcept {
  return { coding: [{ system: PhrSystems.role, code: role }] };
}
