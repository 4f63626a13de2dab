/** Nearest-rank percentile of a sample, in its own unit. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** A fixed-width text table. */
export function table(rows: readonly (readonly (string | number)[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => String(r[c] ?? '').length)));
  return rows
    .map((r, i) => {
      const line = r.map((cell, c) => String(cell).padEnd(widths[c]!)).join('  ');
      return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

/** The sample median: the middle value, or the mean of the two middle values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** P(B ≤ k) for B ~ Binomial(n, 1/2), summed in log space so that large n do not underflow. */
export function binomialHalfCdf(n: number, k: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  let logC = 0; // log C(n, 0)
  let sum = 0;
  const logHalfN = n * Math.log(0.5);
  for (let j = 0; j <= k; j++) {
    if (j > 0) logC += Math.log(n - j + 1) - Math.log(j);
    sum += Math.exp(logC + logHalfN);
  }
  return Math.min(1, sum);
}

export interface MedianInterval {
  lower: number;
  upper: number;
  /** 1-based ranks of the order statistics that bound the interval. */
  lowerRank: number;
  upperRank: number;
  /** The interval's exact coverage (≥ the confidence asked for, unless the sample is too small). */
  coverage: number;
}

/**
 * A distribution-free confidence interval for the population median: the order statistics
 * x(k) and x(n+1−k), with k the largest rank such that P(Binomial(n, ½) ≤ k−1) ≤ (1−confidence)/2.
 * Its coverage holds for any continuous distribution of independent samples. When the sample is
 * too small to reach the confidence (n < 6 for 95 %), the interval is the whole range and
 * `coverage` says how much it covers.
 */
export function medianConfidenceInterval(values: readonly number[], confidence = 0.95): MedianInterval {
  const n = values.length;
  if (n === 0) return { lower: Number.NaN, upper: Number.NaN, lowerRank: 0, upperRank: 0, coverage: 0 };
  const s = [...values].sort((a, b) => a - b);
  const alpha = (1 - confidence) / 2;
  let k = 1;
  while (k + 1 <= (n + 1) / 2 && binomialHalfCdf(n, k) <= alpha) k++;
  return {
    lower: s[k - 1]!,
    upper: s[n - k]!,
    lowerRank: k,
    upperRank: n + 1 - k,
    coverage: 1 - 2 * binomialHalfCdf(n, k - 1),
  };
}

export interface PairedDifference {
  pairs: number;
  /** Median of the paired differences b − a. */
  median: number;
  ci: MedianInterval & { confidence: number };
  /** Spread of the paired differences (nearest-rank percentiles). */
  p5: number;
  p25: number;
  p75: number;
  p95: number;
  mean: number;
  sd: number;
}

/** The paired differences b[i] − a[i]: their median with a confidence interval, and their spread. */
export function pairedDifference(a: readonly number[], b: readonly number[], confidence = 0.95): PairedDifference {
  if (a.length !== b.length) throw new Error(`unpaired samples: ${a.length} and ${b.length}`);
  const d = a.map((x, i) => b[i]! - x);
  const mean = d.reduce((s, x) => s + x, 0) / (d.length || Number.NaN);
  const variance = d.reduce((s, x) => s + (x - mean) ** 2, 0) / (d.length - 1 || Number.NaN);
  return {
    pairs: d.length,
    median: median(d),
    ci: { ...medianConfidenceInterval(d, confidence), confidence },
    p5: percentile(d, 5),
    p25: percentile(d, 25),
    p75: percentile(d, 75),
    p95: percentile(d, 95),
    mean,
    sd: Math.sqrt(variance),
  };
}
