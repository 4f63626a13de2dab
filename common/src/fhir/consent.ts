/// <reference types="fhir" preserve="true" />
import type { CodeRef, ConsentPeriod, ConsentRecord, ConsentScope, Grantee, PurposeOfUse } from '../ledger-model';
import { CONSENT_ACTION, CONSENT_CATEGORIES, CONSENT_POLICY_RULE, CONSENT_SCOPE, GRANTEE_ROLE } from './consent-codes';
import { fhirIdOf } from './fhir-id';
import { purposeOfUseCoding } from './purpose-of-use';
import { organizationReference, patientReference } from './references';
import { PhrSystems } from './systems';

/** What a consent says, whether it is on the ledger already or only signed by the patient. */
export interface ConsentTerms {
  consentId: string;
  pseudonym: string;
  grantee: Grantee;
  scope: ConsentScope;
  purposes: PurposeOfUse[];
  period: ConsentPeriod;
}

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
  return consentTermsResource(record, {
    lastUpdated: record.revokedAt ?? record.grantedAt,
    status: record.status === 'revoked' || ended ? 'inactive' : 'active',
    dateTime: record.grantedAt,
  });
}

/**
 * The one mapping of consent terms to an R4 Consent (the projection above and a patient-signed
 * consent both use it, so what a patient signs reads exactly like what the gateway later shows).
 */
export function consentTermsResource(
  terms: ConsentTerms,
  state: { status: 'active' | 'inactive' | 'proposed'; lastUpdated?: string; dateTime?: string },
): fhir4.Consent {
  const provision: fhir4.ConsentProvision = {
    type: 'permit',
    period: { start: terms.period.start, end: terms.period.end },
    actor: [{ role: { coding: [{ ...GRANTEE_ROLE }] }, reference: granteeReference(terms.grantee) }],
    action: [{ coding: [{ ...CONSENT_ACTION }] }],
  };
  if (terms.purposes.length > 0) provision.purpose = terms.purposes.map(purposeOfUseCoding);
  if (terms.scope.categories.length > 0) {
    provision.class = terms.scope.categories.map((code) => ({ system: PhrSystems.dataCategory, code }));
  }
  if (terms.scope.codes.length > 0) provision.code = terms.scope.codes.map(codeConcept);

  return {
    resourceType: 'Consent',
    id: fhirIdOf(terms.consentId),
    ...(state.lastUpdated !== undefined ? { meta: { lastUpdated: state.lastUpdated } } : {}),
    identifier: [{ system: PhrSystems.consentId, value: terms.consentId }],
    status: state.status,
    scope: { coding: [{ ...CONSENT_SCOPE }] },
    category: CONSENT_CATEGORIES.map((c) => ({ coding: [{ ...c }] })),
    patient: patientReference(terms.pseudonym),
    ...(state.dateTime !== undefined ? { dateTime: state.dateTime } : {}),
    performer: [patientReference(terms.pseudonym)],
    policyRule: { coding: [{ ...CONSENT_POLICY_RULE }] },
    provision,
  };
}

/**
 * An organisation by MSP ID, a single identity by its key (its role is not on the ledger), or the
 * research offer a study consent is for.
 */
export function granteeReference(grantee: Grantee): fhir4.Reference {
  switch (grantee.kind) {
    case 'organization':
      return organizationReference(grantee.id);
    case 'identity':
      return { identifier: { system: PhrSystems.identityKey, value: grantee.id } };
    case 'study':
      return { identifier: { system: PhrSystems.researchOffer, value: grantee.id } };
  }
}

function codeConcept(code: CodeRef): fhir4.CodeableConcept {
  return { coding: [{ system: code.system, code: code.code }] };
}
