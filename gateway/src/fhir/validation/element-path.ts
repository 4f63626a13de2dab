import type { InternalTypeSchema } from '@medplum/core';
import type { FhirTypeIndex } from './fhir-types';
import type { JsonPathSegment } from './json-structure-scan';

/**
 * Issue locations. Every layer reports where it found a problem in its own dialect (ajv: JSON
 * pointers; Medplum: `Observation.value[x].value`); both are turned into a path of JSON keys and
 * array indexes below the validated resource, and one renderer writes that path as FHIRPath with
 * indexes and `ofType()` for choice elements (`Observation.value.ofType(Quantity).code`), the form
 * the HL7 validator uses in `OperationOutcome.issue.expression`.
 */

export type KeyPath = readonly JsonPathSegment[];

const INDEX = /^(0|[1-9]\d*)$/;

/** ajv `instancePath` → key path; a segment is an index only where the JSON there is an array. */
export function pointerToKeyPath(pointer: string, root: unknown): JsonPathSegment[] {
  if (pointer === '') return [];
  const out: JsonPathSegment[] = [];
  let current: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current) && INDEX.test(token)) {
      const index = Number(token);
      out.push(index);
      current = current[index];
    } else {
      out.push(token);
      current = ownValue(current, token);
    }
  }
  return out;
}

const MEDPLUM_SEGMENT = /^([^[\]]+?)(\[x\])?((?:\[\d+\])*)$/;

/**
 * Medplum path (`Bundle.entry[2].resource.value[x].value`) → key path, resolved against the JSON so
 * that `value[x]` becomes the key actually present (`valueInteger` or `_valueInteger`). Returns
 * undefined when the path cannot be read; callers then keep Medplum's text.
 */
export function medplumPathToKeyPath(path: string, root: unknown): JsonPathSegment[] | undefined {
  const segments = path.split('.');
  segments.shift(); // the root type name
  const out: JsonPathSegment[] = [];
  let current: unknown = root;
  for (const segment of segments) {
    const match = MEDPLUM_SEGMENT.exec(segment);
    if (!match) return undefined;
    const [, name = '', choice, indexes = ''] = match;
    const key = choice ? presentChoiceKey(current, name) : presentKey(current, name);
    out.push(key);
    current = ownValue(current, key);
    for (const index of indexes.match(/\d+/g) ?? []) {
      const i = Number(index);
      out.push(i);
      current = Array.isArray(current) ? current[i] : undefined;
    }
  }
  return out;
}

function presentKey(current: unknown, name: string): string {
  if (!isObject(current) || Object.hasOwn(current, name)) return name;
  return Object.hasOwn(current, `_${name}`) ? `_${name}` : name;
}

function presentChoiceKey(current: unknown, base: string): string {
  if (!isObject(current)) return base;
  let extensionKey: string | undefined;
  for (const key of Object.keys(current)) {
    const bare = key.startsWith('_') ? key.slice(1) : key;
    if (bare.length > base.length && bare.startsWith(base) && /[A-Z]/.test(bare.charAt(base.length))) {
      if (key === bare) return key;
      extensionKey ??= key;
    }
  }
  // Absent (e.g. a missing required choice): the element name alone is what FHIRPath calls it.
  return extensionKey ?? base;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Writes `path` (below `root`) as FHIRPath starting at `rootExpression`. Keys unknown to the R4
 * model are written as they are (delimited with backticks when they are not identifiers).
 */
export function renderFhirPath(types: FhirTypeIndex, root: unknown, rootExpression: string, path: KeyPath): string {
  let out = rootExpression;
  let current: unknown = root;
  let schema: InternalTypeSchema | undefined = types.schemaFor('Resource', root);
  let typeCode: string | undefined;
  for (const segment of path) {
    if (typeof segment === 'number') {
      out += `[${segment}]`;
      current = Array.isArray(current) ? current[segment] : undefined;
      continue;
    }
    if (typeCode !== undefined) {
      schema = types.schemaFor(typeCode, current);
      typeCode = undefined;
    }
    const resolved = schema ? types.resolveKey(schema, segment) : undefined;
    current = ownValue(current, segment);
    if (!resolved) {
      out += IDENTIFIER.test(segment) ? `.${segment}` : `.\`${segment.replace(/[`\\]/g, '\\$&')}\``;
      schema = undefined;
      continue;
    }
    out += `.${resolved.name}`;
    if (resolved.choiceType) out += `.ofType(${resolved.choiceType})`;
    typeCode = resolved.primitiveExtension ? 'Element' : resolved.typeCode;
  }
  return out;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The value of `value`'s own property `key`; undefined when `value` is not an object or does not
 * have the property itself. Keys from a request body (`constructor`, `toString`, `__proto__`) must
 * never reach what an object inherits from Object.prototype, so every lookup by such a key goes
 * through here, `Object.hasOwn`, or a Map.
 */
export function ownValue(value: unknown, key: string): unknown {
  return isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}
