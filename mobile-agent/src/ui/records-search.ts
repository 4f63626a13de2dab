/**
 * The Records page's search: type, code and a date range, as the patient types them, turned into
 * vault queries. The vault keeps whole resources and their coded leaves as separate elements, so
 * a code search finds the coded leaves first and then shows the whole resources they belong to.
 */
import { CODE_PATTERN, parseCodeRef } from '@phr/common';
import type { AgentApi } from '../agent-api';
import type { RecordQuery, VaultElement } from '../vault/vault-types';
import type { FieldError } from './form-errors';
import { localDayEnd, localDayStart } from './format';

/** The search form's values, exactly as entered (kept to re-fill the form). */
export interface RecordsFilter {
  type: string;
  code: string;
  from: string;
  to: string;
}

export const RECORDS_LIMIT = 1000;

const first = (v: unknown): string =>
  typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '';

export function readRecordsFilter(query: Record<string, unknown>): RecordsFilter {
  return {
    type: first(query.type).trim(),
    code: first(query.code).trim(),
    from: first(query.from).trim(),
    to: first(query.to).trim(),
  };
}

export interface ParsedFilter {
  /** What to ask the vault for (whole resources, by type and date). */
  query: RecordQuery;
  /** The code criterion, when given: system may be absent. */
  code?: { system?: string; code: string };
  errors: FieldError[];
}

export function parseRecordsFilter(filter: RecordsFilter): ParsedFilter {
  const errors: FieldError[] = [];
  const query: RecordQuery = {};
  if (filter.type !== '') {
    if (/^[A-Z][A-Za-z]{1,63}$/.test(filter.type)) query.resourceType = filter.type;
    else errors.push({ id: 'type', field: 'type', message: 'Choose a record type from the list' });
  }
  if (filter.from !== '') {
    const from = localDayStart(filter.from);
    if (from === undefined) errors.push({ id: 'from', field: 'from', message: 'Enter the “from” date as a real date' });
    else query.from = from;
  }
  if (filter.to !== '') {
    const to = localDayEnd(filter.to);
    if (to === undefined) errors.push({ id: 'to', field: 'to', message: 'Enter the “to” date as a real date' });
    else query.to = to;
  }
  if (query.from !== undefined && query.to !== undefined && query.to <= query.from) {
    errors.push({ id: 'to', field: 'to', message: 'The “to” date must be the same as or after the “from” date' });
  }
  const parsed: ParsedFilter = { query, errors };
  if (filter.code !== '') {
    // a bare code matches in any code system; with a bar it is system|code, as the ledger writes it
    const ref = filter.code.includes('|')
      ? parseCodeRef(filter.code)
      : CODE_PATTERN.test(filter.code)
        ? { code: filter.code }
        : undefined;
    if (!ref) {
      errors.push({
        id: 'code',
        field: 'code',
        message: 'Enter a code like 4548-4, or a code system and code like http://loinc.org|4548-4',
      });
    } else {
      parsed.code = ref;
    }
  }
  return parsed;
}

/** The whole-resource elements that match, newest first; `truncated` when the limit cut the list. */
export async function searchRecords(
  api: AgentApi,
  parsed: ParsedFilter,
): Promise<{ rows: VaultElement[]; truncated: boolean }> {
  if (!parsed.code) {
    const rows = await api.records({ ...parsed.query, kind: 'resource', limit: RECORDS_LIMIT + 1 });
    return { rows: rows.slice(0, RECORDS_LIMIT), truncated: rows.length > RECORDS_LIMIT };
  }
  const { system, code } = parsed.code;
  // with a system the vault's blind index finds the leaves; a bare code it matches after decrypting
  const leaves = await api.records({ ...parsed.query, kind: 'coded', code, ...(system ? { system } : {}) });
  const segments = new Set(leaves.filter((l) => l.element.code === code).map((l) => `${l.deliveryId}/${l.segmentId}`));
  if (segments.size === 0) return { rows: [], truncated: false };
  const resources = await api.records({ ...parsed.query, kind: 'resource' });
  const rows = resources.filter((r) => segments.has(`${r.deliveryId}/${r.segmentId}`));
  return { rows: rows.slice(0, RECORDS_LIMIT), truncated: rows.length > RECORDS_LIMIT };
}

/** The same filter as a RecordQuery for the FHIR export (the agent resolves codes itself). */
export function exportQuery(parsed: ParsedFilter): RecordQuery {
  const query: RecordQuery = { ...parsed.query };
  if (parsed.code?.system !== undefined) query.system = parsed.code.system;
  if (parsed.code) query.code = parsed.code.code;
  return query;
}
