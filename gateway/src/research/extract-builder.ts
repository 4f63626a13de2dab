import { randomInt } from 'node:crypto';
import { yearOf } from '@phr/common';
import type { SourceRow } from './extract-source';
import { kAnonymize, QUASI_IDENTIFIERS, type GeneralisationLevel, type QuasiIdentifier } from './k-anonymity';

/**
 * One row of an institutional extract: a participant number that means something only inside
 * this extract (only when rows are linked, see ExtractReport.linkedRows), the generalised
 * quasi-identifiers asked for, and one coded value. No pseudonym, element id, display text,
 * free-text value or date finer than the year.
 */
export interface ExtractRow {
  participant?: string;
  ageBand?: string;
  gender?: string;
  postalCode3?: string;
  year?: string;
  system: string;
  code: string;
  value?: string;
  unit?: string;
}

export type ExclusionReason = 'optedOut' | 'erased' | 'notRegistered';

export interface ExtractReport {
  kRequested: number;
  /** The smallest equivalence class over the quasi-identifiers, in participants (0: nothing kept). */
  kReached: number;
  quasiIdentifiers: QuasiIdentifier[];
  /**
   * Whether a participant number ties each patient's rows together. Not when `year` is released:
   * classes are formed per row, and one patient's set of years would be a quasi-identifier no
   * class protects (the only one with readings in 2009, 2014 and 2021), so each row then stands alone.
   */
  linkedRows: boolean;
  /** The rung of the generalisation ladder used. */
  generalisation: GeneralisationLevel;
  rows: number;
  participants: number;
  /** Rows (and participants left with no row) suppressed because their class was smaller than k. */
  suppressedRows: number;
  suppressedParticipants: number;
  /** Patients left out before anything else, by reason. */
  excluded: Record<ExclusionReason, number>;
  /** Values not released: free text (a string value may name anyone), units that were not plain unit codes. */
  dropped: { textValues: number; units: number };
}

export interface BuiltExtract {
  /**
   * Linked: sorted by participant, a participant's rows in the order the hospital stored them.
   * Unlinked: sorted by their content, so neither numbers nor order tie one patient's rows together.
   */
  rows: ExtractRow[];
  /** The pseudonyms of the participants: for the ledger only, never in the extract. */
  members: string[];
  report: ExtractReport;
}

export interface BuildOptions {
  k: number;
  quasiIdentifiers: readonly QuasiIdentifier[];
  referenceYear: number;
  /** Patients to leave out, and why (opted out of research, erased, not on the ledger). */
  excluded: ReadonlyMap<string, ExclusionReason>;
  maxSuppressedShare?: number;
  /** A random integer in [0, n): participant numbers are shuffled so they say nothing of the patients' order. */
  randomInt?: (n: number) => number;
}

/** A unit the extract may carry: a UCUM-like code (printable, no spaces), not a phrase. */
const UNIT = /^[\x21-\x7e]{1,40}$/;

/**
 * The extract of `source`: excluded patients left out, the rest generalised and suppressed to
 * k-anonymity, participants numbered P001… in random order (or not numbered at all when `year` is
 * released: see ExtractReport.linkedRows). Pure but for the shuffle.
 * @throws KAnonymityError for a k below 5 or bad quasi-identifiers.
 */
export function buildExtract(source: readonly SourceRow[], o: BuildOptions): BuiltExtract {
  const qis = QUASI_IDENTIFIERS.filter((q) => o.quasiIdentifiers.includes(q));
  // Every other quasi-identifier is the patient's own, so per-row classes are per-patient classes;
  // the year varies by row, so rows carrying it must not be joinable into a patient's set of years.
  const linkedRows = !qis.includes('year');
  const excluded: Record<ExclusionReason, number> = { optedOut: 0, erased: 0, notRegistered: 0 };
  const counted = new Set<string>();
  const eligible: SourceRow[] = [];
  for (const row of source) {
    const reason = o.excluded.get(row.pseudonym);
    if (reason === undefined) {
      eligible.push(row);
    } else if (!counted.has(row.pseudonym)) {
      counted.add(row.pseudonym);
      excluded[reason]++;
    }
  }

  const anonymous = kAnonymize(
    eligible.map((r) => ({
      patient: r.pseudonym,
      ...(r.birthYear !== undefined ? { birthYear: r.birthYear } : {}),
      ...(r.gender !== undefined ? { gender: r.gender } : {}),
      ...(r.postalCode3 !== undefined ? { postalCode3: r.postalCode3 } : {}),
      ...(yearOf(r.time) !== undefined ? { year: yearOf(r.time) } : {}),
    })),
    {
      k: o.k,
      quasiIdentifiers: qis,
      referenceYear: o.referenceYear,
      ...(o.maxSuppressedShare !== undefined ? { maxSuppressedShare: o.maxSuppressedShare } : {}),
    },
  );

  const members = [...new Set(eligible.filter((_, i) => anonymous.values[i] !== undefined).map((r) => r.pseudonym))];
  const numbers = linkedRows ? participantNumbers(members, o.randomInt ?? randomInt) : undefined;
  const dropped = { textValues: 0, units: 0 };
  const rows: ExtractRow[] = [];
  eligible.forEach((r, i) => {
    const values = anonymous.values[i];
    if (!values) return;
    const row: ExtractRow = {
      ...(numbers ? { participant: numbers.get(r.pseudonym) } : {}),
      ...values,
      system: r.system,
      code: r.code,
    };
    if (r.valueType === 'string') dropped.textValues++;
    else if (r.valueText !== undefined) row.value = r.valueText;
    if (r.unit !== undefined) {
      if (UNIT.test(r.unit)) row.unit = r.unit;
      else dropped.units++;
    }
    rows.push(row);
  });
  if (linkedRows) {
    // Stable: a participant's rows keep the stored order.
    rows.sort((a, b) => compare(a.participant as string, b.participant as string));
  } else {
    // The stored order groups a patient's rows: order by what the rows say instead.
    const columns = extractColumns(qis, false);
    const keyOf = (r: ExtractRow) => JSON.stringify(columns.map((c) => r[c] ?? ''));
    rows.sort((a, b) => compare(keyOf(a), keyOf(b)));
  }

  return {
    rows,
    members: [...members].sort(),
    report: {
      kRequested: o.k,
      kReached: anonymous.kReached,
      quasiIdentifiers: qis,
      linkedRows,
      generalisation: anonymous.level,
      rows: rows.length,
      participants: members.length,
      suppressedRows: anonymous.suppressedRows,
      suppressedParticipants: anonymous.suppressedPatients,
      excluded,
      dropped,
    },
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** P001, P002… (wider when there are more than 999) assigned in a random order. */
function participantNumbers(members: readonly string[], random: (n: number) => number): Map<string, string> {
  const order = [...members];
  for (let i = order.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [order[i], order[j]] = [order[j] as string, order[i] as string];
  }
  const width = Math.max(3, String(order.length).length);
  return new Map(order.map((p, i) => [p, `P${String(i + 1).padStart(width, '0')}`]));
}

/** The CSV columns of an extract over `quasiIdentifiers`; `participant` only when rows are linked. */
export function extractColumns(
  quasiIdentifiers: readonly QuasiIdentifier[],
  linkedRows: boolean,
): (keyof ExtractRow)[] {
  return [
    ...(linkedRows ? (['participant'] as const) : []),
    ...QUASI_IDENTIFIERS.filter((q) => quasiIdentifiers.includes(q)),
    'system',
    'code',
    'value',
    'unit',
  ];
}

/** RFC 4180 CSV (CRLF line ends, fields quoted when they must be), with a header row. */
export function extractCsv(
  rows: readonly ExtractRow[],
  quasiIdentifiers: readonly QuasiIdentifier[],
  linkedRows: boolean,
): string {
  const columns = extractColumns(quasiIdentifiers, linkedRows);
  const lines = [columns.join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvField(row[c] ?? '')).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
