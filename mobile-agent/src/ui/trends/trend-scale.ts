/**
 * The axes of a trend chart: round numbers on the value axis, calendar boundaries on the time
 * axis. Ticks are for reading the chart at a glance; every exact value and date is in the table
 * beside it, so tick labels may round.
 *
 * The time axis works in UTC, so the same records draw the same chart on any machine; a tick on
 * 1 January is at most a few hours from the patient's own new year, which a chart spanning months
 * or years cannot show anyway.
 */

export interface Tick {
  at: number;
  label: string;
}

export interface Axis {
  min: number;
  max: number;
  ticks: Tick[];
}

const DAY = 86_400_000;

/** 1, 2, 2.5 or 5 times a power of ten: the step that gives at most `maxTicks` intervals over `span`. */
export function niceStep(span: number, maxTicks: number): number {
  const raw = span / maxTicks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const normal = raw / magnitude;
  const nice = normal <= 1 ? 1 : normal <= 2 ? 2 : normal <= 2.5 ? 2.5 : normal <= 5 ? 5 : 10;
  return nice * magnitude;
}

/** Decimals a label needs to tell ticks `step` apart; exponent form past what toFixed writes well. */
function numberLabel(step: number): (n: number) => string {
  const exponent = Math.floor(Math.log10(step));
  const halfStep = Math.abs(step / 10 ** exponent - 2.5) < 1e-9;
  const decimals = Math.max(0, -exponent + (halfStep ? 1 : 0));
  if (decimals > 20 || step >= 1e21) return (n) => (n === 0 ? '0' : n.toExponential(2));
  return (n) => n.toFixed(decimals);
}

/**
 * The value axis: from a round number at or below the lowest value to one at or above the
 * highest. A single level (all values equal) gets room around it so its line sits mid-chart.
 */
export function valueAxis(values: readonly number[], maxTicks = 5): Axis {
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (low === high) {
    const room = Math.abs(low) / 10 || 1;
    low -= room;
    high += room;
  }
  const step = niceStep(high - low, maxTicks);
  // too large or too small for the steps to be told apart: label the ends only
  if (!Number.isFinite(step) || step <= 0 || (high - low) / step > 100) {
    return { min: low, max: high, ticks: [low, high].map((at) => ({ at, label: at.toPrecision(3) })) };
  }
  // ticks are whole multiples of the step, so 0 is 0 (not -2.7e-17, which would read "-0.0")
  const first = Math.floor(low / step);
  const last = Math.ceil(high / step);
  const label = numberLabel(step);
  const ticks: Tick[] = [];
  for (let k = first; k <= last; k++) ticks.push({ at: k * step, label: label(k * step) });
  return { min: first * step, max: last * step, ticks };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

interface Interval {
  /** Ticks this interval puts in [min, max]. */
  ticks(min: number, max: number): number[];
  label(at: number): string;
  /** Labels of this length fit this many times across the chart. */
  maxTicks: number;
}

function years(n: number): Interval {
  return {
    ticks(min, max) {
      const out: number[] = [];
      const first = Math.ceil(new Date(min).getUTCFullYear() / n) * n;
      for (let y = first; ; y += n) {
        const at = Date.UTC(y, 0, 1);
        if (at > max) break;
        if (at >= min) out.push(at);
      }
      return out;
    },
    label: (at) => String(new Date(at).getUTCFullYear()),
    maxTicks: 7,
  };
}

function months(n: number): Interval {
  return {
    ticks(min, max) {
      const out: number[] = [];
      const start = new Date(min);
      // months counted from year 0, so a step of 3 lands on quarters and 6 on half-years
      let m = Math.ceil((start.getUTCFullYear() * 12 + start.getUTCMonth()) / n) * n;
      for (; ; m += n) {
        const at = Date.UTC(Math.floor(m / 12), m % 12, 1);
        if (at > max) break;
        if (at >= min) out.push(at);
      }
      return out;
    },
    label: (at) => `${MONTHS[new Date(at).getUTCMonth()]} ${new Date(at).getUTCFullYear()}`,
    maxTicks: 6,
  };
}

function days(n: number): Interval {
  return {
    ticks(min, max) {
      const out: number[] = [];
      for (let at = Math.ceil(min / DAY) * DAY; at <= max; at += n * DAY) out.push(at);
      return out;
    },
    label: (at) => {
      const d = new Date(at);
      return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
    },
    maxTicks: 5,
  };
}

/** Finest first: the first that fits is used. */
const INTERVALS: readonly Interval[] = [
  days(1),
  days(2),
  days(7),
  days(14),
  months(1),
  months(2),
  months(3),
  months(6),
  ...[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].map(years),
];

/**
 * The time axis over these instants (milliseconds). Less than two days apart (two results the
 * same day) the axis widens to two days around them, so it still shows dated ticks.
 */
export function timeAxis(instants: readonly number[]): Axis {
  let min = Math.min(...instants);
  let max = Math.max(...instants);
  if (max - min < 2 * DAY) {
    const middle = (min + max) / 2;
    min = middle - DAY;
    max = middle + DAY;
  }
  for (const interval of INTERVALS) {
    const at = interval.ticks(min, max);
    if (at.length >= 2 && at.length <= interval.maxTicks) {
      return { min, max, ticks: at.map((t) => ({ at: t, label: interval.label(t) })) };
    }
  }
  // past every interval (millennia apart: dates no record should have): the ends only
  return { min, max, ticks: [min, max].map((t) => ({ at: t, label: new Date(t).toISOString().slice(0, 10) })) };
}
