/// <reference types="fhir" preserve="true" />
import { PhrSystems } from './systems';

/** The patient, by pseudonym: the ledger never knows any other identifier for them. */
export function patientReference(pseudonym: string): fhir4.Reference {
  return { type: 'Patient', identifier: { system: PhrSystems.pseudonym, value: pseudonym } };
}

/** An organisation of the network, by MSP ID. */
export function organizationReference(mspId: string): fhir4.Reference {
  return { type: 'Organization', identifier: { system: PhrSystems.mspId, value: mspId } };
}
