import { createHash } from 'node:crypto';
import {
  evalFhirPathTyped,
  isPrimitiveType,
  parseFhirPath,
  toTypedValue,
  type FhirPathAtom,
  type InternalTypeSchema,
  type TypedValue,
} from '@medplum/core';
import { isObject, ownValue } from './element-path';
import type { FhirTypeIndex, ResolvedKey } from './fhir-types';
import type { JsonPathSegment } from './json-structure-scan';
import { checkNarrativeXhtml } from './narrative';
import { periodStartNotAfterEnd } from './period-order';
import type { RawIssue } from './raw-issue';

/**
 * Checks neither Medplum nor the JSON schema make, done in one typed walk over a resource (and
 * everything inside it, Bundle entries included):
 * - empty arrays and objects (FHIR JSON §2.6.2: "must not be present if empty");
 * - two types of one choice element (`valueString` and `valueCode`);
 * - a coded primitive under a required binding that has extensions but no code;
 * - Attachment.size / Attachment.hash against Attachment.data;
 * - narrative XHTML (see narrative.ts);
 * - contained resources: `#id` references must resolve (ref-1), each contained resource must be
 *   referenced (dom-3, which Medplum skips);
 * - invariants on the data types themselves (per-1 on Period, qty-3, ext-1, att-1...) and on
 *   resources nested in resources: Medplum only evaluates the root type's invariants and those
 *   written on elements, so `Encounter.period` with end before start passes it.
 * It also collects literal references for the bundle rules.
 */

export interface CollectedReference {
  /** Key path of the Reference element, from the walked root. */
  path: JsonPathSegment[];
  reference: string;
  /** Resource types the element allows; undefined when any type (or an unknown profile) is allowed. */
  targetTypes?: string[];
}

export interface ResourceRulesResult {
  issues: RawIssue[];
  references: CollectedReference[];
}

/** Invariants handled elsewhere: ele-1 (by the layers' emptiness checks), txt-* (narrative.ts), ref-1 and
 * dom-3 (contained checks here, with clearer messages); org-1 and sdf-19 as Medplum skips them. */
const SKIPPED_CONSTRAINTS = new Set(['ele-1', 'txt-1', 'txt-2', 'ref-1', 'dom-3', 'org-1', 'sdf-19']);
const HL7_PROFILE = 'http://hl7.org/fhir/StructureDefinition/';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const UCUM: TypedValue = toTypedValue('http://unitsofmeasure.org');
/** FHIR JSON writes these primitives as numbers or booleans; every other primitive as a string. */
const JSON_TYPE_OF_PRIMITIVE: ReadonlyMap<string, string> = new Map([
  ['boolean', 'boolean'],
  ['decimal', 'number'],
  ['integer', 'number'],
  ['positiveInt', 'number'],
  ['unsignedInt', 'number'],
]);

export class ResourceRules {
  /** Parsed invariants, keyed by expression; filled lazily, never changes a result. */
  private readonly atoms = new Map<string, FhirPathAtom>();

  constructor(private readonly types: FhirTypeIndex) {}

  check(resource: Record<string, unknown>): ResourceRulesResult {
    const walk = new Walk(this.types, this.atoms);
    walk.resource(resource, 'root');
    return { issues: walk.issues, references: walk.references };
  }
}

interface ContainerFrame {
  /** Key path of the container resource. */
  path: JsonPathSegment[];
  typed: TypedValue;
  containedIds: Map<string, number>;
  /** `#id` references made anywhere in the container (incl. its contained resources). */
  localReferences: { id: string; path: JsonPathSegment[] }[];
}

class Walk {
  readonly issues: RawIssue[] = [];
  readonly references: CollectedReference[] = [];
  private readonly path: JsonPathSegment[] = [];
  private readonly containers: ContainerFrame[] = [];
  /** Innermost resource, for `%resource`. */
  private readonly resources: TypedValue[] = [];

  constructor(
    private readonly types: FhirTypeIndex,
    private readonly atoms: Map<string, FhirPathAtom>,
  ) {}

  /** `kind`: the validated root, a contained resource, or a resource standing alone inside another (Bundle entry). */
  resource(value: Record<string, unknown>, kind: 'root' | 'contained' | 'nested'): void {
    const schema = this.types.resourceSchema(value['resourceType']);
    if (!schema) return; // the schema layer reports unknown resource types
    const typed: TypedValue = { type: schema.type, value };
    this.resources.push(typed);
    const container = kind === 'contained' ? undefined : this.openContainer(value, typed);
    // Medplum evaluates the root resource's own invariants, not those of resources inside it.
    if (kind !== 'root') this.constraints(typed, schema);
    this.object(value, schema);
    if (container) this.closeContainer(container);
    this.resources.pop();
  }

  private openContainer(value: Record<string, unknown>, typed: TypedValue): ContainerFrame {
    const containedIds = new Map<string, number>();
    const contained = value['contained'];
    if (Array.isArray(contained)) {
      contained.forEach((c, i) => {
        const id = isObject(c) ? c['id'] : undefined;
        if (typeof id === 'string') containedIds.set(id, i);
      });
    }
    const frame: ContainerFrame = { path: [...this.path], typed, containedIds, localReferences: [] };
    this.containers.push(frame);
    return frame;
  }

  private closeContainer(frame: ContainerFrame): void {
    this.containers.pop();
    const referenced = new Set<string>();
    for (const local of frame.localReferences) {
      if (local.id === '') continue; // '#' is the container itself
      referenced.add(local.id);
      if (!frame.containedIds.has(local.id)) {
        this.issue('invariant', `Local reference '#${local.id}' does not match any contained resource (ref-1)`, [
          ...local.path,
          'reference',
        ]);
      }
    }
    for (const [id, index] of frame.containedIds) {
      if (!referenced.has(id)) {
        this.issue('invariant', `Contained resource '${id}' is not referenced from elsewhere in the resource (dom-3)`, [
          ...frame.path,
          'contained',
          index,
        ]);
      }
    }
  }

  private object(value: Record<string, unknown>, schema: InternalTypeSchema): void {
    let choices: Map<string, string> | undefined;
    for (const key of Object.keys(value)) {
      if (key === 'resourceType') continue;
      const child = value[key];
      this.path.push(key);
      if (Array.isArray(child) ? child.length === 0 : isObject(child) && Object.keys(child).length === 0) {
        this.issue('structure', `${Array.isArray(child) ? 'Array' : 'Object'} cannot be empty: omit the element`);
      } else {
        const resolved = this.types.resolveKey(schema, key);
        if (resolved?.primitiveExtension) {
          this.codeWithoutValue(value, key, child, resolved);
          this.each(child, (item) => {
            const element = this.types.elementSchema();
            if (isObject(item) && element) this.object(item, element);
            else if (item !== null) this.wrongType(item, 'Element');
          });
        } else if (resolved) {
          if (resolved.choiceType) {
            // Medplum only warns here; two values for one element make the data ambiguous.
            choices ??= new Map();
            const other = choices.get(resolved.name);
            if (other)
              this.issue('structure', `Only one type of ${resolved.name}[x] may be present (${other}, ${key})`);
            else choices.set(resolved.name, key);
          }
          this.each(child, (item) => this.value(item, resolved));
        }
      }
      this.path.pop();
    }
  }

  private each(value: unknown, visit: (item: unknown) => void): void {
    if (!Array.isArray(value)) {
      visit(value);
      return;
    }
    for (let i = 0; i < value.length; i++) {
      this.path.push(i);
      visit(value[i]);
      this.path.pop();
    }
  }

  private value(item: unknown, resolved: ResolvedKey): void {
    const { typeCode } = resolved;
    // Neither Medplum nor HL7's JSON schema always refuse a value of the wrong JSON type: the
    // schema's complex types (and xhtml) do not say `type`, its uri pattern `\S*` takes an empty
    // string, and Medplum reads some objects as primitives. Nulls: the layers report them.
    if (item === null) return;
    if (isPrimitiveType(typeCode)) {
      if (typeof item === 'object') this.wrongType(item, typeCode);
      else if (item === '') this.issue('value', 'A value cannot be an empty string: omit the element');
      else if (typeCode === 'xhtml' && typeof item === 'string') {
        for (const problem of checkNarrativeXhtml(item)) this.issue('invalid', problem);
      }
      return;
    }
    if (!isObject(item)) {
      this.wrongType(item, typeCode);
      return;
    }
    if (this.types.isResourceTypeCode(typeCode)) {
      this.resource(item, resolved.element.path.endsWith('.contained') ? 'contained' : 'nested');
      return;
    }
    const schema = this.types.schemaFor(typeCode, item);
    if (!schema) return;
    if (typeCode === 'Reference') this.reference(item, resolved);
    else if (typeCode === 'Attachment') this.attachment(item);
    if (schema.kind === 'complex-type') this.constraints({ type: typeCode, value: item }, schema);
    this.object(item, schema);
  }

  private reference(item: Record<string, unknown>, resolved: ResolvedKey): void {
    const reference = item['reference'];
    if (typeof reference !== 'string' || reference === '') return;
    if (reference.startsWith('#')) {
      this.containers.at(-1)?.localReferences.push({ id: reference.slice(1), path: [...this.path] });
      return;
    }
    const profiles = resolved.element.type.find((t) => t.code === 'Reference')?.targetProfile;
    const targetTypes = profiles?.every((p) => p.startsWith(HL7_PROFILE) && p !== `${HL7_PROFILE}Resource`)
      ? profiles.map((p) => p.slice(HL7_PROFILE.length))
      : undefined;
    this.references.push({ path: [...this.path], reference, ...(targetTypes ? { targetTypes } : {}) });
  }

  private attachment(item: Record<string, unknown>): void {
    const data = item['data'];
    if (typeof data !== 'string' || data.length % 4 !== 0 || !BASE64.test(data)) return;
    const bytes = Buffer.from(data, 'base64');
    const size = item['size'];
    if (typeof size === 'number' && size !== bytes.length) {
      this.issue('value', `Attachment.size is ${size} but Attachment.data holds ${bytes.length} bytes`, [
        ...this.path,
        'size',
      ]);
    }
    const hash = item['hash'];
    if (typeof hash === 'string' && hash !== createHash('sha1').update(bytes).digest('base64')) {
      this.issue('value', 'Attachment.hash is not the base64 SHA-1 of Attachment.data', [...this.path, 'hash']);
    }
  }

  /** A primitive under a required binding with only extensions (e.g. data-absent-reason) carries no code. */
  private codeWithoutValue(
    parent: Record<string, unknown>,
    key: string,
    extensionPart: unknown,
    resolved: ResolvedKey,
  ): void {
    // typed as @medplum/fhirtypes' ElementDefinitionBinding, a package not installed here
    const binding = resolved.element.binding as { strength?: string; valueSet?: string } | undefined;
    if (binding?.strength !== 'required') return;
    const valuePart = ownValue(parent, key.slice(1));
    const message = `No code provided, and a code is required from the value set ${binding.valueSet ?? ''}`.trim();
    if (Array.isArray(extensionPart)) {
      extensionPart.forEach((ext, i) => {
        const values = Array.isArray(valuePart) ? valuePart : [];
        if (ext !== null && (values[i] === null || values[i] === undefined)) {
          this.issue('code-invalid', message, [...this.path, i]);
        }
      });
    } else if (valuePart === undefined || valuePart === null) {
      this.issue('code-invalid', message);
    }
  }

  private constraints(context: TypedValue, schema: InternalTypeSchema): void {
    for (const constraint of schema.constraints ?? []) {
      if (constraint.severity !== 'error' || SKIPPED_CONSTRAINTS.has(constraint.key)) continue;
      if (constraint.key === 'per-1') {
        const { start, end } = context.value as Record<string, unknown>;
        const holds = typeof start !== 'string' || typeof end !== 'string' || periodStartNotAfterEnd(start, end);
        if (holds !== true) this.issue('invariant', `Constraint failed: per-1: '${constraint.description}'`);
        continue;
      }
      let atom = this.atoms.get(constraint.expression);
      if (!atom) {
        atom = parseFhirPath(constraint.expression);
        this.atoms.set(constraint.expression, atom);
      }
      const variables: Record<string, TypedValue> = { '%context': context, '%ucum': UCUM };
      const resource = this.resources.at(-1);
      if (resource) variables['%resource'] = resource;
      const root = this.containers.at(-1)?.typed;
      if (root) variables['%rootResource'] = root;
      let holds: boolean;
      try {
        const result = evalFhirPathTyped(atom, [context], variables);
        holds = result.length === 1 && result[0]?.value === true;
      } catch {
        // An invariant our FHIRPath engine cannot evaluate is not evidence against the data.
        continue;
      }
      if (!holds) this.issue('invariant', `Constraint failed: ${constraint.key}: '${constraint.description}'`);
    }
  }

  /** `item` (not null: the layers report nulls) is not the JSON type `typeCode` is written as. */
  private wrongType(item: unknown, typeCode: string): void {
    const found = Array.isArray(item)
      ? 'an array'
      : typeof item === 'object'
        ? 'an object'
        : typeof item === 'string'
          ? 'a string'
          : `a ${typeof item}`;
    const expected = isPrimitiveType(typeCode)
      ? `a ${JSON_TYPE_OF_PRIMITIVE.get(typeCode) ?? 'string'} (${typeCode})`
      : `an object (${this.types.isResourceTypeCode(typeCode) ? 'a resource' : typeCode})`;
    this.issue('structure', `Wrong JSON type: expected ${expected}, found ${found}`);
  }

  private issue(code: RawIssue['code'], diagnostics: string, path: JsonPathSegment[] = [...this.path]): void {
    this.issues.push({ severity: 'error', code, diagnostics, path, source: 'gateway' });
  }
}
