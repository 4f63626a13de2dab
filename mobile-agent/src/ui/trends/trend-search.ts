/**
 * The trends for the Records page's current search: the same type and dates, the searched code's
 * trend or the followed ones. Trends read whole Observations rather than the coded leaves, because
 * only the resource says whether a value is a bound ("< 5"), in which words its unit is written,
 * and whether the hospital withdrew it.
 */
import type { AgentApi } from '../../agent-api';
import type { RecordQuery } from '../../vault/vault-types';
import type { ParsedFilter } from '../records-search';
import { trendDefinitions } from './trend-definitions';
import { collectTrend, type Trend } from './trend-values';

/** Observations read for trends, newest first; a life's worth of check-ups fits many times over. */
export const TRENDS_SCAN_LIMIT = 5000;

export interface TrendsResult {
  trends: Trend[];
  /** The scan stopped at the limit: older values are not in the trends. */
  truncated: boolean;
}

export async function searchTrends(api: AgentApi, parsed: ParsedFilter): Promise<TrendsResult> {
  const { resourceType, from, to } = parsed.query;
  if (resourceType !== undefined && resourceType !== 'Observation') return { trends: [], truncated: false };
  const query: RecordQuery = { resourceType: 'Observation', kind: 'resource', limit: TRENDS_SCAN_LIMIT + 1 };
  if (from !== undefined) query.from = from;
  if (to !== undefined) query.to = to;
  const rows = await api.records(query);
  const scanned = rows.slice(0, TRENDS_SCAN_LIMIT);
  const trends = trendDefinitions(parsed.code)
    .map((definition) => collectTrend(definition, scanned))
    .filter((trend): trend is Trend => trend !== undefined);
  return { trends, truncated: rows.length > TRENDS_SCAN_LIMIT };
}
