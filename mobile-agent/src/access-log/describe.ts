import type { AccessAction, AccessEventRecord, AccessOutcome, IdentityRef, PurposeOfUse } from '@phr/common';
import type { AccessLogEntry } from '../agent-api';

/** HL7 v3 PurposeOfUse, in words a patient reads. */
export const PURPOSE_TEXT = {
  TREAT: 'Treatment',
  ETREAT: 'Emergency treatment',
  HPAYMT: 'Payment',
  HOPERAT: 'Hospital operations',
  HRESCH: 'Research',
  PUBHLTH: 'Public health',
  PATRQT: 'Your own request',
  FAMRQT: 'A family member’s request',
} as const satisfies Record<PurposeOfUse, string>;

const ACTION_TEXT = {
  push: 'sent you records',
  pull: 'read your records',
  backup: 'backed up your records',
  restore: 'restored your records',
  export: 'exported your records',
  recovery: 'recovered your records',
  'delivery-failed': 'sent a delivery that failed its checks',
  rebuild: 'rebuilt your records from the hospitals',
  erasure: 'erased your records',
  research: 'used de-identified data from your records for research',
} as const satisfies Record<AccessAction, string>;

const OUTCOME_TEXT = {
  success: 'allowed',
  denied: 'denied',
  failed: 'failed',
} as const satisfies Record<AccessOutcome, string>;

/** Who acted, as the patient reads it: "You", or the organisation and role. */
export function requesterLabel(requester: Pick<IdentityRef, 'mspId' | 'role'>): string {
  return requester.role === 'patient' ? 'You' : `${requester.mspId} (${requester.role})`;
}

/** What a guardian did, on the patient's log: a guardian is a patient too, but not "You". */
const GUARDIAN_ACTION_TEXT: Partial<Record<AccessOutcome, string>> = {
  success: 'approved a recovery of your records',
  denied: 'refused a recovery of your records',
};

/**
 * One ledger access event as a sentence and columns a person reads without a glossary.
 * `guardians` maps the identity keys of the patient's guardians to their pseudonyms: their
 * `recovery` events read as the guardian's, not as the patient's own.
 */
export function describeAccessEvent(
  e: AccessEventRecord,
  guardians: ReadonlyMap<string, string> = new Map(),
): AccessLogEntry {
  const guardian = e.action === 'recovery' ? guardians.get(e.requester.id) : undefined;
  const who = guardian !== undefined ? `Your guardian ${guardian}` : requesterLabel(e.requester);
  const purposeText = e.purpose ? PURPOSE_TEXT[e.purpose] : undefined;
  const what = scopeText(e);
  const action = (guardian !== undefined ? GUARDIAN_ACTION_TEXT[e.outcome] : undefined) ?? ACTION_TEXT[e.action];
  const parts = [`${who} ${action}`];
  if (what) parts.push(`: ${what}`);
  if (purposeText) parts.push(` for ${purposeText.toLowerCase()}`);
  parts.push(` — ${OUTCOME_TEXT[e.outcome]}`);
  if (e.breakGlass) parts.push(' (emergency access without your consent)');
  return {
    eventId: e.eventId,
    at: e.recordedAt,
    action: e.action,
    outcome: e.outcome,
    who,
    organization: e.requester.mspId,
    role: e.requester.role,
    ...(e.purpose ? { purpose: e.purpose, purposeText: purposeText } : {}),
    what,
    breakGlass: e.breakGlass,
    summary: `${parts.join('')}.`,
  };
}

function scopeText(e: AccessEventRecord): string {
  const items = [
    ...(e.scope?.categories ?? []).map((c) => `${c} records`),
    ...(e.scope?.codes ?? []).map((c) => `${systemName(c.system)} ${c.code}`),
  ];
  if (items.length > 0) return items.join(', ');
  // A recovery names the request it answered, not a delivery.
  if (e.action === 'recovery' && e.references.length === 1) return `request ${e.references[0]}`;
  // Research names the study (an offer) or the hospital's extract first, then a participation or use.
  if (e.action === 'research' && e.references.length > 0) return `study ${e.references[0]}`;
  if (e.references.length > 0)
    return e.references.length === 1 ? `delivery ${e.references[0]}` : `${e.references.length} items`;
  return '';
}

const SYSTEM_NAMES: Record<string, string> = {
  'http://loinc.org': 'LOINC',
  'http://snomed.info/sct': 'SNOMED CT',
  'http://www.nlm.nih.gov/research/umls/rxnorm': 'RxNorm',
  'http://hl7.org/fhir/sid/cvx': 'CVX',
};

function systemName(system: string): string {
  return SYSTEM_NAMES[system] ?? system;
}
