import { summariseResource } from './resource-summary';
import { BLOOD_PRESSURE, DIABETES, FLU_SHOT, HBA1C } from './testing/sample-records';

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
  });
});
