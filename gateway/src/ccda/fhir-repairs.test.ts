import type { OutcomeIssue } from '@phr/common';
import { FhirValidator } from '../fhir/validation';
import { repairResource, type RepairContext } from './fhir-repairs';
import { GoalStatuses } from './goal-statuses';

type Json = Record<string, unknown>;

let validator: FhirValidator;
beforeAll(() => {
  validator = FhirValidator.create();
});

function repaired(resource: Json): { resource: Json; warnings: string[] } {
  const warnings: OutcomeIssue[] = [];
  const context: RepairContext = { goalStatuses: GoalStatuses.in({}, []), warnings };
  repairResource(resource, context);
  return { resource, warnings: warnings.map((w) => w.diagnostics ?? '') };
}

const errorsOf = (resource: Json) =>
  validator
    .validateResource(JSON.parse(JSON.stringify(resource)))
    .filter((i) => i.severity === 'error' || i.severity === 'fatal')
    .map((i) => `${i.expression?.join(',') ?? ''}: ${i.diagnostics ?? i.code}`);

const patient = { reference: 'Patient/p1' };

describe('repairResource: what FHIR requires and the converter leaves out', () => {
  it('states that an Immunization has no vaccine code or time in the document', () => {
    const immunization = { resourceType: 'Immunization', status: 'completed', patient, vaccineCode: {} };
    expect(errorsOf(immunization).join('\n')).toMatch(/vaccineCode|occurrence/);
    const { resource } = repaired(immunization);
    expect(resource.vaccineCode).toEqual({ text: 'no vaccine code in the C-CDA document' });
    expect(resource.occurrenceString).toBe('not stated in the C-CDA document');
    expect(errorsOf(resource)).toEqual([]);
  });

  it('writes dose timing units as FHIR names them, and leaves out a unit it cannot read', () => {
    const request = (unit: string) => ({
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      subject: patient,
      medicationCodeableConcept: { text: 'aspirin' },
      dosageInstruction: [{ timing: { repeat: { period: 12, periodUnit: unit } } }],
    });
    const timingOf = (r: Json) => (r.dosageInstruction as { timing?: Json }[])[0]!.timing;
    for (const [written, unit] of [
      ['hr', 'h'],
      ['Hours', 'h'],
      ['d', 'd'],
      ['week', 'wk'],
    ] as const) {
      const { resource, warnings } = repaired(request(written));
      expect(timingOf(resource)).toEqual({ repeat: { period: 12, periodUnit: unit } });
      expect(warnings).toEqual([]);
      expect(errorsOf(resource)).toEqual([]);
    }
    const unreadable = request('m');
    expect(errorsOf(unreadable).join('\n')).toMatch(/periodUnit/);
    const { resource, warnings } = repaired(unreadable);
    // The timing had only that period: nothing is left of it, and an empty object is not FHIR.
    expect(resource.dosageInstruction).toBeUndefined();
    expect(warnings).toEqual([
      expect.stringMatching(/MedicationRequest: a dose timing's unit 'm' is not a unit of time/),
    ]);
    expect(errorsOf(resource)).toEqual([]);
  });

  it('leaves out a reference range that is only a pointer into the narrative (obs-3)', () => {
    const observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'Hemoglobin' },
      subject: patient,
      referenceRange: [
        {
          extension: [
            { url: 'https://medplum.com/fhir/StructureDefinition/ccda-narrative-reference', valueString: '#r1' },
          ],
        },
        { text: '12–15 g/dL' },
      ],
    };
    expect(errorsOf(observation).join('\n')).toMatch(/obs-3/);
    const { resource, warnings } = repaired(observation);
    expect(resource.referenceRange).toEqual([{ text: '12–15 g/dL' }]);
    expect(warnings).toEqual([expect.stringMatching(/^Observation "Hemoglobin": a reference range with no low/)]);
    expect(errorsOf(resource)).toEqual([]);
  });

  it('leaves out the end of a period FHIRPath cannot order after its start (same day, one with a time)', () => {
    const encounter = {
      resourceType: 'Encounter',
      status: 'finished',
      class: { code: 'AMB' },
      subject: patient,
      period: { start: '2023-06-21', end: '2023-06-21T06:20:00Z' },
    };
    expect(errorsOf(encounter).join('\n')).toMatch(/per-1/);
    const { resource, warnings } = repaired(encounter);
    expect(resource.period).toEqual({ start: '2023-06-21' });
    expect(warnings).toEqual([expect.stringMatching(/^Encounter\.period: the interval's end/)]);
    expect(errorsOf(resource)).toEqual([]);
  });

  it('keeps a period in order as it is', () => {
    const period = { start: '2023-06-21T06:20:00Z', end: '2023-06-22' };
    const { resource, warnings } = repaired({ resourceType: 'Encounter', status: 'finished', class: {}, period });
    expect(resource.period).toEqual(period);
    expect(warnings).toEqual([]);
  });
});
