import { JsonNumber } from '@phr/common';
import { FOLLOWED_TRENDS, trendDefinitions } from './trend-definitions';
import { bloodPressure, observation, vaultRows } from './trend-test-data';
import { collectTrend, type Trend } from './trend-values';
import { trendNotes, trendsSection } from './trends-view';

const [HBA1C, BLOOD_PRESSURE, WEIGHT] = FOLLOWED_TRENDS;

function trendOf(rows: ReturnType<typeof vaultRows>, definition = HBA1C!): Trend {
  const trend = collectTrend(definition, rows);
  if (!trend) throw new Error('no trend');
  return trend;
}

/** The value table's rows as text: each cell's words, tags dropped, entities read back. */
function tableRows(markup: string): string[][] {
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(markup)?.[1] ?? '';
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...(row[1] ?? '').matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((c) =>
      (c[1] ?? '')
        .replace(/<[^>]+>/g, '')
        .replace(/\s+/g, ' ')
        .trim()
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&amp;/g, '&'),
    ),
  );
}

const hba1c = (value: unknown, time: string) => observation({ code: '4548-4', value, unit: '%', time });

describe('trends on the Records page', () => {
  it('shows nothing when no result was measured twice', () => {
    expect(trendsSection(undefined).markup).toBe('');
    expect(trendsSection({ trends: [], truncated: false }).markup).toBe('');
  });

  it('lists every value with its date, oldest first, exactly as written, beside the chart', () => {
    const trend = trendOf(
      vaultRows(
        hba1c(new JsonNumber('7.10'), '2024-06-01T12:00:00Z'),
        hba1c(6.1, '2023-06-01T12:00:00Z'),
        hba1c(new JsonNumber('6.0201104577476094'), '2025-06-01T12:00:00Z'),
      ),
    );
    const markup = trendsSection({ trends: [trend], truncated: false }).markup;
    expect(markup).toMatch(
      /<section class="trends" aria-labelledby="trends-heading" data-trends>\s*<h2 id="trends-heading">Trends<\/h2>/,
    );
    expect(markup).toMatch(/<h3 id="trend-0">HbA1c<\/h3>\s*<p class="muted">LOINC 4548-4<\/p>\s*<svg/);
    expect(tableRows(markup)).toEqual([
      ['1 Jun 2023', '6.1 %'],
      ['1 Jun 2024', '7.10 %'],
      ['1 Jun 2025', '6.0201104577476094 %'],
    ]);
    expect(markup).toContain('<time datetime="2024-06-01T12:00:00.000Z">');
    expect(markup).toMatch(/<caption id="trend-0-caption">\s*HbA1c: 3 results, oldest first\s*<\/caption>/);
    // the table scrolls on its own, so it is a named region keyboard users can reach
    expect(markup).toContain('role="region" aria-labelledby="trend-0-caption" tabindex="0"');
    expect(markup).toMatch(/<th scope="col">Date<\/th>\s*<th scope="col">Result<\/th>/);
    expect(trendNotes(trend)).toEqual([]);
    expect(markup).not.toContain('data-trend-note');
  });

  it('puts a blood pressure reading’s two values in one row', () => {
    const trend = trendOf(
      vaultRows(bloodPressure('2025-03-01T12:00:00Z', 128, 82), bloodPressure('2024-03-01T12:00:00Z', 131, 85)),
      BLOOD_PRESSURE,
    );
    const markup = trendsSection({ trends: [trend], truncated: false }).markup;
    expect(markup).toMatch(
      /<th scope="col">Date<\/th>\s*<th scope="col">Systolic<\/th>\s*<th scope="col">Diastolic<\/th>/,
    );
    expect(tableRows(markup)).toEqual([
      ['1 Mar 2024', '131 mmHg', '85 mmHg'],
      ['1 Mar 2025', '128 mmHg', '82 mmHg'],
    ]);
    expect(markup).toContain('LOINC 8480-6, LOINC 8462-4');
  });

  it('says which values the chart leaves out, and why', () => {
    const weight = (value: number, unit: string, time: string) => observation({ code: '29463-7', value, unit, time });
    const trend = trendOf(
      vaultRows(
        weight(80.5, 'kg', '2022-01-01T12:00:00Z'),
        weight(81, 'kg', '2023-01-01T12:00:00Z'),
        weight(180, '[lb_av]', '2024-01-01T12:00:00Z'),
        observation({
          code: '29463-7',
          value: 300,
          unit: 'kg',
          time: '2024-06-01T12:00:00Z',
          quantity: { comparator: '>' },
        }),
        observation({ code: '29463-7', value: 82, unit: 'kg' }),
      ),
      WEIGHT,
    );
    expect(trendNotes(trend)).toEqual([
      '1 value is in another unit ([lb_av]) than the chart’s kg: listed in the table but not drawn, since one chart has one unit.',
      '1 value is given only as a limit (such as “< 5”): listed in the table but not drawn.',
      '1 value has no date and is left out.',
    ]);
    const markup = trendsSection({ trends: [trend], truncated: false }).markup;
    expect(tableRows(markup)).toEqual([
      ['1 Jan 2022', '80.5 kg'],
      ['1 Jan 2023', '81 kg'],
      ['1 Jan 2024', '180 [lb_av] (not drawn)'],
      ['1 Jun 2024', '> 300 kg (not drawn)'],
    ]);
    expect((markup.match(/data-trend-note/g) ?? []).length).toBe(3);
  });

  it('says so when the values cannot share one axis at all', () => {
    const weight = (value: number, unit: string, time: string) => observation({ code: '29463-7', value, unit, time });
    const trend = trendOf(
      vaultRows(weight(80, 'kg', '2022-01-01T12:00:00Z'), weight(180, '[lb_av]', '2024-01-01T12:00:00Z')),
      WEIGHT,
    );
    const markup = trendsSection({ trends: [trend], truncated: false }).markup;
    expect(markup).not.toContain('<svg');
    expect(trendNotes(trend)[0]).toBe(
      'No chart: fewer than two results of one kind can be drawn on one axis. Every value is in the table.',
    );
    expect(tableRows(markup)).toHaveLength(2);
  });

  it('escapes the hospital’s words and units everywhere they appear', () => {
    const unit = '<b>mg</b>&"';
    const text = '<img src=x onerror=alert(1)>';
    const rows = vaultRows(
      observation({ code: '2339-0', value: 90, unit, time: '2024-01-01T12:00:00Z', text }),
      observation({ code: '2339-0', value: 95, unit, time: '2025-01-01T12:00:00Z', text }),
    );
    const [searched] = trendDefinitions({ code: '2339-0' });
    const markup = trendsSection({ trends: [trendOf(rows, searched)], truncated: false }).markup;
    expect(markup).not.toMatch(/<b>|<img/);
    expect(markup).toContain('<h3 id="trend-0">&lt;img src=x onerror=alert(1)&gt;</h3>');
    expect(markup).toContain('data-trend="code:2339-0"');
    expect(tableRows(markup).map((r) => r[1])).toEqual([`90 ${unit}`, `95 ${unit}`]);
  });

  it('says when older measurements were not read', () => {
    const trend = trendOf(vaultRows(hba1c(6.1, '2023-06-01T12:00:00Z'), hba1c(6.2, '2024-06-01T12:00:00Z')));
    expect(trendsSection({ trends: [trend], truncated: true }).markup).toContain(
      'Only your newest measurements are included; choose dates to see older ones.',
    );
    expect(trendsSection({ trends: [trend], truncated: false }).markup).not.toContain('Only your newest');
  });
});
