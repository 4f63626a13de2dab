import { badRequest } from '@phr/common';
import { DEFAULT_FETCH_LIMIT, MAX_FETCH_LIMIT } from './mailbox-store';

/** Long-polls are capped so proxies and load balancers with 60 s idle timeouts never cut them. */
export const MAX_WAIT_SECONDS = 30;

export interface FetchQuery {
  after: number;
  limit: number;
  waitMs: number;
}

const INTEGER = /^(0|[1-9][0-9]{0,15})$/;
const SECONDS = /^(0|[1-9][0-9]{0,2})(\.[0-9]{1,3})?$/;

/** Parses `?after=&limit=&wait=` strictly: anything unexpected is a 400, never silently defaulted. */
export function parseFetchQuery(query: unknown): FetchQuery {
  const q = (query ?? {}) as Record<string, unknown>;
  const after = optionalInteger(q, 'after') ?? 0;
  const limit = optionalInteger(q, 'limit') ?? DEFAULT_FETCH_LIMIT;
  if (limit < 1 || limit > MAX_FETCH_LIMIT) throw badRequest(`limit must be from 1 to ${MAX_FETCH_LIMIT}`);
  const wait = single(q, 'wait');
  let waitMs = 0;
  if (wait !== undefined) {
    if (!SECONDS.test(wait) || Number(wait) > MAX_WAIT_SECONDS) {
      throw badRequest(`wait must be a number of seconds from 0 to ${MAX_WAIT_SECONDS}`);
    }
    waitMs = Math.round(Number(wait) * 1000);
  }
  return { after, limit, waitMs };
}

/** A sequence number from `Last-Event-ID` or `?after=`; undefined when absent. */
export function parseSequence(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.trim());
  if (!INTEGER.test(value.trim()) || !Number.isSafeInteger(n)) throw badRequest(`${name} must be an integer >= 0`);
  return n;
}

function optionalInteger(q: Record<string, unknown>, name: string): number | undefined {
  return parseSequence(single(q, name), name);
}

function single(q: Record<string, unknown>, name: string): string | undefined {
  const value = q[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`${name} must be given once`);
  return value;
}
