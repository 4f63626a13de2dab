import { createHash } from 'node:crypto';

/** FHIR R4 `id`: 1 to 64 of A-Z a-z 0-9 - . */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * A ledger record id as a FHIR resource id. Ledger ids (UUIDs in practice) usually are valid FHIR
 * ids already; the few that are not (an `_`, more than 64 characters) get a stable id derived
 * from their hash. The record id itself always travels in an identifier as well.
 */
export function fhirIdOf(recordId: string): string {
  if (FHIR_ID.test(recordId)) return recordId;
  return `h-${createHash('sha256').update(recordId, 'utf8').digest('hex').slice(0, 62)}`;
}
