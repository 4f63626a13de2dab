import { badRequest, forbiddenError, isPseudonym, Roles } from '@phr/common';
import type { Principal } from '../../auth/principal';
import type { PatientDirectory } from '../../identity/patient-directory';
import type { FhirRequest } from './fhir-handler';

export interface PatientReaderDeps {
  patients: Pick<PatientDirectory, 'authorizeOwner'>;
  /** This gateway's hospital: only its own admins may read a patient's consents and access log. */
  hospitalMspId: string;
}

/**
 * Who may read a patient's consents and access events here: the patient (the identity that
 * registered the pseudonym) and this hospital's admins. Everyone else gets 403, before any
 * parameter is looked at, so a refusal says nothing about the pseudonym.
 */
export async function authorizePatientReader(
  principal: Principal,
  pseudonym: () => string,
  deps: PatientReaderDeps,
): Promise<string> {
  if (requireReaderRole(principal, deps.hospitalMspId, 'consents or access events') === Roles.Admin) {
    return pseudonym();
  }
  const p = pseudonym();
  await deps.patients.authorizeOwner(principal, p);
  return p;
}

/**
 * The role check of every read of a patient's ledger records, before anything is read: this
 * hospital's admins, or a patient (whose ownership the caller checks next).
 */
export function requireReaderRole(
  principal: Principal,
  hospitalMspId: string,
  what: string,
): typeof Roles.Admin | typeof Roles.Patient {
  if (principal.role === Roles.Admin) {
    if (principal.mspId !== hospitalMspId) throw forbiddenError(`only admins of ${hospitalMspId} may do this`);
    return Roles.Admin;
  }
  if (principal.role !== Roles.Patient) {
    throw forbiddenError(`role ${principal.role} may not read ${what}; needs patient or admin`);
  }
  return Roles.Patient;
}

/** `patient=<pseudonym>` (or `Patient/<pseudonym>`), exactly once. */
export function patientParam(request: FhirRequest): string {
  const raw = request.params['patient'];
  const values = raw === undefined ? [] : typeof raw === 'string' ? [raw] : raw;
  if (values.length !== 1) throw badRequest('exactly one patient parameter (the pseudonym) is required', ['patient']);
  const value = (values[0] as string).replace(/^Patient\//, '');
  if (!isPseudonym(value)) throw badRequest('patient must be a pseudonym', ['patient']);
  return value;
}

/** All values of a parameter: repeated parameters and comma-separated values alike. */
export function paramValues(request: FhirRequest, name: string): string[][] {
  const raw = request.params[name];
  const list = raw === undefined ? [] : typeof raw === 'string' ? [raw] : raw;
  return list.map((v) => v.split(',').map((x) => x.trim()));
}

/** Parameters a search understands besides its own: formatting, which does not change the result. */
const COMMON_PARAMS = new Set(['_format', '_pretty']);

/**
 * Parameters the search did not understand. FHIR's default is lenient handling: ignore them and
 * say so in an OperationOutcome, which the searchset carries as an `outcome` entry.
 */
export function unknownParams(request: FhirRequest, known: readonly string[]): string[] {
  return Object.keys(request.params).filter((k) => !known.includes(k) && !COMMON_PARAMS.has(k));
}
