import { JsonNumber } from '@phr/common';
import { FOLLOWED_TRENDS, trendDefinitions } from './trend-definitions';
import { CHART, chartLayout, trendChart } from './trend-chart';
import { bloodPressure, observation, vaultRows } from './trend-test-data';
import { collectTrend, type Trend } from './trend-values';

const [HBA1C, BLOOD_PRESSURE] = FOLLOWED_TRENDS;

function trendOf(rows: ReturnType<typeof vaultRows>, definition = HBA1C!): Trend {
  const trend = collectTrend(definition, rows);
  if (!trend) throw new Error('no trend');
  return trend;
}

const hba1c = (value: unknown, time: string, unit = '%') => observation({ code: '4548-4', value, unit, time });

/** Every marker's centre, in document order: circles by cx/cy, squares by their corner + 4. */
function markers(svg: string): { x: number; y: number; title: string }[] {
  const out: { x: number; y: number; title: string }[] = [];
  const re =
    /<circle class="point" cx="([\d.]+)" cy="([\d.]+)"[^>]*><title>([^<]*)<\/title>|<rect class="point" x="([\d.]+)" y="([\d.]+)"[^>]*><title>([^<]*)<\/title>/g;
  for (const m of svg.matchAll(re)) {
    if (m[1] !== undefined) out.push({ x: Number(m[1]), y: Number(m[2]), title: m[3] ?? '' });
    else out.push({ x: Number(m[4]) + 4, y: Number(m[5]) + 4, title: m[6] ?? '' });
  }
  return out;
}

describe('trend chart', () => {
  const rows = vaultRows(
    hba1c(new JsonNumber('7.10'), '2024-06-01T09:00:00Z'),
    hba1c(6.1, '2023-06-01T09:00:00Z'),
    hba1c(new JsonNumber('6.40'), '2025-06-01T09:00:00Z'),
    hba1c(5.9, '2022-06-01T09:00:00Z'),
  );

  it('places later results further right and higher values further up, all inside the plot', () => {
    const layout = chartLayout(trendOf(rows));
    const placed = layout?.series[0] ?? [];
    expect(placed.map((p) => p.value.text)).toEqual(['5.9', '6.1', '7.10', '6.40']);
    const xs = placed.map((p) => p.x);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    expect(new Set(xs).size).toBe(4);
    // SVG's y grows downwards: 7.10 is the highest point, 5.9 the lowest
    const byValue = [...placed].sort((a, b) => a.value.value - b.value.value);
    expect(byValue.map((p) => p.y)).toEqual([...byValue.map((p) => p.y)].sort((a, b) => b - a));
    for (const p of placed) {
      expect(p.x).toBeGreaterThan(CHART.left);
      expect(p.x).toBeLessThan(CHART.width - CHART.right);
      expect(p.y).toBeGreaterThanOrEqual(CHART.top);
      expect(p.y).toBeLessThanOrEqual(CHART.height - CHART.bottom);
    }
    // the value axis spans the values with round ticks
    expect(layout?.y.min).toBeLessThanOrEqual(5.9);
    expect(layout?.y.max).toBeGreaterThanOrEqual(7.1);
    expect(layout?.yAt(layout.y.max)).toBe(CHART.top);
    expect(layout?.yAt(layout.y.min)).toBe(CHART.height - CHART.bottom);
  });

  it('is one accessible image, named by its title and described in words', () => {
    const svg = trendChart(trendOf(rows), 'trend-0-chart').markup;
    expect(svg).toMatch(/^<svg[^>]* role="img"/);
    expect(svg).toContain('aria-labelledby="trend-0-chart-title"');
    expect(svg).toContain('aria-describedby="trend-0-chart-desc"');
    expect(svg).toContain('<title id="trend-0-chart-title">HbA1c over time, in %</title>');
    const desc = /<desc id="trend-0-chart-desc">([^<]*)<\/desc>/.exec(svg)?.[1];
    expect(desc).toMatch(
      /^4 results from \d+ Jun 2022 to \d+ Jun 2025; lowest 5\.9 % on .*2022, highest 7\.10 % on .*2024, latest 6\.40 %\./,
    );
    expect(desc).toContain('Every value is in the table with the chart.');
  });

  it('draws a point per value with its exact text, a line through them, and labelled axes', () => {
    const svg = trendChart(trendOf(rows), 'c').markup;
    const points = markers(svg);
    expect(points.map((p) => p.title.replace(/^.*: /, ''))).toEqual(['5.9 %', '6.1 %', '7.10 %', '6.40 %']);
    expect(points[0]?.title).toMatch(/^\d+ Jun 2022: 5\.9 %$/);
    const line = /<path class="line" d="([^"]+)"/.exec(svg)?.[1] ?? '';
    expect(line.split(/[ML]/).filter(Boolean)).toHaveLength(4);
    expect(line.startsWith(`M${points[0]?.x.toFixed(1)} ${points[0]?.y.toFixed(1)}`)).toBe(true);
    // dates along the bottom, the unit at the top of the value axis
    expect(svg).toMatch(/text-anchor="middle">Jan 2023<\/text>/);
    expect(svg).toMatch(/class="unit"[^>]*>%<\/text>/);
    expect(svg).toMatch(/text-anchor="end" dominant-baseline="middle">6\.00<\/text>/);
  });

  it('runs nothing and styles nothing inline, so the page’s CSP holds', () => {
    const svg = trendChart(trendOf(rows), 'c').markup;
    expect(svg).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=|href=|<foreignObject|<image|<use/i);
  });

  it('escapes what the hospital wrote: units and the searched code’s words', () => {
    const hostileUnit = '<script>alert(1)</script>"&';
    const hostile = vaultRows(
      observation({
        code: '2339-0',
        value: 90,
        unit: hostileUnit,
        time: '2024-01-01T00:00:00Z',
        text: '<img src=x onerror=alert(1)>',
      }),
      observation({
        code: '2339-0',
        value: 95,
        unit: hostileUnit,
        time: '2025-01-01T00:00:00Z',
        text: '<img src=x onerror=alert(1)>',
      }),
    );
    const [searched] = trendDefinitions({ code: '2339-0' });
    const svg = trendChart(trendOf(hostile, searched), 'c').markup;
    expect(svg).not.toMatch(/<script|<img/);
    expect(svg).toContain(
      '&lt;img src=x onerror=alert(1)&gt; over time, in &lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;',
    );
    expect(svg).toContain(': 95 &lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;</title>');
  });

  it('draws blood pressure as two series told apart by shape, with a legend', () => {
    const trend = trendOf(
      vaultRows(
        bloodPressure('2024-01-01T08:00:00Z', 128, 82),
        bloodPressure('2025-01-01T08:00:00Z', 131, 85),
        bloodPressure('2023-01-01T08:00:00Z', 119, 72),
      ),
      BLOOD_PRESSURE,
    );
    const svg = trendChart(trend, 'bp').markup;
    expect(svg).toContain('<title id="bp-title">Blood pressure over time, in mmHg</title>');
    expect((svg.match(/<circle class="point"/g) ?? []).length).toBe(3);
    expect((svg.match(/<rect class="point"/g) ?? []).length).toBe(3);
    expect(svg).toMatch(
      /<g class="legend">\s*<g class="series-0">\s*<circle class="key"[^>]*><\/circle>\s*<text[^>]*>Systolic<\/text>\s*<\/g>\s*<g class="series-1">\s*<rect class="key"[^>]*><\/rect>\s*<text[^>]*>Diastolic<\/text>/,
    );
    expect((svg.match(/<path class="line"/g) ?? []).length).toBe(2);
    const desc = /<desc[^>]*>([^<]*)<\/desc>/.exec(svg)?.[1] ?? '';
    expect(desc).toMatch(/^Systolic: 3 results .* latest 131 mmHg\. Diastolic: 3 results .* latest 85 mmHg\./);
    expect(markers(svg)).toHaveLength(6);
  });

  it('gives up to four series each its own marker shape and colour class', () => {
    const codes = ['1-1', '2-2', '3-3', '4-4'];
    const definition = {
      id: 'four',
      title: 'Four',
      codes: codes.map((code) => ({ code })),
      series: codes.map((code) => ({ code: { code }, label: `S${code}` })),
    };
    const rows = vaultRows(
      ...['2024-01-01T12:00:00Z', '2025-01-01T12:00:00Z'].flatMap((time) =>
        codes.map((code, i) => observation({ code, value: 10 + i, unit: 'u', time })),
      ),
    );
    const svg = trendChart(trendOf(rows, definition), 'f').markup;
    const shapes = [
      ...svg.matchAll(
        /<g class="series series-(\d)">\s*<path class="line"[^>]*\/>\s*<(\w+) class="point"( d="[^"]+")?/g,
      ),
    ];
    expect(shapes.map((m) => [m[1], m[2], m[3] === undefined ? 0 : (m[3].match(/L/g) ?? []).length + 1])).toEqual([
      ['0', 'circle', 0],
      ['1', 'rect', 0],
      ['2', 'path', 3],
      ['3', 'path', 4],
    ]);
  });

  it('leaves out values in another unit, and draws nothing when no chart can be drawn', () => {
    const weight = (value: number, unit: string, time: string) => observation({ code: '29463-7', value, unit, time });
    const mixed = trendOf(
      vaultRows(
        weight(80, 'kg', '2022-01-01T00:00:00Z'),
        weight(81, 'kg', '2023-01-01T00:00:00Z'),
        weight(180, '[lb_av]', '2024-01-01T00:00:00Z'),
      ),
      FOLLOWED_TRENDS[2],
    );
    const svg = trendChart(mixed, 'w').markup;
    expect(markers(svg).map((m) => m.title.replace(/^.*: /, ''))).toEqual(['80 kg', '81 kg']);
    expect(svg).not.toContain('lb_av');

    const none = trendOf(
      vaultRows(weight(80, 'kg', '2022-01-01T00:00:00Z'), weight(180, '[lb_av]', '2024-01-01T00:00:00Z')),
      FOLLOWED_TRENDS[2],
    );
    expect(chartLayout(none)).toBeUndefined();
    expect(trendChart(none, 'w').markup).toBe('');
  });
});
