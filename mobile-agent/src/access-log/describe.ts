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

/** One ledger access event as a sentence and columns a person reads without a glossary. */
export function describeAccessEvent(e: AccessEventRecord): AccessLogEntry {
  const who = requesterLabel(e.requester);
  const purposeText = e.purpose ? PURPOSE_TEXT[e.purpose] : undefined;
  const what = scopeText(e);
  const parts = [`${who} ${ACTION_TEXT[e.action]}`];
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
