import { niceStep, timeAxis, valueAxis } from './trend-scale';

const utc = (iso: string): number => Date.parse(`${iso}Z`);

describe('trend chart scales', () => {
  it('steps by 1, 2, 2.5 or 5 times a power of ten', () => {
    expect(niceStep(0.5, 5)).toBeCloseTo(0.1);
    expect(niceStep(7, 5)).toBe(2);
    expect(niceStep(11, 5)).toBe(2.5);
    expect(niceStep(23, 5)).toBe(5);
    expect(niceStep(40, 5)).toBe(10);
    expect(niceStep(3000, 5)).toBe(1000);
  });

  it('spans the values with round ticks, labelled with the decimals the step needs', () => {
    // Synthea's HbA1c results, 5.92 % to 6.39 %
    const axis = valueAxis([6.101670774510708, 5.918946278909466, 6.3939167009380355]);
    expect(axis.ticks.map((t) => t.label)).toEqual(['5.9', '6.0', '6.1', '6.2', '6.3', '6.4']);
    expect(axis.min).toBeLessThanOrEqual(5.918946278909466);
    expect(axis.max).toBeGreaterThanOrEqual(6.3939167009380355);
    expect(axis.ticks[0]?.at).toBe(axis.min);
    expect(axis.ticks.at(-1)?.at).toBe(axis.max);

    expect(valueAxis([72, 119, 131]).ticks.map((t) => t.label)).toEqual(['60', '80', '100', '120', '140']);
    expect(valueAxis([0.1, 0.6]).ticks.map((t) => t.label)).toEqual(['0.1', '0.2', '0.3', '0.4', '0.5', '0.6']);
    // a step of 2.5 needs one more decimal than its power of ten
    expect(valueAxis([0, 11]).ticks.map((t) => t.label)).toEqual(['0.0', '2.5', '5.0', '7.5', '10.0', '12.5']);
    expect(valueAxis([0, 1.1]).ticks.map((t) => t.label)).toEqual(['0.00', '0.25', '0.50', '0.75', '1.00', '1.25']);
  });

  it('labels zero as 0, never -0.0, when the axis crosses it', () => {
    const labels = valueAxis([-0.3, 0.2]).ticks.map((t) => t.label);
    expect(labels).toContain('0.0');
    expect(labels).not.toContain('-0.0');
  });

  it('gives a single level room around it', () => {
    const axis = valueAxis([80, 80]);
    expect(axis.min).toBeLessThan(80);
    expect(axis.max).toBeGreaterThan(80);
    const zero = valueAxis([0, 0]);
    expect(zero.min).toBeLessThan(0);
    expect(zero.max).toBeGreaterThan(0);
  });

  it('keeps working for numbers at the ends of what a double holds', () => {
    const huge = valueAxis([-1.7e308, 1.7e308]);
    expect(huge.ticks).toHaveLength(2);
    expect(huge.ticks.every((t) => Number.isFinite(t.at) && t.label !== '')).toBe(true);
    const tiny = valueAxis([1e-30, 3e-30]);
    expect(tiny.ticks.length).toBeGreaterThanOrEqual(2);
    expect(tiny.ticks.every((t) => /e-30$/.test(t.label))).toBe(true);
  });

  it('marks years across a decade, in UTC', () => {
    const axis = timeAxis([utc('2011-12-26T10:55:45'), utc('2021-02-15T10:55:45')]);
    expect(axis.ticks.map((t) => t.label)).toEqual(['2012', '2014', '2016', '2018', '2020']);
    expect(axis.ticks[0]?.at).toBe(utc('2012-01-01T00:00:00'));
    expect(axis.ticks.every((t) => t.at >= axis.min && t.at <= axis.max)).toBe(true);
  });

  it('marks months across a year and days across a week', () => {
    const year = timeAxis([utc('2024-01-20T00:00:00'), utc('2024-12-02T00:00:00')]);
    expect(year.ticks.map((t) => t.label)).toEqual(['Mar 2024', 'May 2024', 'Jul 2024', 'Sep 2024', 'Nov 2024']);
    const week = timeAxis([utc('2025-03-01T08:00:00'), utc('2025-03-05T08:00:00')]);
    expect(week.ticks.map((t) => t.label)).toEqual(['2 Mar 2025', '3 Mar 2025', '4 Mar 2025', '5 Mar 2025']);
  });

  it('widens two results on the same day to two days, so the axis still has dates', () => {
    const axis = timeAxis([utc('2025-03-01T08:00:00'), utc('2025-03-01T17:00:00')]);
    expect(axis.max - axis.min).toBe(2 * 86_400_000);
    expect(axis.ticks.map((t) => t.label)).toEqual(['1 Mar 2025', '2 Mar 2025']);
  });

  it('never crowds the axis, whatever the span', () => {
    const start = utc('2000-01-01T00:00:00');
    for (const days of [2, 3, 6, 11, 20, 35, 56, 60, 70, 100, 200, 400, 800, 1200, 3000, 6000, 20000]) {
      const axis = timeAxis([start, start + days * 86_400_000]);
      expect(axis.ticks.length).toBeGreaterThanOrEqual(2);
      expect(axis.ticks.length).toBeLessThanOrEqual(7);
      const sorted = [...axis.ticks].sort((a, b) => a.at - b.at);
      expect(axis.ticks).toEqual(sorted);
    }
  });
});
