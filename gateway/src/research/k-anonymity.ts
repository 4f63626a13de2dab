/**
 * k-anonymity for institutional research extracts: the rows' quasi-identifiers are generalised
 * along a fixed ladder, then the rows of every equivalence class holding fewer than k patients are
 * suppressed. Classes count distinct patients, not rows: five rows of one patient are one person.
 * Pure: no I/O, no clock (the reference year is given).
 */

/** The quasi-identifiers a request may ask for, in the order extracts list them. */
export const QUASI_IDENTIFIERS = ['ageBand', 'gender', 'postalCode3', 'year'] as const;
export type QuasiIdentifier = (typeof QUASI_IDENTIFIERS)[number];

/** The smallest k a request may ask for (issue 16: k ≥ 5). */
export const MIN_K = 5;

/** The share of rows suppression may take on a rung before the next, coarser rung is tried. */
export const DEFAULT_MAX_SUPPRESSED = 0.05;

/** A row's raw quasi-identifiers, as the standardized DB keeps them. `patient` is any opaque key. */
export interface QiRecord {
  patient: string;
  birthYear?: number;
  gender?: string;
  postalCode3?: string;
  /** The year of the element's time (YYYY). */
  year?: string;
}

/** How coarse each quasi-identifier is at one rung of the ladder. */
export interface GeneralisationLevel {
  /** 0 = as fine as the extract ever is; each rung coarsens one thing more. */
  level: number;
  ageBand: '10y' | '20y' | 'suppressed';
  postalCode3: 'kept' | 'suppressed';
  gender: 'kept' | 'suppressed';
}

/**
 * The ladder: age bands widen (10 → 20 years) before the postal area goes, and age before gender
 * (gender halves classes at most, and studies need it most). Years are never generalised: a row's
 * year is what the researcher asked for; rows in too small a year class are suppressed instead.
 * Classes are per row, which protects a patient only if the rows carrying a year cannot be joined
 * into the patient's set of years: the extract builder releases such rows unlinked.
 */
export const GENERALISATION_LADDER: readonly GeneralisationLevel[] = [
  { level: 0, ageBand: '10y', postalCode3: 'kept', gender: 'kept' },
  { level: 1, ageBand: '20y', postalCode3: 'kept', gender: 'kept' },
  { level: 2, ageBand: '20y', postalCode3: 'suppressed', gender: 'kept' },
  { level: 3, ageBand: 'suppressed', postalCode3: 'suppressed', gender: 'kept' },
  { level: 4, ageBand: 'suppressed', postalCode3: 'suppressed', gender: 'suppressed' },
];

/** The value a generalised-away quasi-identifier shows. */
export const SUPPRESSED = '*';
/** The value of a quasi-identifier the source does not know. */
export const UNKNOWN = 'unknown';

export interface KAnonymityOptions {
  k: number;
  quasiIdentifiers: readonly QuasiIdentifier[];
  /** Ages are this year minus the birth year (the extract's year). */
  referenceYear: number;
  /**
   * The share of rows (0..1) the first rung may suppress to be taken; when no rung stays within it,
   * the rung suppressing fewest rows is taken. Default DEFAULT_MAX_SUPPRESSED.
   */
  maxSuppressedShare?: number;
}

export type QiValues = Partial<Record<QuasiIdentifier, string>>;

export interface KAnonymityResult {
  level: GeneralisationLevel;
  /** Per input row, in order: its generalised quasi-identifiers, or undefined when suppressed. */
  values: (QiValues | undefined)[];
  /** Patients in the smallest class kept (≥ k), or 0 when nothing is kept. */
  kReached: number;
  classes: number;
  keptRows: number;
  suppressedRows: number;
  keptPatients: number;
  /** Patients none of whose rows are kept. */
  suppressedPatients: number;
}

export class KAnonymityError extends Error {
  override readonly name = 'KAnonymityError';
  readonly code = 'INVALID_OPTIONS';
}

/**
 * Generalises and suppresses `records` to k-anonymity over `quasiIdentifiers`.
 * @throws KAnonymityError when k is below MIN_K or not an integer, or a quasi-identifier is unknown or repeated.
 */
export function kAnonymize(records: readonly QiRecord[], options: KAnonymityOptions): KAnonymityResult {
  const { k, quasiIdentifiers, referenceYear } = options;
  const maxShare = options.maxSuppressedShare ?? DEFAULT_MAX_SUPPRESSED;
  if (!Number.isInteger(k) || k < MIN_K) throw new KAnonymityError(`k must be an integer of at least ${MIN_K}`);
  if (new Set(quasiIdentifiers).size !== quasiIdentifiers.length) {
    throw new KAnonymityError('quasi-identifiers must not repeat');
  }
  for (const q of quasiIdentifiers) {
    if (!(QUASI_IDENTIFIERS as readonly string[]).includes(q))
      throw new KAnonymityError(`unknown quasi-identifier ${q}`);
  }
  if (!(maxShare >= 0 && maxShare <= 1)) throw new KAnonymityError('maxSuppressedShare must lie in 0..1');

  let best: KAnonymityResult | undefined;
  const tried = new Set<string>();
  for (const level of GENERALISATION_LADDER) {
    // Rungs that differ only in quasi-identifiers the request does not release are the same rung.
    const signature = quasiIdentifiers.map((q) => (q === 'year' ? 'year' : level[q])).join('|');
    if (tried.has(signature)) continue;
    tried.add(signature);
    const result = atLevel(records, level, k, quasiIdentifiers, referenceYear);
    if (result.suppressedRows <= maxShare * records.length) return result;
    if (!best || result.suppressedRows < best.suppressedRows) best = result;
  }
  // The ladder is never empty: `best` is set by its first rung.
  return best as KAnonymityResult;
}

/** The age band of a birth year in a reference year (Safe Harbor groups 90 and over). */
export function ageBand(birthYear: number | undefined, referenceYear: number, width: '10y' | '20y'): string {
  if (birthYear === undefined) return UNKNOWN;
  const age = referenceYear - birthYear;
  if (!Number.isFinite(age) || age < 0) return UNKNOWN;
  const span = width === '10y' ? 10 : 20;
  const top = width === '10y' ? 90 : 80;
  if (age >= top) return `${top}+`;
  const low = Math.floor(age / span) * span;
  return `${low}-${low + span - 1}`;
}

function generalise(
  r: QiRecord,
  level: GeneralisationLevel,
  quasiIdentifiers: readonly QuasiIdentifier[],
  referenceYear: number,
): QiValues {
  const out: QiValues = {};
  for (const q of quasiIdentifiers) {
    switch (q) {
      case 'ageBand':
        out.ageBand = level.ageBand === 'suppressed' ? SUPPRESSED : ageBand(r.birthYear, referenceYear, level.ageBand);
        break;
      case 'gender':
        out.gender = level.gender === 'suppressed' ? SUPPRESSED : (r.gender ?? UNKNOWN);
        break;
      case 'postalCode3':
        out.postalCode3 = level.postalCode3 === 'suppressed' ? SUPPRESSED : (r.postalCode3 ?? UNKNOWN);
        break;
      case 'year':
        out.year = r.year ?? UNKNOWN;
        break;
    }
  }
  return out;
}

function atLevel(
  records: readonly QiRecord[],
  level: GeneralisationLevel,
  k: number,
  quasiIdentifiers: readonly QuasiIdentifier[],
  referenceYear: number,
): KAnonymityResult {
  const generalised = records.map((r) => generalise(r, level, quasiIdentifiers, referenceYear));
  const keys = generalised.map((v) => JSON.stringify(quasiIdentifiers.map((q) => v[q])));
  const classes = new Map<string, Set<string>>();
  records.forEach((r, i) => {
    const key = keys[i] as string;
    (classes.get(key) ?? classes.set(key, new Set()).get(key))!.add(r.patient);
  });
  const values: (QiValues | undefined)[] = [];
  const kept = new Set<string>();
  const all = new Set<string>();
  let keptRows = 0;
  records.forEach((r, i) => {
    all.add(r.patient);
    if ((classes.get(keys[i] as string)?.size ?? 0) >= k) {
      values.push(generalised[i]);
      kept.add(r.patient);
      keptRows++;
    } else values.push(undefined);
  });
  const sizes = [...classes.values()].map((s) => s.size).filter((n) => n >= k);
  return {
    level,
    values,
    kReached: sizes.length > 0 ? Math.min(...sizes) : 0,
    classes: sizes.length,
    keptRows,
    suppressedRows: records.length - keptRows,
    keptPatients: kept.size,
    suppressedPatients: all.size - kept.size,
  };
}
