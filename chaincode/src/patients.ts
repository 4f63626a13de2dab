import { Roles, type PatientRecord } from '@phr/common';
import { PhrContext } from './context';
import { forbidden, invalidState, notFound } from './errors';
import { Keys } from './keys';

/** The pseudonym owned by the caller, or a FORBIDDEN error: the only way patient-side functions find "their" patient. */
export async function callerPseudonym(ctx: PhrContext): Promise<string> {
  const pseudonym = await ctx.state.get<string>(Keys.patientOwner(ctx.caller.id));
  if (!pseudonym) throw forbidden('the caller is not a registered patient');
  return pseudonym;
}

export async function requirePatient(ctx: PhrContext, pseudonym: string): Promise<PatientRecord> {
  const record = await ctx.state.get<PatientRecord>(Keys.patient(pseudonym));
  if (!record) throw notFound(`patient ${pseudonym} is not registered`);
  return record;
}

/**
 * The patient record, for callers allowed to see it: staff roles pass (their rule tables already
 * admitted them); a patient caller must own the pseudonym, or is refused with `refusal`.
 */
export async function requirePatientFor(ctx: PhrContext, pseudonym: string, refusal: string): Promise<PatientRecord> {
  const record = await requirePatient(ctx, pseudonym);
  if (ctx.caller.role === Roles.Patient && record.owner !== ctx.caller.id) throw forbidden(refusal);
  return record;
}

/**
 * Refuses anything new for an erased patient (PatientRegistry.Erase): no delivery, consent, key or
 * guardian may be attached to a pseudonym whose patient asked to be forgotten. Reads and access
 * events (the hospitals' erasure receipts) still go through.
 */
export function requireNotErased(record: PatientRecord): PatientRecord {
  if (record.erasedAt !== undefined) throw invalidState(`patient ${record.pseudonym} is erased`);
  return record;
}
