/**
 * Whether the vault meets an offer's criteria, judged on this device only (issue 16 item 2): the
 * ledger and the researcher never learn the answer, so a non-matching patient and one who declines
 * look the same from outside. Pure: the caller reads the vault.
 */
import {
  ageInYears,
  isExactNumber,
  normalizeTime,
  numberText,
  type DataElement,
  type OfferCriteria,
  type ResearchCode,
} from '@phr/common';

/** What the Patient resource tells research: the person's facts that Safe Harbor may keep in some form. */
export interface PatientFacts {
  birthDate?: string;
  /** FHIR administrative gender code. */
  gender?: string;
  postalCode?: string;
}

export interface MatchResult {
  matches: boolean;
  /** The coded elements that meet the code, value and period criteria. */
  matchingElements: number;
  /** Why not, in words; empty when it matches. */
  reasons: string[];
}

const GENDERS = new Set(['male', 'female', 'other', 'unknown']);

/** The facts of a FHIR Patient resource (its home address first); undefined fields when absent or malformed. */
export function patientFacts(resource: Record<string, unknown> | undefined): PatientFacts {
  if (!resource || resource.resourceType !== 'Patient') return {};
  const facts: PatientFacts = {};
  if (typeof resource.birthDate === 'string') facts.birthDate = resource.birthDate;
  if (typeof resource.gender === 'string' && GENDERS.has(resource.gender)) facts.gender = resource.gender;
  const addresses = Array.isArray(resource.address) ? (resource.address as unknown[]) : [];
  const withCode = addresses.filter(
    (a): a is { use?: unknown; postalCode: string } =>
      typeof a === 'object' && a !== null && typeof (a as { postalCode?: unknown }).postalCode === 'string',
  );
  const home = withCode.find((a) => a.use === 'home') ?? withCode[0];
  if (home) facts.postalCode = home.postalCode;
  return facts;
}

/** Whether a coded element has one of `codes` (a code without `code` takes any code of its system). */
export function hasWantedCode(codes: readonly ResearchCode[], e: Pick<DataElement, 'system' | 'code'>): boolean {
  return codes.some((c) => c.system === e.system && (c.code === undefined || c.code === e.code));
}

/** An element's value as a number, when it is one. */
export function numericValue(value: DataElement['value']): number | undefined {
  if (!isExactNumber(value)) return undefined;
  const n = Number(numberText(value));
  return Number.isFinite(n) ? n : undefined;
}

function inValueRange(e: DataElement, range: NonNullable<OfferCriteria['valueRange']>): boolean {
  const n = numericValue(e.value);
  if (n === undefined) return false;
  if (range.unit !== undefined && e.unit !== range.unit) return false;
  return (range.min === undefined || n >= range.min) && (range.max === undefined || n <= range.max);
}

function inPeriod(e: DataElement, period: NonNullable<OfferCriteria['period']>): boolean {
  if (typeof e.time !== 'string') return false;
  const at = Date.parse(normalizeTime(e.time));
  return Number.isFinite(at) && at >= Date.parse(period.start) && at < Date.parse(period.end);
}

/**
 * Matches when at least one coded element has a criteria code, a value in `valueRange` and a time
 * in `period` (each when given), and the patient's age today is in `ageBand` (when given; an
 * unknown birth date does not match a band).
 */
export function matchOffer(
  criteria: OfferCriteria,
  input: { elements: readonly DataElement[]; patient: PatientFacts; now: Date },
): MatchResult {
  const reasons: string[] = [];
  const coded = input.elements.filter((e) => e.kind === 'coded' && hasWantedCode(criteria.codes, e));
  let matching = coded;
  if (coded.length === 0) reasons.push('no record with the codes the study looks for');
  else {
    if (criteria.valueRange) {
      const range = criteria.valueRange;
      matching = matching.filter((e) => inValueRange(e, range));
      if (matching.length === 0) reasons.push('no result in the value range the study looks for');
    }
    if (criteria.period && matching.length > 0) {
      const period = criteria.period;
      matching = matching.filter((e) => inPeriod(e, period));
      if (matching.length === 0) reasons.push('no record in the period the study looks for');
    }
  }
  if (criteria.ageBand) {
    const age = ageInYears(input.patient.birthDate, input.now);
    const { min, max } = criteria.ageBand;
    if (age === undefined) reasons.push('your age is not known from your records');
    else if ((min !== undefined && age < min) || (max !== undefined && age > max)) {
      reasons.push('your age is outside the age band of the study');
    }
  }
  return { matches: reasons.length === 0, matchingElements: matching.length, reasons };
}
