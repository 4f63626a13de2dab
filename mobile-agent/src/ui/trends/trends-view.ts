/**
 * The Records page's trends: for each, a heading, its codes, the chart, what the chart leaves out
 * and why, and a table of every value with its date — the numbers a screen reader or keyboard
 * user reads, and the exact text the hospital wrote, which the chart's scale cannot show.
 */
import { day } from '../format';
import { html, type Html } from '../html';
import { trendChart } from './trend-chart';
import type { TrendsResult } from './trend-search';
import { valueText, type Trend, type TrendValue } from './trend-values';

const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** What the chart leaves out, in sentences; empty when it draws everything. */
export function trendNotes(trend: Trend): string[] {
  const notes: string[] = [];
  const otherUnit = trend.values.filter((v) => v.notDrawn === 'other-unit');
  const bounds = trend.values.filter((v) => v.notDrawn === 'bound');
  if (!trend.charted) {
    notes.push('No chart: fewer than two results of one kind can be drawn on one axis. Every value is in the table.');
  }
  if (otherUnit.length > 0) {
    const units = [...new Set(otherUnit.map((v) => v.unit ?? 'no unit'))].join(', ');
    const axis = trend.axisUnit ? (trend.axisUnit.text ?? 'no unit') : undefined;
    notes.push(
      `${count(otherUnit.length, 'value is', 'values are')} in another unit (${units})` +
        `${trend.charted && axis !== undefined ? ` than the chart’s ${axis}` : ''}: ` +
        'listed in the table but not drawn, since one chart has one unit.',
    );
  }
  if (bounds.length > 0) {
    notes.push(
      `${count(bounds.length, 'value is', 'values are')} given only as a limit (such as “< 5”): ` +
        'listed in the table but not drawn.',
    );
  }
  if (trend.undated > 0) {
    notes.push(
      `${count(trend.undated, 'value has', 'values have')} no date and ${trend.undated === 1 ? 'is' : 'are'} left out.`,
    );
  }
  return notes;
}

function cell(values: readonly TrendValue[]): Html {
  if (values.length === 0) return html`<td><span class="muted">—</span></td>`;
  return html`<td>
    ${values.map(
      (v, i) =>
        html`${i > 0 ? '; ' : ''}<span data-value="${v.text}">${valueText(v)}</span>${
            v.notDrawn ? html` <span class="muted">(not drawn)</span>` : ''
          }`,
    )}
  </td>`;
}

/** One row per record, oldest first: a blood pressure reading's two values side by side. */
function valuesTable(trend: Trend, id: string): Html {
  const rows = new Map<string, TrendValue[]>();
  for (const v of trend.values) rows.set(v.ref, [...(rows.get(v.ref) ?? []), v]);
  const columns = trend.series.map((s) => s.label ?? 'Result');
  return html`<div class="table-wrap trend-values" role="region" aria-labelledby="${id}-caption" tabindex="0">
    <table data-trend-values>
      <caption id="${id}-caption">
        ${trend.title}: ${count(rows.size, 'result', 'results')}, oldest first
      </caption>
      <thead>
        <tr>
          <th scope="col">Date</th>
          ${columns.map((c) => html`<th scope="col">${c}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${[...rows.entries()].map(
          ([ref, values]) =>
            html`<tr data-trend-record="${ref}">
              <th scope="row" class="nowrap">${day(values[0]?.time ?? '')}</th>
              ${trend.series.map((_, i) => cell(values.filter((v) => v.series === i)))}
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

function trendBlock(trend: Trend, index: number): Html {
  const id = `trend-${index}`;
  const notes = trendNotes(trend);
  return html`<section class="trend" data-trend="${trend.id}">
    <h3 id="${id}">${trend.title}</h3>
    <p class="muted">${trend.codes.join(', ')}</p>
    ${trendChart(trend, `${id}-chart`)} ${notes.map((n) => html`<p class="trend-note" data-trend-note>${n}</p>`)}
    ${valuesTable(trend, id)}
  </section>`;
}

/** Nothing when no result was measured twice. */
export function trendsSection(result: TrendsResult | undefined): Html {
  if (!result || result.trends.length === 0) return html``;
  return html`<section class="trends" aria-labelledby="trends-heading" data-trends>
    <h2 id="trends-heading">Trends</h2>
    <p class="hint">
      Results measured more than once, over time. Each chart’s values, with their dates, are in the table under it.
      ${result.truncated ? ' Only your newest measurements are included; choose dates to see older ones.' : ''}
    </p>
    <div class="trend-list">${result.trends.map(trendBlock)}</div>
  </section>`;
}
