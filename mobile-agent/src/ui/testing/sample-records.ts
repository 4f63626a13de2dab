/**
 * A small, realistic vault for the page's tests: two hospitals, lab results, blood pressure, a
 * condition and a vaccination, each stored as the gateway's segmenter does (one whole-resource
 * element, then its coded leaves). A C-CDA delivery (ccdaDelivery) and a real Synthea patient
 * (syntheaDelivery) are kept apart, for the tests that add them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseExactJson, type DataElement } from '@phr/common';
import type { VaultDelivery, VaultElement } from '../../vault/vault-types';

export const SAMPLE_HOSPITALS = [
  { name: 'Hospital One', mspId: 'Hospital1MSP' },
  { name: 'Hospital Two', mspId: 'Hospital2MSP' },
];

const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const CVX = 'http://hl7.org/fhir/sid/cvx';

export const HBA1C = {
  resourceType: 'Observation',
  id: 'obs-hba1c',
  status: 'final',
  category: [
    { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] },
  ],
  code: {
    coding: [{ system: LOINC, code: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood' }],
    text: 'HbA1c',
  },
  effectiveDateTime: '2025-01-15T09:30:00Z',
  valueQuantity: { value: 6.1, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
};

export const BLOOD_PRESSURE = {
  resourceType: 'Observation',
  id: 'obs-bp',
  status: 'final',
  category: [
    { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] },
  ],
  code: { coding: [{ system: LOINC, code: '85354-9', display: 'Blood pressure panel' }] },
  effectiveDateTime: '2025-02-01T14:00:00Z',
  component: [
    {
      code: { coding: [{ system: LOINC, code: '8480-6', display: 'Systolic' }] },
      valueQuantity: { value: 128, unit: 'mmHg' },
    },
    {
      code: { coding: [{ system: LOINC, code: '8462-4', display: 'Diastolic' }] },
      valueQuantity: { value: 82, unit: 'mmHg' },
    },
  ],
};

export const DIABETES = {
  resourceType: 'Condition',
  id: 'cond-dm2',
  clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
  code: { coding: [{ system: SNOMED, code: '44054006', display: 'Type 2 diabetes mellitus' }] },
  onsetDateTime: '2024-11-03T10:00:00Z',
};

/** A display with markup in it: the page must show it as text. */
export const FLU_SHOT = {
  resourceType: 'Immunization',
  id: 'imm-flu',
  status: 'completed',
  vaccineCode: { coding: [{ system: CVX, code: '140', display: 'Influenza <b>seasonal</b> & "preservative free"' }] },
  occurrenceDateTime: '2024-10-10T08:00:00Z',
};

/** What a hospital's C-CDA can carry besides records: markup the page must only ever show as text. */
export const HOSTILE_CCDA_XML = `<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <code code="34133-9" codeSystem="2.16.840.1.113883.6.1" displayName="Summary of episode note"/>
  <title>Patient Chart Summary</title>
  <component><structuredBody><component><section>
    <title>ALLERGIES</title>
    <text>
      <table><tr><th>Substance</th><th>Reaction</th></tr><tr><td>Penicillin</td><td>Hives — «urticaria»</td></tr></table>
      <script>alert(1)</script>
      <img src=x onerror=alert(1)>
      <linkHtml href="javascript:alert(1)">details</linkHtml>
    </text>
  </section></component></structuredBody></component>
</ClinicalDocument>
`;

export const CCDA_DOCUMENT = {
  resourceType: 'DocumentReference',
  id: 'docref-ccda',
  status: 'current',
  type: { coding: [{ system: LOINC, code: '34133-9', display: 'Summary of episode note' }] },
  description: 'Patient Chart Summary (C-CDA)',
  date: '2025-03-10T07:45:00Z',
  content: [
    {
      attachment: {
        contentType: 'application/cda+xml',
        data: Buffer.from(HOSTILE_CCDA_XML, 'utf8').toString('base64'),
        title: 'CCD.xml',
        size: Buffer.byteLength(HOSTILE_CCDA_XML, 'utf8'),
      },
      format: {
        system: 'http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode',
        code: 'urn:hl7-org:sdwg:ccda-structuredBody:2.1',
      },
    },
  ],
};

export const CCDA_COMPOSITION = {
  resourceType: 'Composition',
  id: 'comp-ccda',
  status: 'final',
  type: { coding: [{ system: LOINC, code: '34133-9', display: 'Summary of episode note' }] },
  date: '2025-03-10T07:45:00Z',
  title: 'Patient Chart Summary',
  author: [{ reference: 'Practitioner/pr-1', display: 'Patricia Primary M.D.' }],
  custodian: { reference: 'Organization/org-1', display: 'Good Health Clinic' },
  section: [
    {
      title: 'ALLERGIES',
      code: { coding: [{ system: LOINC, code: '48765-2' }] },
      text: {
        status: 'generated',
        div:
          '<div xmlns="http://www.w3.org/1999/xhtml"><table><tr><th>Substance</th><th>Reaction</th></tr>' +
          '<tr><td>Penicillin</td><td><b>Hives</b> &amp; rash</td></tr></table>' +
          '<img src="x" onerror="alert(1)"/><a href="javascript:alert(1)">details</a><script>alert(1)</script></div>',
      },
    },
    { code: { coding: [{ system: LOINC, code: '10160-0', display: 'Medications' }] } },
  ],
};

export const CCDA_ALLERGY = {
  resourceType: 'AllergyIntolerance',
  id: 'allergy-penicillin',
  clinicalStatus: {
    coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }],
  },
  code: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '70618', display: 'Penicillin' }] },
  recordedDate: '2025-03-10T07:45:00Z',
};

export const CCDA_PROVENANCE = {
  resourceType: 'Provenance',
  id: 'prov-ccda',
  target: [{ reference: 'Composition/comp-ccda' }, { reference: 'AllergyIntolerance/allergy-penicillin' }],
  recorded: '2025-03-10T08:00:00Z',
  agent: [{ who: { display: 'Hospital One gateway' } }],
  entity: [{ role: 'source', what: { reference: 'DocumentReference/docref-ccda' } }],
};

/** One C-CDA as the gateway delivers it: the converted records, the original XML and their provenance. */
export function ccdaDelivery(deliveryId = 'delivery-ccda-01'): { delivery: VaultDelivery; elements: VaultElement[] } {
  return sampleDelivery(
    deliveryId,
    'Hospital1MSP',
    [CCDA_COMPOSITION, CCDA_DOCUMENT, CCDA_ALLERGY, CCDA_PROVENANCE],
    '2025-03-10T08:00:00Z',
  );
}

type Resource = Record<string, unknown> & { resourceType: string };

/** As the gateway's segmenter reads it, for the fields these samples use. */
function clinicalTime(resource: Resource): string | undefined {
  const fields = [
    'effectiveDateTime',
    'onsetDateTime',
    'performedDateTime',
    'occurrenceDateTime',
    'authoredOn',
    'recordedDate',
    'recorded',
    'date',
  ];
  for (const key of fields) {
    if (typeof resource[key] === 'string') return resource[key];
  }
  return undefined;
}

/** One segment: the resource element and a coded leaf per coding (plus components), like the gateway's. */
export function segmentElements(deliveryId: string, segmentId: string, resource: Resource): VaultElement[] {
  const time = clinicalTime(resource);
  const elements: DataElement[] = [
    {
      id: `${segmentId}.0`,
      kind: 'resource',
      resourceType: resource.resourceType,
      path: resource.resourceType,
      resource,
      ...(time ? { time } : {}),
    },
  ];
  const leaf = (
    path: string,
    coding: { system?: string; code?: string; display?: string },
    value?: { value: number; unit: string },
  ) => {
    const e: DataElement = {
      id: `${segmentId}.${elements.length}`,
      kind: 'coded',
      resourceType: resource.resourceType,
      path,
    };
    if (coding.system) e.system = coding.system;
    if (coding.code) e.code = coding.code;
    if (coding.display) e.display = coding.display;
    if (value) Object.assign(e, { value: value.value, unit: value.unit });
    if (time) e.time = time;
    elements.push(e);
  };
  for (const key of ['code', 'vaccineCode', 'type']) {
    const concept = resource[key] as { coding?: { system?: string; code?: string; display?: string }[] } | undefined;
    concept?.coding?.forEach((c, i) =>
      leaf(
        `${resource.resourceType}.${key}.coding[${i}]`,
        c,
        resource.valueQuantity as { value: number; unit: string } | undefined,
      ),
    );
  }
  const components = (resource.component ?? []) as {
    code: { coding: { system: string; code: string; display: string }[] };
    valueQuantity: { value: number; unit: string };
  }[];
  components.forEach((comp, i) =>
    comp.code.coding.forEach((c, j) =>
      leaf(`${resource.resourceType}.component[${i}].code.coding[${j}]`, c, comp.valueQuantity),
    ),
  );
  // the page never reads salts or proofs; the shapes are right, the values are placeholders
  return elements.map((element, elementIndex) => ({
    deliveryId,
    segmentId,
    element,
    salt: '0'.repeat(32),
    proof: { segmentIndex: 0, elementIndex, elementPath: [], segmentPath: [] },
  }));
}

export function sampleDelivery(
  deliveryId: string,
  sender: string,
  resources: readonly Resource[],
  storedAt = '2025-02-02T08:00:00Z',
): { delivery: VaultDelivery; elements: VaultElement[] } {
  const elements = resources.flatMap((r, i) => segmentElements(deliveryId, `${deliveryId}-s${i}`, r));
  return {
    delivery: {
      deliveryId,
      sender,
      merkleRoot: 'a'.repeat(64),
      categories: [],
      segmentCount: resources.length,
      elementCount: elements.length,
      createdAt: storedAt,
      storedAt,
    },
    elements,
  };
}

export function sampleVault(): { deliveries: VaultDelivery[]; elements: VaultElement[] } {
  const one = sampleDelivery('delivery-0001', 'Hospital1MSP', [HBA1C, BLOOD_PRESSURE, DIABETES]);
  const two = sampleDelivery('delivery-0002', 'Hospital2MSP', [FLU_SHOT], '2024-10-11T08:00:00Z');
  return { deliveries: [one.delivery, two.delivery], elements: [...one.elements, ...two.elements] };
}

/** The Synthea R4 bundles in fixtures/ (the same path from src/ and from dist/). */
export const SYNTHEA_DIR = join(__dirname, '../../../../fixtures/synthea-r4');

/**
 * A Synthea patient with ten HbA1c results (one a year, 2012 to 2021; one written with more digits
 * than a double keeps), ten blood pressure readings and body weights, and thirteen total
 * cholesterol results: every followed trend, from real data.
 */
export const SYNTHEA_TRENDS_PATIENT = 'Jesus_Smitham_fb6c91c9-ee22-4a87-bef4-519ba556c617.json';

/** A Synthea bundle's resources, numbers kept as written (as the gateway and the vault keep them). */
export function syntheaResources(file: string): Resource[] {
  const bundle = parseExactJson(readFileSync(join(SYNTHEA_DIR, file), 'utf8')) as { entry?: { resource: Resource }[] };
  return (bundle.entry ?? []).map((e) => e.resource);
}

/** A whole Synthea bundle delivered as one delivery, as an EHR posts it. */
export function syntheaDelivery(
  file = SYNTHEA_TRENDS_PATIENT,
  deliveryId = 'delivery-synthea',
  sender = 'Hospital1MSP',
): { delivery: VaultDelivery; elements: VaultElement[] } {
  return sampleDelivery(deliveryId, sender, syntheaResources(file), '2025-03-15T08:00:00Z');
}
