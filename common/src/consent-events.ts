import type { ConsentRecord } from './ledger-model';

/** Chaincode events of the Consent contract. Each carries the consent record as it now stands. */
export const CONSENT_EVENTS = ['ConsentGranted', 'ConsentRevoked'] as const;
export type ConsentEventName = (typeof CONSENT_EVENTS)[number];

/**
 * The payload of a consent event. The whole record travels with the event (it is already in the
 * block's write set for every channel member), so a listener can apply the change without a
 * state read that might race the peer's state commit.
 */
export interface ConsentEventPayload {
  consentId: string;
  pseudonym: string;
  consent: ConsentRecord;
}

export function isConsentEventName(name: string): name is ConsentEventName {
  return (CONSENT_EVENTS as readonly string[]).includes(name);
}

/** Reads a consent event's payload; undefined when it is not one this version understands. */
export function parseConsentEvent(name: string, payload: Uint8Array | string): ConsentEventPayload | undefined {
  if (!isConsentEventName(name)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch {
    return undefined;
  }
  const p = value as Partial<ConsentEventPayload> | null;
  const c = p?.consent;
  if (
    typeof p?.consentId !== 'string' ||
    typeof p.pseudonym !== 'string' ||
    !c ||
    c.docType !== 'consent' ||
    c.consentId !== p.consentId ||
    c.pseudonym !== p.pseudonym ||
    (c.status !== 'active' && c.status !== 'revoked')
  ) {
    return undefined;
  }
  return { consentId: p.consentId, pseudonym: p.pseudonym, consent: c };
}

/**
 * The event of `PatientRegistry.Erase`. Fabric keeps one event per transaction, and an erasure
 * revokes every active consent of the patient in that same transaction, so this event carries the
 * revoked consents: a listener that keeps consents current must apply them as it would a
 * `ConsentRevoked` each.
 */
export const PATIENT_ERASED_EVENT = 'PatientErased';

export interface PatientErasedPayload {
  pseudonym: string;
  erasedAt: string;
  /** The consents this erasure revoked, as they now stand (status revoked). */
  revokedConsents: ConsentRecord[];
}

/**
 * Every consent change an event carries, as the records now stand: one for a consent event, the
 * revoked consents for an erasure, none for anything else (or anything malformed).
 */
export function consentChangesOfEvent(name: string, payload: Uint8Array | string): ConsentRecord[] {
  if (isConsentEventName(name)) {
    const change = parseConsentEvent(name, payload);
    return change ? [change.consent] : [];
  }
  if (name !== PATIENT_ERASED_EVENT) return [];
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch {
    return [];
  }
  const p = value as Partial<PatientErasedPayload> | null;
  if (typeof p?.pseudonym !== 'string' || !Array.isArray(p.revokedConsents)) return [];
  const pseudonym = p.pseudonym;
  return p.revokedConsents.filter(
    (c): c is ConsentRecord =>
      !!c &&
      typeof c === 'object' &&
      c.docType === 'consent' &&
      typeof c.consentId === 'string' &&
      c.pseudonym === pseudonym &&
      c.status === 'revoked',
  );
}

/** The event of `PatientRegistry.RotateKeys`: the pseudonym's keys (and perhaps its owner) changed. */
export const PATIENT_KEYS_ROTATED_EVENT = 'PatientKeysRotated';

/**
 * The pseudonym whose registry record an event changed in a way a cached copy must not outlive
 * (new encryption key or owner, erasure), or undefined for any other event or a malformed one.
 */
export function patientChangeOfEvent(name: string, payload: Uint8Array | string): string | undefined {
  if (name !== PATIENT_KEYS_ROTATED_EVENT && name !== PATIENT_ERASED_EVENT) return undefined;
  try {
    const value = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8')) as {
      pseudonym?: unknown;
    } | null;
    return typeof value?.pseudonym === 'string' ? value.pseudonym : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The later of two views of one consent. A consent only ever moves absent → active → revoked
 * (grants under a used id are refused, revocation is final), so views from a state read and from
 * events can be merged in any order, any number of times, and never step back.
 */
export function laterConsent(a: ConsentRecord, b: ConsentRecord): ConsentRecord {
  if (a.status === 'revoked') return a;
  return b.status === 'revoked' ? b : a;
}
