import { isExactNumber, normalizeTime, numberText, type DataElement } from '@phr/common';

/**
 * Turns one validated FHIR R4 resource into a segment: element 0 holds the whole resource, then one
 * `coded` element per Coding leaf (code system + code, with the value, unit and time that belong to
 * it). Requesters and consents address these leaves; the ledger only ever sees their salted hashes.
 *
 * The walk is generic rather than per resource type, so profiles and resource types we have never
 * seen still yield their codes. Choices:
 * - A Coding is any object with string `system` and `code` that is not a Quantity (no `value`,
 *   `unit` or `comparator`, not under a `...Quantity` key). Codings without a system are skipped:
 *   a bare code means nothing to a requester from another institution. Bare `code` primitives
 *   (Patient.gender, us-core-birthsex's valueCode) are not Codings and stay in the resource element.
 * - `meta` (tags, security labels), the narrative `text`, `modifierExtension`, primitive
 *   extensions (`_field`) and `identifier` are skipped. Identifier type codes are not clinical and
 *   would only tell a requester which documents (passport, driver's licence) a patient has. Extensions are skipped except US Core ones (race,
 *   ethnicity, ...), whose nested valueCodings are standard codes worth searching for.
 * - Contained resources are walked like the rest of the resource (path `X.contained[0]...`): they
 *   have no existence outside their container (FHIR R4 §2.36), so their codes (often the
 *   Medication of a MedicationRequest) belong to this segment, with the container's time.
 * - Keys are visited in RFC 8785 order (UTF-16 code units), so the elements and their ids depend on
 *   the resource's content only, not on the key order the sender happened to use.
 */
export interface SegmentInput {
  segmentId: string;
  resource: Record<string, unknown>;
  /** The resource's id in the sender's bundle; only used to say which resource was bad. */
  sourceId: string;
}

/** Thrown for input that validation should have refused; not the sender's data in the message. */
export class SegmentError extends Error {
  override readonly name = 'SegmentError';
  readonly code = 'invalid-resource';
}

const US_CORE_EXTENSION = 'http://hl7.org/fhir/us/core/StructureDefinition/';
const UCUM = 'http://unitsofmeasure.org';

/** Keys whose content is never clinical coding (or is handled by the resource element only). */
const SKIPPED_KEYS: ReadonlySet<string> = new Set([
  'meta',
  'text',
  'modifierExtension',
  'identifier',
  'resourceType',
  'id',
]);

/**
 * Where the clinical time of a resource lives, most specific first. birthDate is deliberately
 * absent: it describes the person, and filtering Patient codes by it would mislead.
 */
const TIME_FIELDS: readonly (readonly [string, string?])[] = [
  ['effectiveDateTime'],
  ['effectiveInstant'],
  ['effectivePeriod', 'start'],
  ['onsetDateTime'],
  ['onsetPeriod', 'start'],
  ['performedDateTime'],
  ['performedPeriod', 'start'],
  ['occurrenceDateTime'],
  ['occurrencePeriod', 'start'],
  ['started'],
  ['period', 'start'],
  ['billablePeriod', 'start'],
  ['authoredOn'],
  ['recordedDate'],
  ['whenHandedOver'],
  ['collection', 'collectedDateTime'],
  ['issued'],
  ['dateAsserted'],
  ['recorded'],
  ['created'],
  ['date'],
  ['dateTime'],
  ['startDate'],
  ['start'],
];

type ElementValue = NonNullable<DataElement['value']>;
interface AttachedValue {
  value?: ElementValue;
  unit?: string;
}

interface WalkState {
  segmentId: string;
  resourceType: string;
  time: string | undefined;
  out: DataElement[];
}

export function segmentResource(input: SegmentInput): DataElement[] {
  const { segmentId, resource } = input;
  const resourceType = resource.resourceType;
  if (typeof resourceType !== 'string' || resourceType === '') {
    throw new SegmentError(`resource ${input.sourceId} has no resourceType`);
  }
  const time = clinicalTime(resource);
  const head: DataElement = { id: `${segmentId}.0`, kind: 'resource', resourceType, path: resourceType };
  if (time !== undefined) head.time = time;
  head.resource = resource;
  const state: WalkState = { segmentId, resourceType, time, out: [head] };
  walkObject(state, resource, resourceType, undefined, false);
  return state.out;
}

function walkObject(
  state: WalkState,
  node: Record<string, unknown>,
  path: string,
  attached: AttachedValue | undefined,
  inUsCoreExtension: boolean,
): void {
  const keys = Object.keys(node).sort();
  for (const key of keys) {
    if (SKIPPED_KEYS.has(key) || key.charCodeAt(0) === 95 /* '_' */) continue;
    const child = node[key];
    if (typeof child !== 'object' || child === null) continue;
    if (key === 'extension') {
      if (Array.isArray(child)) walkExtensions(state, child, path, inUsCoreExtension);
      continue;
    }
    // The value[x] beside a `code` is what that code measured (Observation, its components).
    const forChild = key === 'code' ? siblingValue(node) : attached;
    if (Array.isArray(child)) {
      for (let i = 0; i < child.length; i++) {
        const item: unknown = child[i];
        if (typeof item === 'object' && item !== null) {
          visit(state, item as Record<string, unknown>, key, `${path}.${key}[${i}]`, forChild, inUsCoreExtension);
        }
      }
    } else {
      visit(state, child as Record<string, unknown>, key, `${path}.${key}`, forChild, inUsCoreExtension);
    }
  }
}

function visit(
  state: WalkState,
  node: Record<string, unknown>,
  key: string,
  path: string,
  attached: AttachedValue | undefined,
  inUsCoreExtension: boolean,
): void {
  if (isCoding(node, key)) {
    pushCoded(state, node, path, attached);
  } else {
    walkObject(state, node, path, attached, inUsCoreExtension);
  }
}

function walkExtensions(state: WalkState, extensions: unknown[], path: string, inUsCoreExtension: boolean): void {
  for (let i = 0; i < extensions.length; i++) {
    const ext = extensions[i] as { url?: unknown } | null;
    if (typeof ext !== 'object' || ext === null) continue;
    // Nested extensions of a US Core extension have relative urls ("ombCategory").
    const usCore = inUsCoreExtension || (typeof ext.url === 'string' && ext.url.startsWith(US_CORE_EXTENSION));
    if (usCore) walkObject(state, ext, `${path}.extension[${i}]`, undefined, true);
  }
}

function isCoding(node: Record<string, unknown>, key: string): boolean {
  return (
    typeof node.system === 'string' &&
    typeof node.code === 'string' &&
    node.value === undefined &&
    node.unit === undefined &&
    node.comparator === undefined &&
    !key.endsWith('Quantity')
  );
}

function pushCoded(
  state: WalkState,
  coding: Record<string, unknown>,
  path: string,
  attached: AttachedValue | undefined,
): void {
  const element: DataElement = {
    id: `${state.segmentId}.${state.out.length}`,
    kind: 'coded',
    resourceType: state.resourceType,
    path,
    system: coding.system as string,
    code: coding.code as string,
  };
  if (typeof coding.display === 'string') element.display = coding.display;
  if (attached?.value !== undefined) element.value = attached.value;
  if (attached?.unit !== undefined) element.unit = attached.unit;
  if (state.time !== undefined) element.time = state.time;
  state.out.push(element);
}

/** The value[x] of `node` (if any) in the shape a coded element carries it. */
function siblingValue(node: Record<string, unknown>): AttachedValue | undefined {
  for (const key of Object.keys(node)) {
    // value[x]: "value" followed by an upper-case type name
    if (key.length > 5 && key.startsWith('value') && key.charCodeAt(5) >= 65 && key.charCodeAt(5) <= 90) {
      return valueOf(key.slice(5), node[key]);
    }
  }
  return undefined;
}

function valueOf(type: string, raw: unknown): AttachedValue | undefined {
  switch (type) {
    case 'Quantity':
    case 'Age':
    case 'Count':
    case 'Distance':
    case 'Duration':
      return quantity(raw);
    case 'CodeableConcept': {
      const concept = raw as { coding?: unknown; text?: unknown };
      if (Array.isArray(concept.coding)) {
        for (const coding of concept.coding as Record<string, unknown>[]) {
          const token = codingToken(coding);
          if (token !== undefined) return { value: token };
        }
      }
      return typeof concept.text === 'string' ? { value: concept.text } : undefined;
    }
    case 'Coding': {
      const token = codingToken(raw as Record<string, unknown>);
      return token === undefined ? undefined : { value: token };
    }
    case 'Boolean':
      return typeof raw === 'boolean' ? { value: raw } : undefined;
    case 'Integer':
    case 'Decimal':
    case 'PositiveInt':
    case 'UnsignedInt':
      // A JsonNumber keeps the text the sender wrote (`7.10`): the element hashes over it.
      return isExactNumber(raw) ? { value: raw } : undefined;
    case 'DateTime':
    case 'Date':
    case 'Instant':
      return typeof raw === 'string' ? { value: normalizeTime(raw) } : undefined;
    case 'String':
    case 'Code':
    case 'Id':
    case 'Uri':
    case 'Url':
    case 'Canonical':
    case 'Oid':
    case 'Uuid':
    case 'Markdown':
    case 'Time':
      return typeof raw === 'string' ? { value: raw } : undefined;
    case 'Period': {
      const period = raw as { start?: unknown; end?: unknown };
      const start = typeof period.start === 'string' ? normalizeTime(period.start) : '';
      const end = typeof period.end === 'string' ? normalizeTime(period.end) : '';
      // ISO 8601 time interval; an open end stays empty
      return start || end ? { value: `${start}/${end}` } : undefined;
    }
    case 'Range': {
      const range = raw as { low?: unknown; high?: unknown };
      const low = quantity(range.low);
      const high = quantity(range.high);
      if (low?.value === undefined && high?.value === undefined) return undefined;
      const result: AttachedValue = { value: `${text(low?.value)}..${text(high?.value)}` };
      const unit = low?.unit ?? high?.unit;
      if (unit !== undefined) result.unit = unit;
      return result;
    }
    case 'Ratio': {
      const ratio = raw as { numerator?: unknown; denominator?: unknown };
      const num = quantity(ratio.numerator);
      const den = quantity(ratio.denominator);
      if (num?.value === undefined || den?.value === undefined) return undefined;
      const result: AttachedValue = { value: `${text(num.value)}/${text(den.value)}` };
      if (num.unit !== undefined || den.unit !== undefined) result.unit = `${num.unit ?? '1'}/${den.unit ?? '1'}`;
      return result;
    }
    default:
      // SampledData, Attachment, Reference, base64Binary: too large or not a value a code measured
      return undefined;
  }
}

/** A bound or term of a Range or Ratio as text: a number as the sender wrote it. */
function text(value: AttachedValue['value']): string {
  if (value === undefined) return '';
  return isExactNumber(value) ? numberText(value) : String(value);
}

function quantity(raw: unknown): AttachedValue | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const q = raw as { value?: unknown; unit?: unknown; system?: unknown; code?: unknown };
  const result: AttachedValue = {};
  if (isExactNumber(q.value)) result.value = q.value;
  // UCUM codes are machine-comparable ("kg/m2"); the human `unit` is the fallback
  if (q.system === UCUM && typeof q.code === 'string') result.unit = q.code;
  else if (typeof q.unit === 'string') result.unit = q.unit;
  else if (typeof q.code === 'string') result.unit = q.code;
  return result.value === undefined && result.unit === undefined ? undefined : result;
}

function codingToken(coding: Record<string, unknown> | null | undefined): string | undefined {
  if (typeof coding !== 'object' || coding === null) return undefined;
  return typeof coding.system === 'string' && typeof coding.code === 'string'
    ? `${coding.system}|${coding.code}`
    : undefined;
}

/** The resource's clinical time, normalized; undefined when it has none. */
export function clinicalTime(resource: Record<string, unknown>): string | undefined {
  for (const [field, sub] of TIME_FIELDS) {
    let raw = resource[field];
    if (raw === undefined) continue;
    if (sub !== undefined)
      raw = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)[sub] : undefined;
    if (typeof raw === 'string' && raw !== '') return normalizeTime(raw);
  }
  return undefined;
}
