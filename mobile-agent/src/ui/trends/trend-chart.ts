/**
 * A trend as an SVG chart drawn by the agent itself: no script, no style attribute (the page's CSP
 * allows neither; colours come from ui.css by class), no external reference. The SVG is one image
 * to assistive technology (role="img"), named by its <title> and described in words by its <desc>
 * — lowest, highest and latest of each series — while the table beside it holds every value.
 *
 * Series differ by marker shape as well as colour, so the chart reads without colour too.
 */
import { dayText } from '../format';
import { html, type Html } from '../html';
import { timeAxis, valueAxis, type Axis } from './trend-scale';
import { valueText, type Trend, type TrendValue } from './trend-values';

/** The drawing's own coordinates (viewBox); CSS scales it to the column. */
export const CHART = { width: 480, height: 230, left: 60, right: 40, top: 34, bottom: 36 } as const;

/** Room between the plot's edges and its first and last points, so no marker sits on an axis. */
const INSET = 12;

export interface PlacedValue {
  value: TrendValue;
  x: number;
  y: number;
}

export interface ChartLayout {
  x: Axis;
  y: Axis;
  /** Where an instant (ms) falls across the drawing. */
  xAt: (at: number) => number;
  /** Where a value falls down the drawing. */
  yAt: (value: number) => number;
  /** Per series, its drawn values in time order, placed. */
  series: PlacedValue[][];
}

const PLOT = {
  left: CHART.left,
  right: CHART.width - CHART.right,
  top: CHART.top,
  bottom: CHART.height - CHART.bottom,
} as const;

/** Where everything goes; undefined when the trend gets no chart. */
export function chartLayout(trend: Trend): ChartLayout | undefined {
  if (!trend.charted) return undefined;
  const drawn = trend.values.filter((v) => v.notDrawn === undefined);
  const x = timeAxis(drawn.map((v) => v.at));
  const y = valueAxis(drawn.map((v) => v.value));
  const xAt = (at: number) =>
    PLOT.left + INSET + ((at - x.min) / (x.max - x.min)) * (PLOT.right - PLOT.left - 2 * INSET);
  const yAt = (value: number) => PLOT.top + ((y.max - value) / (y.max - y.min)) * (PLOT.bottom - PLOT.top);
  return {
    x,
    y,
    xAt,
    yAt,
    series: trend.series.map((_, i) =>
      drawn.filter((v) => v.series === i).map((v) => ({ value: v, x: xAt(v.at), y: yAt(v.value) })),
    ),
  };
}

const fixed = (n: number): string => n.toFixed(1);

/** A closed path through these corners. */
const polygon = (corners: readonly (readonly [number, number])[]): string =>
  `M${corners.map(([cx, cy]) => `${fixed(cx)} ${fixed(cy)}`).join('L')}Z`;

/** Marker shapes by series: circle, square, triangle, diamond. `kind`: "point" for a value, "key" in the legend. */
function marker(series: number, x: number, y: number, kind: 'point' | 'key', content: Html): Html {
  switch (series % 4) {
    case 0:
      return html`<circle class="${kind}" cx="${fixed(x)}" cy="${fixed(y)}" r="4.5">${content}</circle>`;
    case 1:
      return html`<rect class="${kind}" x="${fixed(x - 4)}" y="${fixed(y - 4)}" width="8" height="8">${content}</rect>`;
    case 2: {
      const d = polygon([
        [x, y - 5.5],
        [x + 5, y + 3.5],
        [x - 5, y + 3.5],
      ]);
      return html`<path class="${kind}" d="${d}">${content}</path>`;
    }
    default: {
      const d = polygon([
        [x, y - 5.5],
        [x + 5.5, y],
        [x, y + 5.5],
        [x - 5.5, y],
      ]);
      return html`<path class="${kind}" d="${d}">${content}</path>`;
    }
  }
}

const seriesName = (trend: Trend, series: number): string => trend.series[series]?.label ?? trend.title;

/** The chart in words, for those who cannot see it: per series its count, span, lowest, highest and latest. */
export function chartDescription(trend: Trend, layout: ChartLayout): string {
  const parts = layout.series.map((placed, i) => {
    const values = placed.map((p) => p.value);
    const first = values[0];
    const last = values.at(-1);
    if (!first || !last) return undefined;
    const name = trend.series.length > 1 ? `${seriesName(trend, i)}: ` : '';
    if (values.length === 1) return `${name}1 result, ${valueText(first)} on ${dayText(first.time)}.`;
    // the earliest of equal values: the first time it was reached
    const lowest = values.reduce((a, b) => (b.value < a.value ? b : a));
    const highest = values.reduce((a, b) => (b.value > a.value ? b : a));
    return (
      `${name}${values.length} results from ${dayText(first.time)} to ${dayText(last.time)}; ` +
      `lowest ${valueText(lowest)} on ${dayText(lowest.time)}, highest ${valueText(highest)} on ${dayText(highest.time)}, ` +
      `latest ${valueText(last)}.`
    );
  });
  return [...parts.filter((p) => p !== undefined), 'Every value is in the table with the chart.'].join(' ');
}

/** The chart's name: what, and in which unit. */
export function chartTitle(trend: Trend): string {
  const unit = trend.axisUnit?.text;
  return `${trend.title} over time${unit === undefined ? '' : `, in ${unit}`}`;
}

function legend(trend: Trend): Html {
  if (trend.series.length < 2) return html``;
  // right-aligned above the plot, one entry after another from the right edge
  const right = PLOT.right;
  const entries = trend.series.map((_, i) => {
    const name = seriesName(trend, i);
    const x = right - (trend.series.length - i) * 96 + 10;
    return html`<g class="series-${i}">
      ${marker(i, x, 14, 'key', html``)}
      <text x="${x + 10}" y="14" dominant-baseline="middle">${name}</text>
    </g>`;
  });
  return html`<g class="legend">${entries}</g>`;
}

/**
 * The SVG, or nothing when the trend gets no chart. `id` makes its title and description ids
 * unique on the page.
 */
export function trendChart(trend: Trend, id: string): Html {
  const layout = chartLayout(trend);
  if (!layout) return html``;
  const { x, y, xAt, yAt } = layout;
  const yTicks = y.ticks.map((t) => {
    const at = fixed(yAt(t.at));
    return html`<line class="grid" x1="${PLOT.left}" x2="${PLOT.right}" y1="${at}" y2="${at}" />
      <text class="tick" x="${PLOT.left - 8}" y="${at}" text-anchor="end" dominant-baseline="middle">${t.label}</text>`;
  });
  const xTicks = x.ticks.map((t) => {
    const at = fixed(xAt(t.at));
    return html`<line class="axis" x1="${at}" x2="${at}" y1="${PLOT.bottom}" y2="${PLOT.bottom + 5}" />
      <text class="tick" x="${at}" y="${PLOT.bottom + 20}" text-anchor="middle">${t.label}</text>`;
  });
  const series = layout.series.map((placed, i) => {
    if (placed.length === 0) return html``;
    const line = placed.map((p, j) => `${j === 0 ? 'M' : 'L'}${fixed(p.x)} ${fixed(p.y)}`).join('');
    const markers = placed.map((p) =>
      marker(i, p.x, p.y, 'point', html`<title>${dayText(p.value.time)}: ${valueText(p.value)}</title>`),
    );
    return html`<g class="series series-${i}">
      ${placed.length > 1 ? html`<path class="line" d="${line}" fill="none" />` : ''} ${markers}
    </g>`;
  });
  const unit = trend.axisUnit?.text;
  return html`<svg
    class="trend-chart"
    viewBox="0 0 ${CHART.width} ${CHART.height}"
    width="${CHART.width}"
    height="${CHART.height}"
    role="img"
    aria-labelledby="${id}-title"
    aria-describedby="${id}-desc"
    data-chart="${trend.id}"
  >
    <title id="${id}-title">${chartTitle(trend)}</title>
    <desc id="${id}-desc">${chartDescription(trend, layout)}</desc>
    ${unit === undefined ? '' : html`<text class="unit" x="4" y="14" dominant-baseline="middle">${unit}</text>`}
    ${legend(trend)} ${yTicks}
    <line class="axis" x1="${PLOT.left}" x2="${PLOT.right}" y1="${PLOT.bottom}" y2="${PLOT.bottom}" />
    <line class="axis" x1="${PLOT.left}" x2="${PLOT.left}" y1="${PLOT.top}" y2="${PLOT.bottom}" />
    ${xTicks} ${series}
  </svg>`;
}
