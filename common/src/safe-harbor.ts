/**
 * HIPAA Safe Harbor's rules for the few quasi-identifiers research data may keep (45 CFR
 * 164.514(b)(2)): ages, 3-digit postal codes and years. Used by the agent's extracts, the
 * gateway's institutional extracts and the checker that audits both, so they cannot drift apart.
 */
import { createHmac } from 'node:crypto';

/**
 * The 18 kinds of identifier Safe Harbor removes (164.514(b)(2)(i)(A)–(R)), in the rule's order.
 * A checker reports each finding under one of these.
 */
export const SAFE_HARBOR_IDENTIFIER_KINDS = [
  'name',
  'geographic-subdivision',
  'date',
  'telephone',
  'fax',
  'email',
  'ssn',
  'medical-record-number',
  'health-plan-number',
  'account-number',
  'licence-number',
  'vehicle-identifier',
  'device-identifier',
  'url',
  'ip-address',
  'biometric',
  'photo',
  'other-unique-code',
] as const;
export type SafeHarborIdentifierKind = (typeof SAFE_HARBOR_IDENTIFIER_KINDS)[number];

/**
 * 3-digit ZIP areas with 20,000 people or fewer (HHS guidance on de-identification, 2000 census):
 * Safe Harbor replaces them with 000.
 */
export const RESTRICTED_ZIP3: readonly string[] = [
  '036',
  '059',
  '063',
  '102',
  '203',
  '556',
  '692',
  '790',
  '821',
  '823',
  '830',
  '831',
  '878',
  '879',
  '884',
  '890',
  '893',
];

/** The first three digits of a US postal code, or `000` for a restricted area or anything else. */
export function postalCode3(postalCode: string | undefined): string {
  const digits = /^\s*(\d{3})\d{2}(?:-?\d{4})?\s*$/.exec(postalCode ?? '');
  if (!digits?.[1] || RESTRICTED_ZIP3.includes(digits[1])) return '000';
  return digits[1];
}

/** Whole years between a birth date (YYYY, YYYY-MM or YYYY-MM-DD) and `at`; undefined when unreadable. */
export function ageInYears(birthDate: string | undefined, at: Date): number | undefined {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(birthDate ?? '');
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = m[2] ? Number(m[2]) : 1;
  const day = m[3] ? Number(m[3]) : 1;
  let age = at.getUTCFullYear() - year;
  const beforeBirthday = at.getUTCMonth() + 1 < month || (at.getUTCMonth() + 1 === month && at.getUTCDate() < day);
  if (beforeBirthday) age--;
  return age >= 0 ? age : undefined;
}

/** Ages over 89 are one group. */
export const SAFE_HARBOR_OLDEST_AGE = 89;

export function safeHarborAge(age: number): number | '90+' {
  return age > SAFE_HARBOR_OLDEST_AGE ? '90+' : age;
}

/** The year of an ISO 8601 date or instant, as text; undefined when there is none. */
export function yearOf(time: string | undefined): string | undefined {
  return /^(\d{4})/.exec(time ?? '')?.[1];
}

/** The largest shift, in days, either way: wide enough to hide a day, narrow enough to keep seasons. */
export const MAX_DATE_SHIFT_DAYS = 182;

/**
 * The per-patient-per-study date shift: the same for every date of one participant in one study
 * (so intervals survive), unrelated across studies. `secret` never leaves the device.
 */
export function dateShiftDays(secret: Uint8Array, offerId: string): number {
  const mac = createHmac('sha256', secret).update(`phr-ledger/research-date-shift/v1\0${offerId}`).digest();
  const span = 2 * MAX_DATE_SHIFT_DAYS; // 1..182 either way: never 0
  const n = mac.readUInt32BE(0) % span;
  return n < MAX_DATE_SHIFT_DAYS ? n - MAX_DATE_SHIFT_DAYS : n - MAX_DATE_SHIFT_DAYS + 1;
}

/** An ISO 8601 date or instant moved by `days`, keeping its precision (a year alone stays a year). */
export function shiftDate(time: string, days: number): string {
  if (/^\d{4}$/.test(time)) return time;
  if (/^\d{4}-\d{2}$/.test(time)) {
    const d = new Date(`${time}-15T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 7);
  }
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(time);
  const d = new Date(dateOnly ? `${time}T00:00:00Z` : time);
  if (Number.isNaN(d.getTime())) throw new RangeError(`not an ISO 8601 date: ${time}`);
  d.setUTCDate(d.getUTCDate() + days);
  return dateOnly ? d.toISOString().slice(0, 10) : d.toISOString();
}

/**
 * A coding's display is the code system's label for the code, not free text; a hospital may still
 * have written something else there. One that holds what looks like a date, a phone number or
 * other number run, a titled name, an e-mail or web address or a line break is not taken for a
 * label. The agent drops a display that fails this before it shares, and the researcher's export
 * drops one that slipped through: one rule on both sides.
 */
export function isCodeLabel(display: string): boolean {
  return (
    display.length > 0 &&
    display.length <= 200 &&
    // eslint-disable-next-line no-control-regex -- a line break or control character is not in a label
    !/[\u0000-\u001f\u007f]/.test(display) &&
    !/\d{5,}/.test(display) &&
    !/\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}/.test(display) &&
    // phone and fax numbers, and other grouped number runs
    !/\d{3,}\D{1,2}\d{3,}/.test(display) &&
    // a person named by title
    !/\b(?:Mr|Mrs|Ms|Miss|Dr)\.?\s+[A-Z]/.test(display) &&
    !/@|https?:|www\./i.test(display)
  );
}
