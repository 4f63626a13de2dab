import { Hl7Systems } from './systems';

/** Every ledger consent is a patient's privacy consent about access to their information. */
export const CONSENT_SCOPE = {
  system: Hl7Systems.consentScope,
  code: 'patient-privacy',
  display: 'Privacy Consent',
} as const;

/** Consent.category: LOINC's patient consent and v3-ActCode INFA (information access). */
export const CONSENT_CATEGORIES = [
  { system: Hl7Systems.loinc, code: '59284-0', display: 'Patient Consent' },
  { system: Hl7Systems.actCode, code: 'INFA', display: 'information access' },
] as const;

/** The patient opts in: without a consent nothing is shared (except flagged break-glass). */
export const CONSENT_POLICY_RULE = { system: Hl7Systems.actCode, code: 'OPTIN', display: 'opt-in' } as const;

/** What a ledger consent permits the grantee to do: read (pull) the data in scope. */
export const CONSENT_ACTION = { system: Hl7Systems.consentAction, code: 'access', display: 'Access' } as const;

/** The grantee's role in the provision: it receives the information. */
export const GRANTEE_ROLE = {
  system: Hl7Systems.participationType,
  code: 'IRCP',
  display: 'information recipient',
} as const;
