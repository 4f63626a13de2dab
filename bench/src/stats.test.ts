import { binomialHalfCdf, median, medianConfidenceInterval, pairedDifference, percentile, round } from './stats';

describe('median', () => {
  it('is the middle value, or the mean of the two middle values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('binomialHalfCdf', () => {
  it('sums Binomial(n, 1/2)', () => {
    expect(binomialHalfCdf(10, 1)).toBeCloseTo(11 / 1024, 12);
    expect(binomialHalfCdf(20, 5)).toBeCloseTo(21700 / 1048576, 12);
    expect(binomialHalfCdf(7, -1)).toBe(0);
    expect(binomialHalfCdf(7, 7)).toBe(1);
  });

  it('does not underflow for large n', () => {
    expect(binomialHalfCdf(5000, 2500)).toBeGreaterThan(0.5);
    expect(binomialHalfCdf(5000, 2400)).toBeGreaterThan(0);
    expect(binomialHalfCdf(5000, 2400)).toBeLessThan(0.01);
  });
});

describe('medianConfidenceInterval', () => {
  const ranks = (n: number, confidence = 0.95) =>
    medianConfidenceInterval(
      Array.from({ length: n }, (_, i) => i + 1),
      confidence,
    );

  it('takes the order statistics of the binomial tables', () => {
    // n = 10: x(2), x(9), coverage 1 − 2·11/1024; n = 20: x(6), x(15)
    expect(ranks(10)).toEqual({ lower: 2, upper: 9, lowerRank: 2, upperRank: 9, coverage: 1 - 22 / 1024 });
    const twenty = ranks(20);
    expect([twenty.lower, twenty.upper]).toEqual([6, 15]);
    expect(twenty.coverage).toBeCloseTo(1 - (2 * 21700) / 1048576, 12);
    // n = 100: x(40), x(61) (normal approximation 50 ± 9.8)
    expect([ranks(100).lowerRank, ranks(100).upperRank]).toEqual([40, 61]);
  });

  it('covers at least the confidence asked for, and barely more', () => {
    for (const n of [6, 7, 13, 40, 200, 401]) {
      const ci = ranks(n);
      expect(ci.coverage).toBeGreaterThanOrEqual(0.95);
      // one rank narrower would fall short
      expect(1 - 2 * binomialHalfCdf(n, ci.lowerRank)).toBeLessThan(0.95);
    }
  });

  it('is the whole range, with its true coverage, when the sample is too small', () => {
    const ci = ranks(5);
    expect([ci.lower, ci.upper]).toEqual([1, 5]);
    expect(ci.coverage).toBeCloseTo(1 - 2 / 32, 12);
  });

  it('does not depend on the order of the sample', () => {
    const v = [5, -1, 3, 9, 0, 2, 8, 7, 1, 4, 6];
    expect(medianConfidenceInterval(v)).toEqual(medianConfidenceInterval([...v].sort((a, b) => a - b)));
  });

  it('covers the true median about as often as it says (simulation)', () => {
    // deterministic pseudo-random numbers: a small LCG
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let covered = 0;
    const trials = 2000;
    for (let t = 0; t < trials; t++) {
      // skewed: exponential, true median ln 2
      const sample = Array.from({ length: 60 }, () => -Math.log(1 - rnd()));
      const ci = medianConfidenceInterval(sample);
      if (ci.lower <= Math.LN2 && Math.LN2 <= ci.upper) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.93);
    expect(covered / trials).toBeLessThan(0.99);
  });
});

describe('pairedDifference', () => {
  it('takes b − a pair by pair, so that a drift common to both cancels', () => {
    const drift = Array.from({ length: 40 }, (_, i) => 10 + i * 0.5);
    const a = drift.map((x, i) => x + (i % 2 ? 0.1 : -0.1));
    const b = drift.map((x) => x + 2);
    const d = pairedDifference(a, b);
    expect(d.pairs).toBe(40);
    expect(round(d.median, 6)).toBe(2);
    expect(d.ci.lower).toBeCloseTo(1.9, 9);
    expect(d.ci.upper).toBeCloseTo(2.1, 9);
    expect(d.ci.confidence).toBe(0.95);
    expect(d.mean).toBeCloseTo(2, 9);
    // while the difference of the medians of each side is exactly 2 here too, the sides' own spread is 20 ms
    expect(percentile(b, 95) - percentile(b, 5)).toBeGreaterThan(17);
    expect(d.p95 - d.p5).toBeCloseTo(0.2, 9);
  });

  it('reports the spread of the differences', () => {
    const a = Array.from({ length: 100 }, () => 0);
    const b = Array.from({ length: 100 }, (_, i) => i + 1);
    const d = pairedDifference(a, b);
    expect([d.p5, d.p25, d.p75, d.p95]).toEqual([5, 25, 75, 95]);
    expect(d.median).toBe(50.5);
    expect(d.sd).toBeCloseTo(Math.sqrt((100 * 101) / 12), 9);
  });

  it('refuses samples of different lengths', () => {
    expect(() => pairedDifference([1, 2], [1])).toThrow(/unpaired/);
  });
});
