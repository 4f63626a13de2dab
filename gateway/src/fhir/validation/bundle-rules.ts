import { isResourceType } from '@medplum/core';
import type { IssueType } from '@phr/common';
import { isObject } from './element-path';
import type { JsonPathSegment } from './json-structure-scan';
import type { RawIssue } from './raw-issue';
import type { CollectedReference } from './resource-rules';

/**
 * Rules over a Bundle as a whole (FHIR R4 bundle.html), which no per-resource validator sees:
 * - fullUrl: absolute; unique unless versions differ (bdl-7); a RESTful fullUrl (`…/Patient/1`)
 *   agrees with the resource's type and id;
 * - transaction/batch: request.method/url agree with the resource (POST `Type`, PUT `Type/id` with
 *   the same id), and a transaction does not touch one resource twice;
 * - link relations self/first/previous/next/last occur once;
 * - literal references that point into the bundle resolve to exactly one entry (the R4
 *   resolution rules: absolute/urn by fullUrl, relative against the referencing entry's base),
 *   `urn:` references must resolve, and the entry found has a type the element allows.
 * Paths are key paths from the Bundle root.
 */

const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const RESTFUL = /^(.+)\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;
const RELATIVE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;
const VERSIONED = /^(.*)\/_history\/([^/]+)$/;
const REQUEST_URL = /^([A-Z][A-Za-z]+)(?:\/([^/?]+))?(\?.*)?$/;
const UNIQUE_LINKS = new Set(['self', 'first', 'previous', 'prev', 'next', 'last']);

interface Entry {
  fullUrl?: string;
  resource?: Record<string, unknown>;
  request?: Record<string, unknown>;
}

export function bundleIssues(bundle: Record<string, unknown>, references: readonly CollectedReference[]): RawIssue[] {
  const issues: RawIssue[] = [];
  const issue = (code: IssueType, diagnostics: string, path: JsonPathSegment[]): void => {
    issues.push({ severity: 'error', code, diagnostics, path, source: 'gateway' });
  };
  const type = bundle['type'];
  const entries: Entry[] = (Array.isArray(bundle['entry']) ? bundle['entry'] : []).map(toEntry);
  const byFullUrl = new Map<string, number[]>();
  const seenVersions = new Map<string, number>();
  const identities = new Map<string, number>();

  entries.forEach((entry, i) => {
    const { fullUrl, resource, request } = entry;
    if (fullUrl !== undefined) {
      const list = byFullUrl.get(fullUrl) ?? [];
      list.push(i);
      byFullUrl.set(fullUrl, list);
      if (!ABSOLUTE.test(fullUrl)) {
        issue('invalid', 'fullUrl must be an absolute URL (urn:uuid:, urn:oid: or http(s)://)', [
          'entry',
          i,
          'fullUrl',
        ]);
      }
      const restful = RESTFUL.exec(fullUrl);
      if (restful && resource && isResourceType(restful[2] ?? '')) {
        if (resource['resourceType'] !== restful[2] || resource['id'] !== restful[3]) {
          issue(
            'invalid',
            `fullUrl ends in ${restful[2]}/${restful[3]}, which does not match the resource's type and id`,
            ['entry', i, 'fullUrl'],
          );
        }
      }
      const versionKey = `${fullUrl}|${versionOf(resource) ?? ''}`;
      const first = seenVersions.get(versionKey);
      if (first !== undefined && type !== 'history') {
        issue('duplicate', `fullUrl repeats that of Bundle.entry[${first}] with the same version (bdl-7)`, [
          'entry',
          i,
          'fullUrl',
        ]);
      } else if (first === undefined) {
        seenVersions.set(versionKey, i);
      }
    }
    if ((type === 'transaction' || type === 'batch') && request) {
      const identity = checkRequest(entry, i, issue);
      if (identity && type === 'transaction') {
        const first = identities.get(identity);
        if (first !== undefined) {
          issue('duplicate', `Bundle.entry[${first}] already acts on ${identity} in this transaction`, [
            'entry',
            i,
            'request',
            'url',
          ]);
        } else {
          identities.set(identity, i);
        }
      }
    }
  });

  const seenLinks = new Set<string>();
  (Array.isArray(bundle['link']) ? bundle['link'] : []).forEach((link, i) => {
    const relation = isObject(link) ? link['relation'] : undefined;
    if (typeof relation !== 'string' || !UNIQUE_LINKS.has(relation)) return;
    if (seenLinks.has(relation)) {
      issue('invalid', `The link relation '${relation}' can only occur once`, ['link', i, 'relation']);
    }
    seenLinks.add(relation);
  });

  for (const reference of references) resolveReference(reference, entries, byFullUrl, issue);
  return issues;
}

function toEntry(value: unknown): Entry {
  if (!isObject(value)) return {};
  const fullUrl = value['fullUrl'];
  const resource = value['resource'];
  const request = value['request'];
  return {
    ...(typeof fullUrl === 'string' ? { fullUrl } : {}),
    ...(isObject(resource) ? { resource } : {}),
    ...(isObject(request) ? { request } : {}),
  };
}

function versionOf(resource: Record<string, unknown> | undefined): string | undefined {
  const meta = resource?.['meta'];
  const version = isObject(meta) ? meta['versionId'] : undefined;
  return typeof version === 'string' ? version : undefined;
}

type Report = (code: IssueType, diagnostics: string, path: JsonPathSegment[]) => void;

/** Returns the `Type/id` the entry acts on, when the URL names one. */
function checkRequest(entry: Entry, i: number, issue: Report): string | undefined {
  const method = entry.request?.['method'];
  const url = entry.request?.['url'];
  if (typeof method !== 'string' || typeof url !== 'string') return undefined; // required: schema layers report
  const resource = entry.resource;
  const resourceType = resource?.['resourceType'];
  const urlPath = ['entry', i, 'request', 'url'];
  if ((method === 'POST' || method === 'PUT') && !resource) {
    issue('required', `A ${method} entry needs a resource`, ['entry', i]);
    return undefined;
  }
  if (ABSOLUTE.test(url)) return undefined; // an absolute URL names another server; nothing to compare
  const match = REQUEST_URL.exec(url);
  if (method === 'POST') {
    const postType = url.split('?')[0];
    if (typeof resourceType === 'string' && postType !== resourceType) {
      issue('invalid', `request.url names ${postType} but the resource is a ${resourceType}`, urlPath);
    }
    return undefined;
  }
  if (!match) {
    if (method === 'PUT' || method === 'DELETE' || method === 'PATCH') {
      issue('invalid', `A ${method} request.url must be Type/id or Type?search`, urlPath);
    }
    return undefined;
  }
  const [, urlType, urlId] = match;
  if (method === 'PUT' && resource) {
    if (resourceType !== urlType) {
      issue('invalid', `request.url names ${urlType} but the resource is a ${String(resourceType)}`, urlPath);
    } else if (urlId !== undefined && resource['id'] !== urlId) {
      issue('invalid', 'The resource id must equal the id in request.url', ['entry', i, 'resource', 'id']);
    }
  }
  return urlId !== undefined && method !== 'GET' && method !== 'HEAD' ? `${urlType}/${urlId}` : undefined;
}

function resolveReference(
  ref: CollectedReference,
  entries: readonly Entry[],
  byFullUrl: ReadonlyMap<string, number[]>,
  issue: Report,
): void {
  const [first, index] = ref.path;
  if (first !== 'entry' || typeof index !== 'number') return;
  const reference = ref.reference;
  if (reference.includes('?')) return; // conditional reference: the server resolves it
  const versioned = VERSIONED.exec(reference);
  const target = versioned?.[1] ?? reference;
  const version = versioned?.[2];
  let candidates: number[] | undefined;
  if (ABSOLUTE.test(target)) {
    candidates = byFullUrl.get(target);
    if (!candidates) {
      if (/^urn:/i.test(target))
        issue('not-found', `Reference ${reference} does not match any entry's fullUrl`, ref.path);
      return; // an absolute URL outside the bundle points at another server
    }
  } else {
    if (!RELATIVE.test(target)) return;
    const base = RESTFUL.exec(entries[index]?.fullUrl ?? '')?.[1];
    if (base === undefined) return; // relative to the server the bundle is sent to
    candidates = byFullUrl.get(`${base}/${target}`);
    if (!candidates) return;
  }
  let matching = candidates;
  if (version !== undefined) {
    matching = candidates.filter((k) => versionOf(entries[k]?.resource) === version);
    if (matching.length === 0) {
      const found = candidates.map((k) => versionOf(entries[k]?.resource) ?? 'none').join(', ');
      issue(
        'not-found',
        `Reference ${reference}: the bundle holds that resource only in version(s) ${found}`,
        ref.path,
      );
      return;
    }
  }
  if (matching.length > 1) {
    issue('multiple-matches', `Reference ${reference} matches ${matching.length} entries of the bundle`, ref.path);
    return;
  }
  const targetType = entries[matching[0] ?? -1]?.resource?.['resourceType'];
  if (ref.targetTypes && typeof targetType === 'string' && !ref.targetTypes.includes(targetType)) {
    issue(
      'invalid',
      `Reference ${reference} resolves to a ${targetType}; this element allows ${ref.targetTypes.join(' | ')}`,
      ref.path,
    );
  }
}
