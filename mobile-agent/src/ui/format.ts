/**
 * Plain-language words for the ledger's codes, and readable dates. The page is for patients, not
 * for integrators: a purpose reads "Treatment (TREAT)", a date "3 Mar 2025, 14:05", a code
 * system "LOINC" — the code stays beside the words so nothing is hidden.
 */
import {
  DATA_CATEGORIES,
  type ConsentRecord,
  type ConsentScope,
  type DataCategory,
  type Grantee,
  type PurposeOfUse,
} from '@phr/common';
import { html, type Html } from './html';
import { studyGranteeText } from '../consent/study-grantee';

export const PURPOSE_LABELS: Record<PurposeOfUse, { label: string; hint: string }> = {
  TREAT: { label: 'Treatment', hint: 'Care you receive now, e.g. from your doctor or a hospital.' },
  ETREAT: { label: 'Emergency treatment', hint: 'Urgent care when you cannot be asked.' },
  HPAYMT: { label: 'Payment', hint: 'Billing and insurance for your care.' },
  HOPERAT: { label: 'Healthcare operations', hint: 'Running the service: quality checks, audits.' },
  HRESCH: { label: 'Research', hint: 'Medical research studies.' },
  PUBHLTH: { label: 'Public health', hint: 'Reporting to public health authorities.' },
  PATRQT: { label: 'Your own request', hint: 'Someone acting because you asked them to.' },
  FAMRQT: { label: "Your family's request", hint: 'Someone acting because your family asked.' },
};

export const CATEGORY_LABELS: Record<DataCategory, string> = {
  activity: 'Physical activity',
  administrative: 'Administrative details',
  allergy: 'Allergies',
  'care-plan': 'Care plans and goals',
  claim: 'Claims and insurance',
  condition: 'Conditions and diagnoses',
  demographics: 'Personal details',
  device: 'Medical devices',
  'diagnostic-report': 'Diagnostic reports',
  document: 'Documents and letters',
  encounter: 'Visits and admissions',
  exam: 'Examinations',
  'family-history': 'Family history',
  imaging: 'Imaging (X-ray, scans)',
  immunization: 'Vaccinations',
  laboratory: 'Laboratory results',
  medication: 'Medicines',
  other: 'Other records',
  procedure: 'Procedures and operations',
  'social-history': 'Lifestyle (smoking, alcohol…)',
  survey: 'Questionnaires',
  therapy: 'Therapies',
  'vital-signs': 'Vital signs (blood pressure, pulse…)',
};

/** The categories in the order the consent form lists them: by their words, not their codes. */
export const CATEGORIES_BY_LABEL: readonly DataCategory[] = [...DATA_CATEGORIES].sort((a, b) =>
  CATEGORY_LABELS[a].localeCompare(CATEGORY_LABELS[b]),
);

export const CODE_SYSTEM_NAMES: Record<string, string> = {
  'http://loinc.org': 'LOINC',
  'http://snomed.info/sct': 'SNOMED CT',
  'http://www.nlm.nih.gov/research/umls/rxnorm': 'RxNorm',
  'http://hl7.org/fhir/sid/cvx': 'CVX',
  'http://hl7.org/fhir/sid/icd-10': 'ICD-10',
  'http://hl7.org/fhir/sid/icd-10-cm': 'ICD-10-CM',
  'http://unitsofmeasure.org': 'UCUM',
  // what C-CDA documents code visits and care professionals with
  'http://www.ama-assn.org/go/cpt': 'CPT',
  'http://nucc.org/provider-taxonomy': 'NUCC',
};

/** A purpose of use with its label (`purpose` is a PurposeOfUse code; anything else is shown as it is). */
export function purposeText(purpose: string): string {
  const known = (PURPOSE_LABELS as Record<string, { label: string }>)[purpose];
  return known ? `${known.label} (${purpose})` : purpose;
}

export function categoryText(category: string): string {
  const known = (CATEGORY_LABELS as Record<string, string>)[category];
  return known ?? category;
}

export function codeText(system: string | undefined, code: string): string {
  if (system === undefined) return code;
  return `${CODE_SYSTEM_NAMES[system] ?? system} ${code}`;
}

/** What a consent covers, in words: "Laboratory results; LOINC 4548-4". */
export function scopeText(scope: ConsentScope): string {
  const parts = [...scope.categories.map(categoryText), ...scope.codes.map((c) => codeText(c.system, c.code))];
  return parts.length > 0 ? parts.join('; ') : 'nothing';
}

/** A known hospital's name, so patients see "Hospital One (Hospital1MSP)", not only an MSP ID. */
export function granteeText(grantee: Grantee, hospitals: readonly { name: string; mspId: string }[]): string {
  if (grantee.kind === 'study') return studyGranteeText(grantee.id);
  if (grantee.kind === 'organization') {
    const hospital = hospitals.find((h) => h.mspId === grantee.id);
    return hospital && hospital.name !== grantee.id ? `${hospital.name} (${grantee.id})` : grantee.id;
  }
  return `One person (identity ${grantee.id})`;
}

const DATE_TIME = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
const DATE = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium' });

/** `<time>` keeps the exact instant machine-readable while the text stays short. */
export function when(iso: string | undefined): Html {
  if (!iso) return html`<span class="muted">unknown</span>`;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return html`${iso}`;
  return html`<time datetime="${new Date(t).toISOString()}">${DATE_TIME.format(t)}</time>`;
}

/** A day as plain text ("3 Mar 2025"), for where no markup may go (an SVG description). */
export function dayText(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : DATE.format(t);
}

export function day(iso: string): Html {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return html`${iso}`;
  return html`<time datetime="${new Date(t).toISOString()}">${DATE.format(t)}</time>`;
}

/** The consent's state as the patient would say it. */
export function consentState(consent: ConsentRecord, now: number): 'active' | 'not-started' | 'expired' | 'revoked' {
  if (consent.status === 'revoked') return 'revoked';
  if (Date.parse(consent.period.end) <= now) return 'expired';
  if (Date.parse(consent.period.start) > now) return 'not-started';
  return 'active';
}

/** "2025-03-01" (a date input) → local midnight of that day as an ISO instant; undefined if invalid. */
export function localDayStart(value: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(y, mo - 1, d);
  if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d) return undefined;
  return date.toISOString();
}

/** The instant the given local day ends (next midnight): for inclusive "until" dates and "to" filters. */
export function localDayEnd(value: string): string | undefined {
  const start = localDayStart(value);
  if (start === undefined) return undefined;
  const date = new Date(start);
  date.setDate(date.getDate() + 1);
  return date.toISOString();
}

/** Today's date in the form a date input takes, in local time. */
export function localDateInput(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
}
