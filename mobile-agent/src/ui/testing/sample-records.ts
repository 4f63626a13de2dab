/**
 * A small, realistic vault for the page's tests: two hospitals, lab results, blood pressure, a
 * condition and a vaccination, each stored as the gateway's segmenter does (one whole-resource
 * element, then its coded leaves).
 */
import type { DataElement } from '@phr/common';
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

type Resource = Record<string, unknown> & { resourceType: string };

function clinicalTime(resource: Resource): string | undefined {
  for (const key of ['effectiveDateTime', 'onsetDateTime', 'occurrenceDateTime', 'performedDateTime', 'authoredOn']) {
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
  for (const key of ['code', 'vaccineCode']) {
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
