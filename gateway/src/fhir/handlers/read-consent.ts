import {
  badRequest,
  consentResource,
  FhirError,
  isRecordId,
  notFoundError,
  Roles,
  type ConsentRecord,
} from '@phr/common';
import type { LedgerPort } from '../../ledger/ledger-port';
import type { FhirRequest, FhirResult } from './fhir-handler';
import { readLedger } from './ledger-errors';
import { requireReaderRole, type PatientReaderDeps } from './patient-reader';

export interface ConsentReadDeps extends PatientReaderDeps {
  ledger: Pick<LedgerPort, 'readConsent'>;
  now?: () => Date;
}

/**
 * `GET /fhir/Consent/{id}` (the `Location` of a created Consent): one consent, from one ledger
 * read, for the patient who granted it or this hospital's admins. For a patient, a consent that
 * does not exist and another patient's get the same 404, so a read tells nothing about others.
 */
export async function readConsent(
  request: FhirRequest & { id: string },
  deps: ConsentReadDeps,
): Promise<FhirResult<fhir4.Consent>> {
  const { principal } = request;
  const role = requireReaderRole(principal, deps.hospitalMspId, 'consents');
  if (!isRecordId(request.id)) throw badRequest('the consent id is not a valid id');
  const notFound = () => notFoundError(`no consent ${request.id} that this caller may read`);
  const record = await readLedger<ConsentRecord | undefined>(
    () => deps.ledger.readConsent(request.id),
    () => undefined,
  );
  if (!record) throw notFound();
  if (role === Roles.Patient) {
    try {
      await deps.patients.authorizeOwner(principal, record.pseudonym);
    } catch (err) {
      if (err instanceof FhirError && err.status === 403) throw notFound();
      throw err;
    }
  }
  return [undefined, consentResource(record, { now: (deps.now ?? (() => new Date()))() })];
}
