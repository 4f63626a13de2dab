/**
 * A trend's values, read from the patient's Observations: each series' quantities (the
 * Observation's own value, or a component's), oldest first, each with the exact text the hospital
 * wrote and the number the chart plots. Nothing here is markup: the view escapes it all.
 *
 * One chart has one unit on its axis. Units are compared by their UCUM code where the hospital
 * coded one (so "mmHg" and "mm[Hg]" from the same system agree), else by the unit as written; the
 * axis takes the unit most values have, and values in any other unit — or given only as a bound
 * ("< 5") — stay in the table but are not drawn.
 */
import { isExactNumber, numberText } from '@phr/common';
import type { VaultElement } from '../../vault/vault-types';
import { conceptText } from '../resource-summary';
import { codeText } from '../format';
import { codeMatches, type CodeRef, type TrendDefinition } from './trend-definitions';

const UCUM = 'http://unitsofmeasure.org';

/** Results a hospital withdrew: never part of a trend (the Records table still lists them). */
const WITHDRAWN_STATUSES: ReadonlySet<string> = new Set(['entered-in-error', 'cancelled']);

export type NotDrawnReason = 'other-unit' | 'bound';

export interface TrendValue {
  /** The Observation it comes from: "<deliveryId>/<segmentId>". */
  ref: string;
  /** Index into the trend's series. */
  series: number;
  /** The clinical time as stored (ISO 8601). */
  time: string;
  /** The same instant in milliseconds: what the values are sorted and placed by. */
  at: number;
  /** The number exactly as the hospital wrote it: `7.10` stays `7.10`. */
  text: string;
  /** What the chart plots: the number of `text`. */
  value: number;
  /** "<", "<=", ">=", ">": the value is a bound, not a measurement. */
  comparator?: string;
  /** The unit as written for people ("mmHg"); absent when the value has none. */
  unit?: string;
  /** What units are compared by: the UCUM code, else the unit as written ('' for none). */
  unitKey: string;
  /** Why the chart leaves this value out; absent when it is drawn. */
  notDrawn?: NotDrawnReason;
}

export interface Trend {
  id: string;
  title: string;
  /** Each series' code in words: "LOINC 4548-4". */
  codes: string[];
  series: { label?: string }[];
  /** Oldest first; for one instant, in series order. */
  values: TrendValue[];
  /** The unit on the chart's axis: the one most values have. Absent when no value can be drawn. */
  axisUnit?: { key: string; text?: string };
  /** Whether a chart is drawn: at least one series has two values on the axis. */
  charted: boolean;
  /** Numeric values left out because their record has no usable date. */
  undated: number;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

function codings(concept: unknown): Json[] {
  return isObject(concept) && Array.isArray(concept.coding) ? concept.coding.filter(isObject) : [];
}

const names = (concept: unknown, ref: CodeRef): boolean => codings(concept).some((c) => codeMatches(c, ref));

type Measured = Pick<TrendValue, 'text' | 'value' | 'comparator' | 'unit' | 'unitKey'>;

/** A Quantity's number and unit; undefined when it holds no finite number. */
function quantity(q: unknown): Measured | undefined {
  if (!isObject(q) || !isExactNumber(q.value)) return undefined;
  const text = numberText(q.value);
  // from the text: Number() of a JsonNumber throws for values a double cannot hold (1e400)
  const value = Number(text);
  if (!Number.isFinite(value)) return undefined;
  const unit = str(q.unit) ?? str(q.code);
  const ucum = q.system === UCUM ? str(q.code) : undefined;
  const measured: Measured = { text, value, unitKey: ucum ?? unit ?? '' };
  if (unit !== undefined) measured.unit = unit;
  const comparator = str(q.comparator);
  if (comparator !== undefined) measured.comparator = comparator;
  return measured;
}

/** Each series' quantities in one Observation: its own value where its code is the series', its components'. */
function measurements(resource: Json, definition: TrendDefinition): { series: number; measured: Measured }[] {
  const found: { series: number; measured: Measured }[] = [];
  const components = Array.isArray(resource.component) ? resource.component.filter(isObject) : [];
  definition.series.forEach((s, series) => {
    const own = names(resource.code, s.code) ? quantity(resource.valueQuantity) : undefined;
    if (own) found.push({ series, measured: own });
    for (const component of components) {
      const measured = names(component.code, s.code) ? quantity(component.valueQuantity) : undefined;
      if (measured) found.push({ series, measured });
    }
  });
  return found;
}

/** The unit most drawable values have; on a tie, the newest value's. Undefined when none can be drawn. */
function chooseAxisUnit(values: readonly TrendValue[]): { key: string; text?: string } | undefined {
  const drawable = values.filter((v) => v.comparator === undefined);
  const counts = new Map<string, number>();
  for (const v of drawable) counts.set(v.unitKey, (counts.get(v.unitKey) ?? 0) + 1);
  const most = Math.max(0, ...counts.values());
  // newest first, so the first with the highest count is the newest of the tied units
  const newest = [...drawable].reverse().find((v) => counts.get(v.unitKey) === most);
  if (!newest) return undefined;
  return newest.unit === undefined ? { key: newest.unitKey } : { key: newest.unitKey, text: newest.unit };
}

const perSeries = (values: readonly TrendValue[], n: number, keep: (v: TrendValue) => boolean): number[] =>
  Array.from({ length: n }, (_, series) => values.filter((v) => v.series === series && keep(v)).length);

/**
 * The trend of one definition in these records (whole Observation resources), or undefined when
 * no series has two numeric values: a single result is not a trend.
 */
export function collectTrend(definition: TrendDefinition, rows: readonly VaultElement[]): Trend | undefined {
  const values: TrendValue[] = [];
  let undated = 0;
  let title = definition.title;
  for (const row of rows) {
    const resource = row.element.resource;
    if (row.element.kind !== 'resource' || row.element.resourceType !== 'Observation' || !isObject(resource)) continue;
    if (typeof resource.status === 'string' && WITHDRAWN_STATUSES.has(resource.status)) continue;
    const found = measurements(resource, definition);
    if (found.length === 0) continue;
    // a searched code is named in the hospital's own words, from the newest record (rows come newest first)
    title ??= conceptText(resource.code);
    const at = row.element.time === undefined ? Number.NaN : Date.parse(row.element.time);
    if (Number.isNaN(at)) {
      undated += found.length;
      continue;
    }
    const ref = `${row.deliveryId}/${row.segmentId}`;
    for (const { series, measured } of found) {
      values.push({ ref, series, time: row.element.time as string, at, ...measured });
    }
  }
  if (!perSeries(values, definition.series.length, () => true).some((n) => n >= 2)) return undefined;

  values.sort((a, b) => a.at - b.at || a.series - b.series || a.ref.localeCompare(b.ref));
  const axisUnit = chooseAxisUnit(values);
  for (const v of values) {
    if (v.comparator !== undefined) v.notDrawn = 'bound';
    else if (v.unitKey !== axisUnit?.key) v.notDrawn = 'other-unit';
  }
  const drawn = perSeries(values, definition.series.length, (v) => v.notDrawn === undefined);
  return {
    id: definition.id,
    title: title ?? definition.series[0]?.code.code ?? definition.id,
    codes: definition.series.map((s) => codeText(s.code.system, s.code.code)),
    series: definition.series.map((s) => (s.label === undefined ? {} : { label: s.label })),
    values,
    ...(axisUnit ? { axisUnit } : {}),
    charted: drawn.some((n) => n >= 2),
    undated,
  };
}

/** A value as the patient reads it: "6.10 %", "< 5 mmol/L", the number exactly as written. */
export function valueText(v: Pick<TrendValue, 'text' | 'comparator' | 'unit'>): string {
  return `${v.comparator === undefined ? '' : `${v.comparator} `}${v.text}${v.unit === undefined ? '' : ` ${v.unit}`}`;
}
