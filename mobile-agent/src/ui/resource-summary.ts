/**
 * One line per FHIR resource for the Records page: what it is, its code and its value. The vault
 * keeps whole resources (kind 'resource'); their coded leaves are separate elements, so the words
 * come from the resource itself. Unknown shapes fall back to the resource type, never to raw JSON.
 * Records converted from a C-CDA (its Composition, the original document as a DocumentReference,
 * the Provenance that ties them together) read like any others.
 */
import type { DataElement } from '@phr/common';
import { attachmentSize, mediaType, sizeText } from './document-text';
import { codeText } from './format';

export interface ResourceSummary {
  /** What it is: "Hemoglobin A1c", "Influenza vaccine". */
  what: string;
  /** The main code in words: "LOINC 4548-4". */
  code?: string;
  /** "6.1 %", "120/80 mmHg", "Active". */
  value?: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

interface Coding {
  system?: string;
  code?: string;
  display?: string;
}

function codings(concept: unknown): Coding[] {
  if (!isObject(concept) || !Array.isArray(concept.coding)) return [];
  return concept.coding
    .filter(isObject)
    .map((c) => ({ system: str(c.system), code: str(c.code), display: str(c.display) }));
}

/** The words of a CodeableConcept: its text, else its first display. */
function conceptWords(concept: unknown): string | undefined {
  if (!isObject(concept)) return undefined;
  return str(concept.text) ?? codings(concept).find((c) => c.display)?.display;
}

/** The words of a CodeableConcept, else its first code. */
export function conceptText(concept: unknown): string | undefined {
  return conceptWords(concept) ?? codings(concept)[0]?.code;
}

function conceptCode(concept: unknown): string | undefined {
  const coded = codings(concept).find((c) => c.code !== undefined);
  return coded?.code === undefined ? undefined : codeText(coded.system, coded.code);
}

function quantityText(q: unknown): string | undefined {
  if (!isObject(q) || (typeof q.value !== 'number' && typeof q.value !== 'string')) return undefined;
  const unit = str(q.unit) ?? str(q.code);
  return unit ? `${q.value} ${unit}` : String(q.value);
}

/** value[x] of an Observation or one of its components. */
function valueText(node: Json): string | undefined {
  if (node.valueQuantity !== undefined) return quantityText(node.valueQuantity);
  if (node.valueCodeableConcept !== undefined) return conceptText(node.valueCodeableConcept);
  if (typeof node.valueBoolean === 'boolean') return node.valueBoolean ? 'Yes' : 'No';
  for (const key of ['valueString', 'valueInteger', 'valueDateTime', 'valueTime']) {
    const v = node[key];
    if (typeof v === 'string' || typeof v === 'number') return String(v);
  }
  return undefined;
}

/**
 * The Medication a MedicationRequest points to inside itself ("#med-1"): how a C-CDA converter
 * writes a prescription, where others use medicationCodeableConcept.
 */
function containedMedicationCode(resource: Json): unknown {
  const ref = isObject(resource.medicationReference) ? str(resource.medicationReference.reference) : undefined;
  if (ref === undefined || !ref.startsWith('#') || !Array.isArray(resource.contained)) return undefined;
  const medication: unknown = resource.contained.find((c) => isObject(c) && c.id === ref.slice(1));
  return isObject(medication) && isObject(medication.code) ? medication.code : undefined;
}

/** The concept that says what the resource is about, by resource type. */
function mainConcept(resource: Json): unknown {
  for (const key of ['code', 'vaccineCode', 'medicationCodeableConcept', 'description']) {
    // a PractitionerRole's code is a list
    const value: unknown = Array.isArray(resource[key]) ? resource[key][0] : resource[key];
    if (isObject(value)) return value;
  }
  const medication = containedMedicationCode(resource);
  if (medication !== undefined) return medication;
  for (const key of ['type', 'relationship', 'qualification']) {
    const value = resource[key];
    const first: unknown = Array.isArray(value) ? value[0] : value;
    // a Practitioner's qualification holds its concept one level down
    if (isObject(first)) return key === 'qualification' ? first.code : first;
  }
  return undefined;
}

/** A HumanName in words: its text, else prefix, given names, family name and suffix. */
function nameText(name: unknown): string | undefined {
  if (!isObject(name)) return undefined;
  const parts = (key: string): string[] =>
    (Array.isArray(name[key]) ? name[key].map(str) : [str(name[key])]).filter((p): p is string => p !== undefined);
  const words = [...parts('prefix'), ...parts('given'), ...parts('family'), ...parts('suffix')].join(' ');
  return str(name.text) ?? str(words);
}

/** Who a person or organisation is: the official name when there are several. */
function ownName(resource: Json): string | undefined {
  if (!Array.isArray(resource.name)) return str(resource.name);
  const official: unknown = resource.name.find((n) => isObject(n) && n.use === 'official');
  return nameText(official) ?? resource.name.map(nameText).find((n) => n !== undefined);
}

const capitalised = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

const references = (value: unknown): Json[] => (Array.isArray(value) ? value.filter(isObject) : []);

/** Composition: a document's header. What it is called, its kind, and how much it holds. */
function compositionSummary(resource: Json): Partial<ResourceSummary> {
  const sections = references(resource.section).length;
  const status = str(resource.status);
  const parts = [status && capitalised(status), sections > 0 ? plural(sections, 'section') : undefined];
  return { what: str(resource.title), value: str(parts.filter(Boolean).join(', ')) };
}

/** The format of a document, in words, where the IHE format code names one a patient may recognise. */
function formatText(format: unknown): string | undefined {
  const code = isObject(format) ? str(format.code) : undefined;
  if (code?.startsWith('urn:hl7-org:sdwg:ccda-')) return 'C-CDA document';
  return isObject(format) ? str(format.display) : undefined;
}

/** DocumentReference: an original document. Its name, its format and type, and its size. */
function documentSummary(resource: Json): Partial<ResourceSummary> {
  const content = references(resource.content)[0] ?? {};
  const attachment = isObject(content.attachment) ? content.attachment : {};
  const type = mediaType(attachment.contentType)?.type;
  const bytes = attachmentSize(attachment);
  const kind = formatText(content.format);
  const status = str(resource.status);
  const parts = [
    status !== undefined && status !== 'current' ? capitalised(status) : undefined,
    kind && type ? `${kind} (${type})` : (kind ?? type),
    bytes !== undefined ? sizeText(bytes) : undefined,
  ];
  return {
    // the kind of document before its file name, and its file name before a bare code
    what: str(resource.description) ?? conceptWords(resource.type) ?? str(attachment.title),
    value: str(parts.filter(Boolean).join(', ')),
  };
}

/**
 * Provenance: where other records came from, e.g. the original document they were converted
 * from. A reference inside the delivery may be a bare `urn:uuid:`, which names no type.
 */
function provenanceSummary(resource: Json): Partial<ResourceSummary> {
  const source = references(resource.entity).find((e) => e.role === 'source');
  const what = isObject(source?.what) ? source.what : undefined;
  const reference = str(what?.reference);
  const from =
    str(what?.display) ??
    (reference?.startsWith('DocumentReference/') ? 'a document' : what ? 'an original record' : undefined);
  return {
    // the activity is often the converter's own words ("converted from C-CDA R2.1 by …"): second choice
    what: from ? `Converted from ${from}` : (conceptText(resource.activity) ?? 'Record history'),
    value: plural(references(resource.target).length, 'record'),
  };
}

/** PractitionerRole: who, as what, where; a converter often leaves only the references' names. */
function roleSummary(resource: Json): Partial<ResourceSummary> {
  const name = (ref: unknown) => (isObject(ref) ? str(ref.display) : undefined);
  return { what: name(resource.practitioner), value: name(resource.organization) };
}

/** Types whose generic reading (code, value, status) would say too little. A Map: no prototype keys. */
const BY_TYPE = new Map<string, (resource: Json) => Partial<ResourceSummary>>([
  ['Composition', compositionSummary],
  ['DocumentReference', documentSummary],
  ['Provenance', provenanceSummary],
  ['PractitionerRole', roleSummary],
]);

function resourceValue(resource: Json): string | undefined {
  const own = valueText(resource);
  if (own !== undefined) return own;
  if (Array.isArray(resource.component)) {
    const parts = resource.component
      .filter(isObject)
      .map((c) => {
        const v = valueText(c);
        const name = conceptText(c.code);
        return v === undefined ? undefined : name ? `${name}: ${v}` : v;
      })
      .filter((p): p is string => p !== undefined);
    if (parts.length > 0) return parts.join('; ');
  }
  const status = conceptText(resource.clinicalStatus) ?? str(resource.status) ?? str(resource.lifecycleStatus);
  if (status !== undefined) return capitalised(status);
  return typeof resource.birthDate === 'string' ? `Born ${resource.birthDate}` : undefined;
}

export function summariseResource(element: DataElement): ResourceSummary {
  const resource = element.resource ?? {};
  const concept = mainConcept(resource);
  const own = BY_TYPE.get(element.resourceType)?.(resource) ?? {};
  const summary: ResourceSummary = {
    what:
      element.display ??
      own.what ??
      str(resource.title) ??
      ownName(resource) ??
      conceptText(concept) ??
      element.resourceType,
  };
  const code = element.code !== undefined ? codeText(element.system, element.code) : conceptCode(concept);
  if (code !== undefined) summary.code = code;
  const value =
    element.value !== undefined
      ? `${String(element.value)}${element.unit ? ` ${element.unit}` : ''}`
      : (own.value ?? resourceValue(resource));
  if (value !== undefined) summary.value = value;
  return summary;
}

/** Headings for the groups on the Records page; other types show as their FHIR name. */
export const RESOURCE_TYPE_LABELS: Record<string, string> = {
  Observation: 'Tests and measurements',
  Condition: 'Conditions and diagnoses',
  Immunization: 'Vaccinations',
  MedicationRequest: 'Prescriptions',
  MedicationStatement: 'Medicines you take',
  AllergyIntolerance: 'Allergies',
  Procedure: 'Procedures',
  Encounter: 'Visits and admissions',
  DiagnosticReport: 'Diagnostic reports',
  Patient: 'Personal details',
  CarePlan: 'Care plans',
  Goal: 'Goals',
  DocumentReference: 'Documents',
  Composition: 'Document summaries',
  Provenance: 'Where records came from',
  Practitioner: 'Care professionals',
  PractitionerRole: 'Care professionals’ roles',
  Organization: 'Organisations',
  RelatedPerson: 'Family and carers',
};

export function resourceTypeText(resourceType: string): string {
  const label = Object.hasOwn(RESOURCE_TYPE_LABELS, resourceType) ? RESOURCE_TYPE_LABELS[resourceType] : undefined;
  return label ? `${label} (${resourceType})` : resourceType;
}
