import { JsonNumber } from '@phr/common';
import { FOLLOWED_TRENDS, trendDefinitions, type TrendDefinition } from './trend-definitions';
import { bloodPressure, observation, vaultRows } from './trend-test-data';
import { collectTrend, valueText } from './trend-values';

const definition = (id: string): TrendDefinition => {
  const found = FOLLOWED_TRENDS.find((t) => t.id === id);
  if (!found) throw new Error(`no trend ${id}`);
  return found;
};
const HBA1C = definition('hba1c');
const BLOOD_PRESSURE = definition('blood-pressure');
const WEIGHT = definition('body-weight');

const hba1c = (value: unknown, time: string) => observation({ code: '4548-4', value, unit: '%', time });
const weight = (value: unknown, unit: string, time: string) => observation({ code: '29463-7', value, unit, time });

describe('trend values', () => {
  it('reads each result oldest first, the number exactly as written and plotted as its value', () => {
    const rows = vaultRows(
      hba1c(new JsonNumber('7.10'), '2024-06-01T09:00:00Z'),
      hba1c(6.1, '2023-06-01T09:00:00Z'),
      hba1c(new JsonNumber('6.0201104577476094'), '2025-06-01T09:00:00Z'),
    );
    const trend = collectTrend(HBA1C, rows);
    expect(trend).toMatchObject({
      id: 'hba1c',
      title: 'HbA1c',
      codes: ['LOINC 4548-4'],
      axisUnit: { key: '%', text: '%' },
      charted: true,
      undated: 0,
    });
    expect(trend?.values.map((v) => [v.time, v.text, v.value])).toEqual([
      ['2023-06-01T09:00:00Z', '6.1', 6.1],
      ['2024-06-01T09:00:00Z', '7.10', 7.1],
      ['2025-06-01T09:00:00Z', '6.0201104577476094', 6.0201104577476094],
    ]);
    expect(trend?.values.every((v) => v.notDrawn === undefined)).toBe(true);
    expect(trend?.values.map(valueText)).toEqual(['6.1 %', '7.10 %', '6.0201104577476094 %']);
    // each value points at its record
    expect(new Set(trend?.values.map((v) => v.ref)).size).toBe(3);
    expect(trend?.values[0]?.ref).toMatch(/^delivery-trends\/delivery-trends-s\d+$/);
  });

  it('makes no trend of a single result', () => {
    expect(collectTrend(HBA1C, vaultRows(hba1c(6.1, '2025-01-15T09:30:00Z')))).toBeUndefined();
    // one reading holds two values, but each series has one: still no trend
    expect(collectTrend(BLOOD_PRESSURE, vaultRows(bloodPressure('2025-02-01T14:00:00Z', 128, 82)))).toBeUndefined();
    expect(collectTrend(HBA1C, [])).toBeUndefined();
  });

  it('counts only numbers: text, codes and numbers no double can hold are not values', () => {
    const rows = vaultRows(
      hba1c(6.1, '2024-01-01T00:00:00Z'),
      hba1c('6.4', '2024-02-01T00:00:00Z'),
      hba1c(new JsonNumber('1e400'), '2024-03-01T00:00:00Z'),
      observation({ code: '4548-4', value: undefined, time: '2024-04-01T00:00:00Z', extra: { valueString: 'high' } }),
    );
    expect(collectTrend(HBA1C, rows)).toBeUndefined();
  });

  it('draws blood pressure as systolic and diastolic, from LOINC’s panel, Synthea’s, or on their own', () => {
    const rows = vaultRows(
      bloodPressure('2025-03-01T08:00:00Z', 128, 82),
      bloodPressure('2024-03-01T08:00:00Z', new JsonNumber('131.0'), 85, '55284-4'),
      observation({ code: '8480-6', value: 140, unit: 'mm[Hg]', time: '2023-03-01T08:00:00Z' }),
    );
    const trend = collectTrend(BLOOD_PRESSURE, rows);
    expect(trend?.series).toEqual([{ label: 'Systolic' }, { label: 'Diastolic' }]);
    expect(trend?.codes).toEqual(['LOINC 8480-6', 'LOINC 8462-4']);
    expect(trend?.values.map((v) => [v.series, v.text])).toEqual([
      [0, '140'],
      [0, '131.0'],
      [1, '85'],
      [0, '128'],
      [1, '82'],
    ]);
    // "mmHg" coded in UCUM as mm[Hg] and a bare "mm[Hg]" are the same unit
    expect(trend?.axisUnit?.key).toBe('mm[Hg]');
    expect(trend?.values.every((v) => v.notDrawn === undefined)).toBe(true);
    expect(trend?.charted).toBe(true);
  });

  it('puts one unit on the axis, the one most values have, and leaves the others undrawn', () => {
    const rows = vaultRows(
      weight(80.5, 'kg', '2022-01-01T00:00:00Z'),
      weight(81, 'kg', '2023-01-01T00:00:00Z'),
      weight(180, '[lb_av]', '2024-01-01T00:00:00Z'),
      weight(82.25, 'kg', '2025-01-01T00:00:00Z'),
    );
    const trend = collectTrend(WEIGHT, rows);
    expect(trend?.axisUnit).toEqual({ key: 'kg', text: 'kg' });
    expect(trend?.values.map((v) => [v.text, v.notDrawn])).toEqual([
      ['80.5', undefined],
      ['81', undefined],
      ['180', 'other-unit'],
      ['82.25', undefined],
    ]);
    expect(trend?.charted).toBe(true);
  });

  it('on a tie of units takes the newest one, and draws no chart when no unit has two values', () => {
    const tied = collectTrend(
      WEIGHT,
      vaultRows(
        weight(80, 'kg', '2022-01-01T00:00:00Z'),
        weight(81, 'kg', '2023-01-01T00:00:00Z'),
        weight(180, '[lb_av]', '2024-01-01T00:00:00Z'),
        weight(182, '[lb_av]', '2025-01-01T00:00:00Z'),
      ),
    );
    expect(tied?.axisUnit?.key).toBe('[lb_av]');
    expect(tied?.values.filter((v) => v.notDrawn === 'other-unit').map((v) => v.text)).toEqual(['80', '81']);

    const mixed = collectTrend(
      WEIGHT,
      vaultRows(weight(80, 'kg', '2022-01-01T00:00:00Z'), weight(180, '[lb_av]', '2024-01-01T00:00:00Z')),
    );
    // two numeric values make a trend, but not a chart: they cannot share an axis
    expect(mixed?.values).toHaveLength(2);
    expect(mixed?.charted).toBe(false);
  });

  it('shows a limit ("< 4") as written but does not draw it as a measurement', () => {
    const trend = collectTrend(
      HBA1C,
      vaultRows(
        hba1c(6.1, '2023-01-01T00:00:00Z'),
        hba1c(6.3, '2024-01-01T00:00:00Z'),
        observation({
          code: '4548-4',
          value: 4,
          unit: '%',
          time: '2025-01-01T00:00:00Z',
          quantity: { comparator: '<' },
        }),
      ),
    );
    const bound = trend?.values.at(-1);
    expect(bound).toMatchObject({ text: '4', comparator: '<', notDrawn: 'bound' });
    expect(valueText(bound!)).toBe('< 4 %');
    expect(trend?.charted).toBe(true);
  });

  it('leaves out results the hospital withdrew, and counts those without a date', () => {
    const trend = collectTrend(
      HBA1C,
      vaultRows(
        hba1c(6.1, '2023-01-01T00:00:00Z'),
        hba1c(6.3, '2024-01-01T00:00:00Z'),
        observation({
          code: '4548-4',
          value: 9.9,
          unit: '%',
          time: '2024-06-01T00:00:00Z',
          extra: { status: 'entered-in-error' },
        }),
        hba1c(6.2, ''),
      ),
    );
    expect(trend?.values.map((v) => v.text)).toEqual(['6.1', '6.3']);
    expect(trend?.undated).toBe(1);
  });

  it('follows a searched code in any system, named in the hospital’s words', () => {
    const glucose = (value: number, time: string, text: string) =>
      observation({ code: '2339-0', value, unit: 'mg/dL', time, text });
    const rows = vaultRows(
      glucose(93.7, '2023-01-01T00:00:00Z', 'Glucose <b>fasting</b>'),
      glucose(101, '2024-01-01T00:00:00Z', 'Glucose (newest words)'),
    );
    const [searched] = trendDefinitions({ code: '2339-0' });
    const trend = collectTrend(searched!, rows);
    expect(trend).toMatchObject({ id: 'code:2339-0', title: 'Glucose (newest words)', codes: ['2339-0'] });
    expect(trend?.values.map((v) => v.text)).toEqual(['93.7', '101']);
    // with a system, only that system's code
    const [snomed] = trendDefinitions({ system: 'http://snomed.info/sct', code: '2339-0' });
    expect(collectTrend(snomed!, rows)).toBeUndefined();
  });

  it('shows a followed trend whole when a search names one of its codes or its panel', () => {
    expect(trendDefinitions().map((d) => d.id)).toEqual([
      'hba1c',
      'blood-pressure',
      'body-weight',
      'total-cholesterol',
    ]);
    expect(trendDefinitions({ code: '85354-9' }).map((d) => d.id)).toEqual(['blood-pressure']);
    expect(trendDefinitions({ system: 'http://loinc.org', code: '8462-4' }).map((d) => d.id)).toEqual([
      'blood-pressure',
    ]);
    expect(trendDefinitions({ system: 'http://example.org/local', code: '4548-4' }).map((d) => d.id)).toEqual([
      'code:4548-4',
    ]);
  });
});
