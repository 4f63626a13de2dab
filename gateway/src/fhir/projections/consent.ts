import type { CodeRef, ConsentRecord, Grantee } from '@phr/common';
import { CONSENT_ACTION, CONSENT_CATEGORIES, CONSENT_POLICY_RULE, CONSENT_SCOPE, GRANTEE_ROLE } from './consent-codes';
import { fhirIdOf } from './fhir-id';
import { purposeOfUseCoding } from './purpose-of-use';
import { organizationReference, patientReference } from './references';
import { PhrSystems } from './systems';

export interface ConsentProjectionOptions {
  /** The moment the projection describes: a consent whose period has ended is no longer active. */
  now: Date;
}

/**
 * A ledger consent as an R4 Consent: a patient-privacy opt-in that permits one grantee to access
 * the categories and codes in scope, for the listed purposes, during the period.
 *
 * - `status`: `inactive` once revoked or past its end (the ledger keeps `active` for an expired
 *   consent; evaluation ignores it), otherwise `active`. `meta.lastUpdated` is the revocation time
 *   when there is one, else the grant time.
 * - The data categories go to `provision.class` as codings of our category system (the binding is
 *   extensible); codes go to `provision.code`, one CodeableConcept each.
 * - The patient is named by pseudonym only, as the grantor (`performer`) and the subject.
 */
export function consentResource(record: ConsentRecord, options: ConsentProjectionOptions): fhir4.Consent {
  const ended = options.now.getTime() >= Date.parse(record.period.end);
  const provision: fhir4.ConsentProvision = {
    type: 'permit',
    period: { start: record.period.start, end: record.period.end },
    actor: [{ role: { coding: [{ ...GRANTEE_ROLE }] }, reference: granteeReference(record.grantee) }],
    action: [{ coding: [{ ...CONSENT_ACTION }] }],
  };
  if (record.purposes.length > 0) provision.purpose = record.purposes.map(purposeOfUseCoding);
  if (record.scope.categories.length > 0) {
    provision.class = record.scope.categories.map((code) => ({ system: PhrSystems.dataCategory, code }));
  }
  if (record.scope.codes.length > 0) provision.code = record.scope.codes.map(codeConcept);

  return {
    resourceType: 'Consent',
    id: fhirIdOf(record.consentId),
    meta: { lastUpdated: record.revokedAt ?? record.grantedAt },
    identifier: [{ system: PhrSystems.consentId, value: record.consentId }],
    status: record.status === 'revoked' || ended ? 'inactive' : 'active',
    scope: { coding: [{ ...CONSENT_SCOPE }] },
    category: CONSENT_CATEGORIES.map((c) => ({ coding: [{ ...c }] })),
    patient: patientReference(record.pseudonym),
    dateTime: record.grantedAt,
    performer: [patientReference(record.pseudonym)],
    policyRule: { coding: [{ ...CONSENT_POLICY_RULE }] },
    provision,
  };
}

/** An organisation by MSP ID, or a single identity by its key (its role is not on the ledger). */
export function granteeReference(grantee: Grantee): fhir4.Reference {
  if (grantee.kind === 'organization') return organizationReference(grantee.id);
  return { identifier: { system: PhrSystems.identityKey, value: grantee.id } };
}

function codeConcept(code: CodeRef): fhir4.CodeableConcept {
  return { coding: [{ system: code.system, code: code.code }] };
}
