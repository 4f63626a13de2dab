/// <reference types="fhir" preserve="true" />
import type { PurposeOfUse } from '../ledger-model';
import { Hl7Systems } from './systems';

/** Our PurposeOfUse codes are HL7 v3-ActReason codes; their displays as the code system has them. */
export const PURPOSE_OF_USE_DISPLAYS = {
  TREAT: 'treatment',
  ETREAT: 'Emergency Treatment',
  HPAYMT: 'healthcare payment',
  HOPERAT: 'healthcare operations',
  HRESCH: 'healthcare research',
  PUBHLTH: 'public health',
  PATRQT: 'patient requested',
  FAMRQT: 'family requested',
} as const satisfies Record<PurposeOfUse, string>;

/**
 * v3-ActReason BTG: a policy override for emergent care by a user not provisioned for it, which
 * "may include override of subject of care consent directive" — exactly our break-glass pull.
 */
export const BREAK_THE_GLASS = { system: Hl7Systems.actReason, code: 'BTG', display: 'break the glass' } as const;

export function purposeOfUseCoding(purpose: PurposeOfUse): fhir4.Coding {
  return { system: Hl7Systems.actReason, code: purpose, display: PURPOSE_OF_USE_DISPLAYS[purpose] };
}

export function purposeOfUseConcept(purpose: PurposeOfUse): fhir4.CodeableConcept {
  return { coding: [purposeOfUseCoding(purpose)] };
}
