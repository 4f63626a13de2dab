/** Certificate attribute (issued by the Fabric CAs) that carries a PHR Ledger role. */
export const ROLE_ATTRIBUTE = 'phr.role';

/** Certificate attribute marking a clinician who may use break-glass emergency access. */
export const EMERGENCY_ATTRIBUTE = 'phr.emergency';

export const Roles = {
  HospitalGateway: 'hospital-gateway',
  /** An EHR system that posts bundles to its hospital's gateway. */
  Ehr: 'ehr',
  Clinician: 'clinician',
  /** A third-party agent acting for a requester (pull flow). */
  Agent: 'agent',
  Patient: 'patient',
  Researcher: 'researcher',
  Admin: 'admin',
} as const;

export type Role = (typeof Roles)[keyof typeof Roles];

export const ALL_ROLES: readonly Role[] = Object.values(Roles);

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ALL_ROLES as readonly string[]).includes(value);
}

/** The MSP of the patients' organisation (the doorman CA). It has no peers and never endorses. */
export const PATIENTS_MSP_ID = 'PatientsMSP';
