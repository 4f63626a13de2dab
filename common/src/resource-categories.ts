/**
 * Coarse data categories of a resource: the gateway tags each delivery with them on the ledger,
 * and the patient's agent uses the same rules to decide which of its elements a consent covers,
 * so both sides must share one implementation.
 */
import { DATA_CATEGORIES, type DataCategory } from './data-categories';

/** Category by resource type; types not listed fall back to `other`. */
const BY_RESOURCE_TYPE = {
  Patient: 'demographics',
  RelatedPerson: 'demographics',
  Person: 'demographics',
  Organization: 'administrative',
  Practitioner: 'administrative',
  PractitionerRole: 'administrative',
  Location: 'administrative',
  HealthcareService: 'administrative',
  Endpoint: 'administrative',
  Provenance: 'administrative',
  Encounter: 'encounter',
  EpisodeOfCare: 'encounter',
  Appointment: 'encounter',
  Condition: 'condition',
  AllergyIntolerance: 'allergy',
  Procedure: 'procedure',
  ServiceRequest: 'procedure',
  Medication: 'medication',
  MedicationRequest: 'medication',
  MedicationStatement: 'medication',
  MedicationAdministration: 'medication',
  MedicationDispense: 'medication',
  Immunization: 'immunization',
  ImmunizationRecommendation: 'immunization',
  ImmunizationEvaluation: 'immunization',
  DiagnosticReport: 'diagnostic-report',
  ImagingStudy: 'imaging',
  Specimen: 'laboratory',
  CarePlan: 'care-plan',
  CareTeam: 'care-plan',
  Goal: 'care-plan',
  NutritionOrder: 'care-plan',
  DocumentReference: 'document',
  Composition: 'document',
  Binary: 'document',
  Media: 'document',
  QuestionnaireResponse: 'survey',
  Claim: 'claim',
  ClaimResponse: 'claim',
  ExplanationOfBenefit: 'claim',
  Coverage: 'claim',
  Device: 'device',
  DeviceRequest: 'device',
  DeviceUseStatement: 'device',
  FamilyMemberHistory: 'family-history',
} as const satisfies Record<string, DataCategory>;

const OBSERVATION_CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category';
/** http://terminology.hl7.org/CodeSystem/observation-category, plus a spelling some exporters (Synthea) use. */
const BY_OBSERVATION_CATEGORY = {
  'social-history': 'social-history',
  'vital-signs': 'vital-signs',
  'vital-sign': 'vital-signs',
  imaging: 'imaging',
  laboratory: 'laboratory',
  procedure: 'procedure',
  survey: 'survey',
  exam: 'exam',
  therapy: 'therapy',
  activity: 'activity',
} as const satisfies Record<string, DataCategory>;

const DIAGNOSTIC_SERVICE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v2-0074';
/** Diagnostic service sections (v2 table 0074) that DiagnosticReport.category uses. */
const BY_DIAGNOSTIC_SERVICE = {
  AU: 'exam',
  BG: 'laboratory',
  BLB: 'laboratory',
  CG: 'laboratory',
  CH: 'laboratory',
  CP: 'laboratory',
  CT: 'imaging',
  CTH: 'procedure',
  CUS: 'imaging',
  EC: 'exam',
  EN: 'exam',
  GE: 'laboratory',
  HM: 'laboratory',
  ICU: 'vital-signs',
  IMM: 'laboratory',
  LAB: 'laboratory',
  MB: 'laboratory',
  MCB: 'laboratory',
  MYC: 'laboratory',
  NMR: 'imaging',
  NMS: 'imaging',
  NRS: 'exam',
  OSL: 'laboratory',
  OT: 'therapy',
  OTH: 'other',
  OUS: 'imaging',
  PAR: 'laboratory',
  PAT: 'laboratory',
  PF: 'exam',
  PHR: 'medication',
  PHY: 'document',
  PT: 'therapy',
  RAD: 'imaging',
  RC: 'therapy',
  RT: 'therapy',
  RUS: 'imaging',
  RX: 'imaging',
  SP: 'laboratory',
  SR: 'laboratory',
  TX: 'laboratory',
  VR: 'laboratory',
  VUS: 'imaging',
  XRC: 'imaging',
} as const satisfies Record<string, DataCategory>;

/** Types and codes come from the body: look them up as own keys only (never `constructor`, `toString`...). */
const has = <T extends object>(table: T, key: string): key is Extract<keyof T, string> => Object.hasOwn(table, key);

/**
 * The categories of one resource, sorted and without duplicates. Observations are categorised by
 * their observation-category codings (falling back to `other`); DiagnosticReports get
 * `diagnostic-report` plus the section their category names; everything else by resource type.
 */
export function categoriesOf(resource: Record<string, unknown>): DataCategory[] {
  const type = typeof resource.resourceType === 'string' ? resource.resourceType : '';
  const found = new Set<DataCategory>();
  if (type === 'Observation') {
    for (const code of categoryCodes(resource, OBSERVATION_CATEGORY_SYSTEM)) {
      if (has(BY_OBSERVATION_CATEGORY, code)) found.add(BY_OBSERVATION_CATEGORY[code]);
    }
    if (found.size === 0) found.add('other');
  } else if (type === 'DiagnosticReport') {
    found.add('diagnostic-report');
    for (const code of categoryCodes(resource, DIAGNOSTIC_SERVICE_SYSTEM)) {
      if (has(BY_DIAGNOSTIC_SERVICE, code)) found.add(BY_DIAGNOSTIC_SERVICE[code]);
    }
  } else {
    found.add(has(BY_RESOURCE_TYPE, type) ? BY_RESOURCE_TYPE[type] : 'other');
  }
  return [...found].sort();
}

/** Codes of `system` in `resource.category`, which is a CodeableConcept or an array of them. */
function categoryCodes(resource: Record<string, unknown>, system: string): string[] {
  const raw = resource.category;
  const concepts: unknown[] = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  const codes: string[] = [];
  for (const concept of concepts) {
    const codings = (concept as { coding?: unknown } | null)?.coding;
    if (!Array.isArray(codings)) continue;
    for (const coding of codings as { system?: unknown; code?: unknown }[]) {
      if (coding?.system === system && typeof coding.code === 'string') codes.push(coding.code);
    }
  }
  return codes;
}

/** The union of the categories of many resources (a delivery's categories), sorted. */
export function categoriesOfAll(resources: Iterable<Record<string, unknown>>): DataCategory[] {
  const all = new Set<DataCategory>();
  for (const resource of resources) for (const category of categoriesOf(resource)) all.add(category);
  return [...all].sort();
}

/**
 * Every category a resource of this type can fall in (a search for a type asks for all of them).
 * Observations and DiagnosticReports depend on their own category codings.
 */
export function possibleCategoriesOfType(type: string): DataCategory[] {
  const found = new Set<DataCategory>();
  if (type === 'Observation') {
    for (const c of Object.values(BY_OBSERVATION_CATEGORY)) found.add(c);
    found.add('other');
  } else if (type === 'DiagnosticReport') {
    found.add('diagnostic-report');
    for (const c of Object.values(BY_DIAGNOSTIC_SERVICE)) found.add(c);
  } else {
    found.add(has(BY_RESOURCE_TYPE, type) ? BY_RESOURCE_TYPE[type] : 'other');
  }
  return [...found].filter((c) => (DATA_CATEGORIES as readonly string[]).includes(c)).sort();
}
