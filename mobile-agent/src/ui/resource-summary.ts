/**
 * One line per FHIR resource for the Records page: what it is, its code and its value. The vault
 * keeps whole resources (kind 'resource'); their coded leaves are separate elements, so the words
 * come from the resource itself. Unknown shapes fall back to the resource type, never to raw JSON.
 */
import type { DataElement } from '@phr/common';
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

/** The words of a CodeableConcept: its text, else its first display, else its first code. */
function conceptText(concept: unknown): string | undefined {
  if (!isObject(concept)) return undefined;
  const first = codings(concept)[0];
  return str(concept.text) ?? codings(concept).find((c) => c.display)?.display ?? first?.code;
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

/** The concept that says what the resource is about, by resource type. */
function mainConcept(resource: Json): unknown {
  for (const key of ['code', 'vaccineCode', 'medicationCodeableConcept']) {
    if (isObject(resource[key])) return resource[key];
  }
  if (Array.isArray(resource.type) && isObject(resource.type[0])) return resource.type[0];
  if (isObject(resource.type)) return resource.type;
  return undefined;
}

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
  const status = conceptText(resource.clinicalStatus) ?? str(resource.status);
  return status === undefined ? undefined : status.charAt(0).toUpperCase() + status.slice(1);
}

export function summariseResource(element: DataElement): ResourceSummary {
  const resource = element.resource ?? {};
  const concept = mainConcept(resource);
  const summary: ResourceSummary = {
    what: element.display ?? conceptText(concept) ?? element.resourceType,
  };
  const code = element.code !== undefined ? codeText(element.system, element.code) : conceptCode(concept);
  if (code !== undefined) summary.code = code;
  const value =
    element.value !== undefined ? `${element.value}${element.unit ? ` ${element.unit}` : ''}` : resourceValue(resource);
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
  DocumentReference: 'Documents',
};

export function resourceTypeText(resourceType: string): string {
  const label = RESOURCE_TYPE_LABELS[resourceType];
  return label ? `${label} (${resourceType})` : resourceType;
}
