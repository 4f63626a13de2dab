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
 * The later of two views of one consent. A consent only ever moves absent → active → revoked
 * (grants under a used id are refused, revocation is final), so views from a state read and from
 * events can be merged in any order, any number of times, and never step back.
 */
export function laterConsent(a: ConsentRecord, b: ConsentRecord): ConsentRecord {
  if (a.status === 'revoked') return a;
  return b.status === 'revoked' ? b : a;
}
