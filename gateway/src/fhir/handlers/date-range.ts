import { badRequest } from '@phr/common';

/** A half-open interval of instants [from, to), in epoch milliseconds. */
export interface InstantRange {
  from: number;
  to: number;
}

export const UNBOUNDED: InstantRange = { from: -Infinity, to: Infinity };

const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const PREFIXES = ['eq', 'ge', 'gt', 'le', 'lt'] as const;
type Prefix = (typeof PREFIXES)[number];

/**
 * The range a FHIR date value stands for, by its precision (FHIR R4 §3.1.1.4.8): `2026` is the
 * whole year, `2026-06-01` the day, `2026-06-01T10:00Z` the minute. Dates without a time zone are
 * taken as UTC (the ledger's clock).
 */
export function dateValueRange(value: string): InstantRange {
  const d = DATE.exec(value);
  if (d) {
    const year = Number(d[1]);
    const month = d[2] === undefined ? undefined : Number(d[2]) - 1;
    const day = d[3] === undefined ? undefined : Number(d[3]);
    if (month !== undefined && (month < 0 || month > 11)) throw invalid(value);
    const from = utc(year, month ?? 0, day ?? 1);
    const to =
      day !== undefined
        ? utc(year, month ?? 0, day + 1)
        : month !== undefined
          ? utc(year, month + 1, 1)
          : utc(year + 1, 0, 1);
    if (day !== undefined && new Date(from).getUTCDate() !== day) throw invalid(value);
    return { from, to };
  }
  const t = DATE_TIME.exec(value);
  if (t) {
    const from = Date.parse(value);
    if (Number.isNaN(from)) throw invalid(value);
    const step = t[7] ? 1 : t[6] ? 1_000 : 60_000;
    return { from, to: from + step };
  }
  throw invalid(value);
}

/**
 * Intersects every `date` parameter: each value is `[prefix]date` with prefix eq (default), ge,
 * gt, le or lt; a comma (OR) inside one parameter is refused, since the ledger reads one range.
 */
export function dateParamsRange(values: readonly (readonly string[])[]): InstantRange {
  let range = UNBOUNDED;
  for (const alternatives of values) {
    if (alternatives.length !== 1)
      throw badRequest('date takes one value per parameter (repeat the parameter to AND)', ['date']);
    const raw = alternatives[0] as string;
    const prefix = (PREFIXES as readonly string[]).includes(raw.slice(0, 2)) ? (raw.slice(0, 2) as Prefix) : undefined;
    const { from, to } = dateValueRange(prefix ? raw.slice(2) : raw);
    const bound: InstantRange =
      prefix === 'ge'
        ? { from, to: Infinity }
        : prefix === 'gt'
          ? { from: to, to: Infinity }
          : prefix === 'le'
            ? { from: -Infinity, to }
            : prefix === 'lt'
              ? { from: -Infinity, to: from }
              : { from, to };
    range = { from: Math.max(range.from, bound.from), to: Math.min(range.to, bound.to) };
  }
  return range;
}

/** Instants the ledger can be asked about: ISO 8601 with a four-digit year. */
const FIRST_INSTANT = utc(0, 0, 1);
const LAST_INSTANT = utc(10000, 0, 1) - 1;

/** The range as the ledger's ListAccessEvents bounds (ISO instants; empty = no bound). */
export function ledgerBounds(range: InstantRange): { from: string; to: string } {
  return {
    from: range.from > FIRST_INSTANT && range.from <= LAST_INSTANT ? new Date(range.from).toISOString() : '',
    to: range.to > FIRST_INSTANT && range.to <= LAST_INSTANT ? new Date(range.to).toISOString() : '',
  };
}

/** Date.UTC, but years 0-99 are years 0-99 (Date.UTC would make them 1900-1999). */
function utc(year: number, month: number, day: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, day);
  return d.getTime();
}

function invalid(value: string) {
  return badRequest(
    `date value ${JSON.stringify(value)} is not a FHIR date or dateTime with an optional prefix eq, ge, gt, le or lt`,
    ['date'],
  );
}
