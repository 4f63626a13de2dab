/**
 * Records: the patient's whole resources, searchable by type, code and date, grouped by type in
 * one table each (date, what, code, value, which hospital), with the full FHIR resource behind a
 * disclosure, each record's own page (documents as text) a link away, and a link to download the
 * same selection as a FHIR Bundle. Above the tables, the trends of results measured again and again.
 */
import type { VaultElement } from '../../vault/vault-types';
import { describedBy, errorFor, errorMessage, errorSummary, type FieldError } from '../form-errors';
import { when } from '../format';
import { html, type Html } from '../html';
import type { PageContent } from '../layout';
import { RECORDS_LIMIT, type RecordsFilter } from '../records-search';
import { recordJson } from '../record-json';
import { RESOURCE_TYPE_LABELS, resourceTypeText, summariseResource } from '../resource-summary';
import type { TrendsResult } from '../trends/trend-search';
import { trendsSection } from '../trends/trends-view';
import { recordHref } from './record';

export interface RecordsPageData {
  filter: RecordsFilter;
  errors: FieldError[];
  /** Absent when the search was not run (invalid filter, or the agent failed). */
  result?: { rows: VaultElement[]; truncated: boolean };
  /** The trends under the same search; absent when the search was not run. */
  trends?: TrendsResult;
  /** Delivery id → the hospital that sent it. */
  senders: ReadonlyMap<string, string>;
  /** A friendly message when the agent could not search. */
  problem?: string;
  exportHref: string;
}

function typeSelect(filter: RecordsFilter, rows: readonly VaultElement[]): Html {
  const types = new Set<string>([...Object.keys(RESOURCE_TYPE_LABELS), ...rows.map((r) => r.element.resourceType)]);
  if (filter.type !== '') types.add(filter.type);
  const options = [...types]
    .sort((a, b) => resourceTypeText(a).localeCompare(resourceTypeText(b)))
    .map((t) => html`<option value="${t}" ${t === filter.type ? html` selected` : ''}>${resourceTypeText(t)}</option>`);
  return html`<select id="type" name="type">
    <option value="">All types</option>
    ${options}
  </select>`;
}

function searchForm(filter: RecordsFilter, errors: readonly FieldError[], rows: readonly VaultElement[]): Html {
  const codeError = errorFor(errors, 'code');
  const fromError = errorFor(errors, 'from');
  const toError = errorFor(errors, 'to');
  return html`<form method="get" action="/records" class="filters" role="search" aria-label="Search your records">
    <div class="field${errorFor(errors, 'type') ? ' invalid' : ''}">
      <label for="type">Type of record</label>
      ${errorMessage(errorFor(errors, 'type'), 'type')} ${typeSelect(filter, rows)}
    </div>
    <div class="field${codeError ? ' invalid' : ''}">
      <label for="code">Code</label>
      <p class="hint" id="code-hint">For example 4548-4, or http://loinc.org|4548-4</p>
      ${errorMessage(codeError, 'code')}
      <input
        type="text"
        id="code"
        name="code"
        value="${filter.code}"
        aria-describedby="${describedBy('code', codeError)}"
        ${codeError ? html` aria-invalid="true"` : ''}
        spellcheck="false"
        autocomplete="off"
      />
    </div>
    <div class="field${fromError ? ' invalid' : ''}">
      <label for="from">From</label>
      ${errorMessage(fromError, 'from')}
      <input
        type="date"
        id="from"
        name="from"
        value="${filter.from}"
        ${fromError ? html` aria-invalid="true" aria-describedby="from-error"` : ''}
      />
    </div>
    <div class="field${toError ? ' invalid' : ''}">
      <label for="to">To (included)</label>
      ${errorMessage(toError, 'to')}
      <input
        type="date"
        id="to"
        name="to"
        value="${filter.to}"
        ${toError ? html` aria-invalid="true" aria-describedby="to-error"` : ''}
      />
    </div>
    <div class="field">
      <button type="submit">Search</button>
      <a href="/records" class="button secondary">Clear</a>
    </div>
  </form>`;
}

function recordRow(row: VaultElement, senders: ReadonlyMap<string, string>): Html {
  const s = summariseResource(row.element);
  const json = recordJson(row.element.resource ?? {});
  return html`<tr data-record="${row.deliveryId}/${row.segmentId}">
    <td class="nowrap">${when(row.element.time)}</td>
    <th scope="row"><a href="${recordHref(row)}">${s.what}</a></th>
    <td>${s.code ?? html`<span class="muted">none</span>`}</td>
    <td>${s.value ?? html`<span class="muted">—</span>`}</td>
    <td>${senders.get(row.deliveryId) ?? html`<span class="muted">unknown</span>`}</td>
    <td>
      <details>
        <summary>Show<span class="visually-hidden"> the full record: ${s.what}</span></summary>
        <pre>${json}</pre>
      </details>
    </td>
  </tr>`;
}

function groups(rows: readonly VaultElement[], senders: ReadonlyMap<string, string>): Html {
  const byType = new Map<string, VaultElement[]>();
  for (const row of rows) {
    const list = byType.get(row.element.resourceType) ?? [];
    list.push(row);
    byType.set(row.element.resourceType, list);
  }
  const ordered = [...byType.entries()].sort(([a], [b]) => resourceTypeText(a).localeCompare(resourceTypeText(b)));
  return html`${ordered.map(
    ([type, list], i) =>
      html`<div class="table-wrap" role="region" aria-labelledby="group-${i}" tabindex="0">
        <table data-resource-type="${type}">
          <caption>
            <h2 id="group-${i}">${resourceTypeText(type)}</h2>
            <span class="muted">${list.length} record${list.length === 1 ? '' : 's'}, newest first</span>
          </caption>
          <thead>
            <tr>
              <th scope="col">Date</th>
              <th scope="col">What</th>
              <th scope="col">Code</th>
              <th scope="col">Result or status</th>
              <th scope="col">From</th>
              <th scope="col">Full record</th>
            </tr>
          </thead>
          <tbody>
            ${list.map((r) => recordRow(r, senders))}
          </tbody>
        </table>
      </div>`,
  )}`;
}

export function recordsPage(data: RecordsPageData): PageContent {
  const rows = data.result?.rows ?? [];
  const filtered = Object.values(data.filter).some((v) => v !== '');
  let results: Html;
  if (data.problem !== undefined) {
    results = html`<div class="notice error" role="alert">
      <h2>Your records could not be shown</h2>
      <p>${data.problem}</p>
    </div>`;
  } else if (!data.result) {
    results = html``;
  } else if (rows.length === 0) {
    results = html`<p data-records-count="0">
      ${filtered ? 'No records match this search.' : 'There are no records on this device yet. Use “Check for new records” to fetch them from your hospitals.'}
    </p>`;
  } else {
    results = html`<p data-records-count="${rows.length}">
        ${
          data.result.truncated
            ? `Showing the first ${RECORDS_LIMIT} records. Narrow the search to see the rest.`
            : `${rows.length} record${rows.length === 1 ? '' : 's'}${filtered ? ' match this search' : ''}.`
        }
      </p>
      <p>
        <a href="${data.exportHref}" class="button secondary" download
          >Download ${filtered ? 'these records' : 'all your records'} (FHIR file)</a
        >
      </p>
      ${trendsSection(data.trends)} ${groups(rows, data.senders)}`;
  }
  return {
    title: 'Records',
    section: 'records',
    hasErrors: data.errors.length > 0,
    body: html`<p class="lead">Everything your hospitals have sent to this device, checked against the ledger.</p>
      ${errorSummary(data.errors)} ${searchForm(data.filter, data.errors, rows)} ${results}`,
  };
}
