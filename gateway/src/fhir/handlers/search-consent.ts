import { consentResource, type ConsentRecord } from '@phr/common';
import type { LedgerPort } from '../../ledger/ledger-port';
import { searchsetBundle } from '../projections';
import type { FhirRequest, FhirResult } from './fhir-handler';
import { readLedger } from './ledger-errors';
import { ignoredParamsOutcome } from './outcomes';
import { authorizePatientReader, patientParam, unknownParams, type PatientReaderDeps } from './patient-reader';

export interface ConsentSearchDeps extends PatientReaderDeps {
  ledger: Pick<LedgerPort, 'listConsents'>;
  /** `{base}/fhir`, for the entries' fullUrl. */
  fhirBaseUrl: string;
  now?: () => Date;
}

export const CONSENT_SEARCH_PARAMS = ['patient'] as const;

/**
 * `GET /fhir/Consent?patient=<pseudonym>`: every consent the patient granted, revoked ones too
 * (as `inactive`), from one ledger read (Consent.ListConsents as the gateway identity).
 */
export async function searchConsents(
  request: FhirRequest,
  deps: ConsentSearchDeps,
): Promise<FhirResult<fhir4.Bundle<fhir4.Consent>>> {
  const pseudonym = await authorizePatientReader(request.principal, () => patientParam(request), deps);
  const records = await readLedger<ConsentRecord[]>(
    () => deps.ledger.listConsents(pseudonym),
    () => [],
  );
  const now = (deps.now ?? (() => new Date()))();
  const resources = [...records]
    .sort((a, b) => a.grantedAt.localeCompare(b.grantedAt) || a.consentId.localeCompare(b.consentId))
    .map((r) => consentResource(r, { now }));
  return [
    ignoredParamsOutcome(unknownParams(request, CONSENT_SEARCH_PARAMS)),
    searchsetBundle(resources, { selfUrl: request.selfUrl, fhirBaseUrl: deps.fhirBaseUrl }),
  ];
}
