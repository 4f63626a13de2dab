import { isObject, ownValue } from '../fhir/validation/element-path';

/**
 * Bundle elements that say how and when a bundle travelled, not what it delivers: an EHR's retry
 * may give them new values (a new Bundle.id or timestamp, a re-signed bundle) for the same data.
 */
const BUNDLE_TRANSPORT: ReadonlySet<string> = new Set(['id', 'meta', 'timestamp', 'signature', 'link']);
/** Resource metadata a sending server assigns at export time (FHIR R4 Meta.versionId, lastUpdated). */
const RESOURCE_TRANSPORT: ReadonlySet<string> = new Set(['versionId', 'lastUpdated']);

function without(value: unknown, drop: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value as object)) {
    if (!drop.has(key)) out[key] = (value as Record<string, unknown>)[key];
  }
  return out;
}

/**
 * What a bundle delivers, for its content key: the bundle without its transport metadata, each
 * resource without `meta.versionId` and `meta.lastUpdated` (an empty `meta` left out). Two posts
 * with the same content key are one delivery. The input is validated FHIR; only own properties are
 * read, and nothing is changed in place.
 */
export function deliveredContent(bundle: unknown): unknown {
  if (!isObject(bundle)) return bundle;
  const out = without(bundle, BUNDLE_TRANSPORT);
  const entries = ownValue(bundle, 'entry');
  if (!Array.isArray(entries)) return out;
  out.entry = entries.map((entry: unknown) => {
    const resource = ownValue(entry, 'resource');
    const meta = ownValue(resource, 'meta');
    if (!isObject(entry) || !isObject(resource) || !isObject(meta)) return entry;
    const keptMeta = without(meta, RESOURCE_TRANSPORT);
    const keptResource = without(resource, new Set(['meta']));
    if (Object.keys(keptMeta).length > 0) keptResource.meta = keptMeta;
    return { ...without(entry, new Set(['resource'])), resource: keptResource };
  });
  return out;
}
