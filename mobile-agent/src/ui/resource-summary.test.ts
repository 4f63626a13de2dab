import { sizeText } from './document-text';
import { resourceTypeText, summariseResource } from './resource-summary';
import {
  BLOOD_PRESSURE,
  CCDA_ALLERGY,
  CCDA_COMPOSITION,
  CCDA_DOCUMENT,
  CCDA_PROVENANCE,
  DIABETES,
  FLU_SHOT,
  HBA1C,
  HOSTILE_CCDA_XML,
} from './testing/sample-records';

const element = (resource: Record<string, unknown> & { resourceType: string }) => ({
  id: 's.0',
  kind: 'resource' as const,
  resourceType: resource.resourceType,
  path: resource.resourceType,
  resource,
});

describe('summariseResource', () => {
  it('reads what, code and value from common resources', () => {
    expect(summariseResource(element(HBA1C))).toEqual({ what: 'HbA1c', code: 'LOINC 4548-4', value: '6.1 %' });
    expect(summariseResource(element(BLOOD_PRESSURE)).value).toBe('Systolic: 128 mmHg; Diastolic: 82 mmHg');
    expect(summariseResource(element(DIABETES))).toEqual({
      what: 'Type 2 diabetes mellitus',
      code: 'SNOMED CT 44054006',
      value: 'Active',
    });
    expect(summariseResource(element(FLU_SHOT))).toMatchObject({ code: 'CVX 140', value: 'Completed' });
  });

  it('falls back to the resource type for shapes it does not know', () => {
    expect(summariseResource(element({ resourceType: 'Basic', code: 'not a concept' }))).toEqual({ what: 'Basic' });
    expect(summariseResource(element({ resourceType: 'Composition' }))).toEqual({ what: 'Composition' });
    expect(summariseResource(element({ resourceType: 'DocumentReference', content: 'x' }))).toEqual({
      what: 'DocumentReference',
    });
    expect(summariseResource(element({ resourceType: 'Provenance' }))).toEqual({
      what: 'Record history',
      value: '0 records',
    });
    expect(resourceTypeText('constructor')).toBe('constructor');
  });
});

describe('summariseResource, for what a C-CDA delivers', () => {
  it('reads a Composition by its title, type and sections', () => {
    expect(summariseResource(element(CCDA_COMPOSITION))).toEqual({
      what: 'Patient Chart Summary',
      code: 'LOINC 34133-9',
      value: 'Final, 2 sections',
    });
    const untitled = { ...CCDA_COMPOSITION, title: undefined, status: 'preliminary', section: [] };
    expect(summariseResource(element(untitled))).toMatchObject({
      what: 'Summary of episode note',
      value: 'Preliminary',
    });
  });

  it('reads a DocumentReference by its description, format, type and size', () => {
    const size = Buffer.byteLength(HOSTILE_CCDA_XML);
    expect(summariseResource(element(CCDA_DOCUMENT))).toEqual({
      what: 'Patient Chart Summary (C-CDA)',
      code: 'LOINC 34133-9',
      value: `C-CDA document (application/cda+xml), ${sizeText(size)}`,
    });
    const untitled = { ...CCDA_DOCUMENT, description: undefined };
    expect(summariseResource(element(untitled)).what).toBe('Summary of episode note');
    const pdf = {
      resourceType: 'DocumentReference',
      status: 'superseded',
      type: { text: 'Discharge letter' },
      content: [{ attachment: { contentType: 'application/pdf', size: 250_000, title: 'letter.pdf' } }],
    };
    expect(summariseResource(element(pdf))).toEqual({
      what: 'Discharge letter',
      value: 'Superseded, application/pdf, 244 KB',
    });
    expect(summariseResource(element({ ...pdf, type: undefined })).what).toBe('letter.pdf');
  });

  it('reads a Provenance as where its records came from', () => {
    expect(summariseResource(element(CCDA_PROVENANCE))).toEqual({
      what: 'Converted from a document',
      value: '2 records',
    });
    const named = { ...CCDA_PROVENANCE, entity: [{ role: 'source', what: { display: 'CCD of 10 March' } }] };
    expect(summariseResource(element(named)).what).toBe('Converted from CCD of 10 March');
    // as the gateway delivers it: references inside the delivery are urn:uuid, the activity is the converter's
    const delivered = {
      ...CCDA_PROVENANCE,
      activity: { text: 'converted from C-CDA R2.1 by @medplum/ccda 5.1.10' },
      entity: [{ role: 'source', what: { reference: 'urn:uuid:0b6f2c55-1d7e-4d3c-9a51-3f5f0d3c2a10' } }],
    };
    expect(summariseResource(element(delivered)).what).toBe('Converted from an original record');
    const activity = { ...delivered, entity: [] };
    expect(summariseResource(element(activity)).what).toBe('converted from C-CDA R2.1 by @medplum/ccda 5.1.10');
  });

  it('reads the people, organisations and prescriptions a converter writes', () => {
    expect(summariseResource(element(CCDA_ALLERGY))).toMatchObject({ what: 'Penicillin', value: 'Active' });
    const patient = {
      resourceType: 'Patient',
      name: [
        { family: 'Everywoman', given: ['Eve'] },
        { use: 'official', family: 'Betterhalf', given: ['Eve'] },
      ],
      birthDate: '1975-05-01',
    };
    expect(summariseResource(element(patient))).toEqual({ what: 'Eve Betterhalf', value: 'Born 1975-05-01' });
    const nurse = {
      resourceType: 'Practitioner',
      name: [{ family: 'Nightingale', given: ['Nurse'], suffix: ['RN'] }],
      qualification: [{ code: { coding: [{ system: 'http://nucc.org/provider-taxonomy', code: '163W00000X' }] } }],
    };
    expect(summariseResource(element(nurse))).toEqual({ what: 'Nurse Nightingale RN', code: 'NUCC 163W00000X' });
    expect(summariseResource(element({ resourceType: 'Organization', name: 'Good Health Clinic' })).what).toBe(
      'Good Health Clinic',
    );
    const role = {
      resourceType: 'PractitionerRole',
      practitioner: { reference: 'Practitioner/1', display: 'Dr Primary' },
      organization: { display: 'Good Health Clinic' },
    };
    expect(summariseResource(element(role))).toEqual({ what: 'Dr Primary', value: 'Good Health Clinic' });
    const prescription = {
      resourceType: 'MedicationRequest',
      status: 'active',
      contained: [
        { resourceType: 'Medication', id: 'med-1', code: { coding: [{ code: '573621' }], text: 'albuterol' } },
      ],
      medicationReference: { reference: '#med-1' },
    };
    expect(summariseResource(element(prescription))).toEqual({ what: 'albuterol', code: '573621', value: 'Active' });
    const goal = { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'Lose 5 kg' } };
    expect(summariseResource(element(goal))).toEqual({ what: 'Lose 5 kg', value: 'Active' });
  });
});
