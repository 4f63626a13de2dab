import { CATEGORY_PATTERN } from './identifiers';
import { DATA_CATEGORIES } from './data-categories';
import { categoriesOf, categoriesOfAll, possibleCategoriesOfType } from './resource-categories';

const OBS_CAT = 'http://terminology.hl7.org/CodeSystem/observation-category';
const obs = (...codes: string[]) => ({
  resourceType: 'Observation',
  category: codes.map((code) => ({ coding: [{ system: OBS_CAT, code }] })),
});

describe('categories', () => {
  it('has a vocabulary that fits the ledger pattern', () => {
    for (const c of DATA_CATEGORIES) expect(c).toMatch(CATEGORY_PATTERN);
  });

  it('maps observation categories directly and falls back to other', () => {
    expect(categoriesOf(obs('vital-signs'))).toEqual(['vital-signs']);
    expect(categoriesOf(obs('social-history', 'laboratory'))).toEqual(['laboratory', 'social-history']);
    expect(categoriesOf(obs('made-up'))).toEqual(['other']);
    expect(categoriesOf({ resourceType: 'Observation' })).toEqual(['other']);
    // a category code from another system is not an observation category
    expect(
      categoriesOf({ resourceType: 'Observation', category: [{ coding: [{ system: 'urn:x', code: 'laboratory' }] }] }),
    ).toEqual(['other']);
  });

  it('adds the diagnostic service section of a DiagnosticReport', () => {
    const report = {
      resourceType: 'DiagnosticReport',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'RAD' }] }],
    };
    expect(categoriesOf(report)).toEqual(['diagnostic-report', 'imaging']);
  });

  it('maps resource types and unknown types', () => {
    expect(categoriesOf({ resourceType: 'Patient' })).toEqual(['demographics']);
    expect(categoriesOf({ resourceType: 'ExplanationOfBenefit' })).toEqual(['claim']);
    expect(categoriesOf({ resourceType: 'MedicationRequest' })).toEqual(['medication']);
    expect(categoriesOf({ resourceType: 'Basic' })).toEqual(['other']);
    // inherited Object properties are not resource types
    expect(categoriesOf({ resourceType: 'constructor' })).toEqual(['other']);
  });

  it('never takes a name Object.prototype carries for a category (types and codes come from the body)', () => {
    const DIAGNOSTIC_SERVICE = 'http://terminology.hl7.org/CodeSystem/v2-0074';
    for (const name of Object.getOwnPropertyNames(Object.prototype)) {
      expect(categoriesOf({ resourceType: name })).toEqual(['other']);
      expect(categoriesOf(obs(name))).toEqual(['other']);
      const report = {
        resourceType: 'DiagnosticReport',
        category: [{ coding: [{ system: DIAGNOSTIC_SERVICE, code: name }] }],
      };
      expect(categoriesOf(report)).toEqual(['diagnostic-report']);
      expect(possibleCategoriesOfType(name)).toEqual(['other']);
    }
    // malformed category shapes (validation refuses them; categorising must not throw on them)
    for (const category of [null, 5, 'x', [null], [{ coding: 'x' }], [{ coding: [null, 5] }], { coding: {} }]) {
      expect(categoriesOf({ resourceType: 'Observation', category })).toEqual(['other']);
    }
  });

  it('unions a delivery', () => {
    expect(categoriesOfAll([obs('laboratory'), { resourceType: 'Patient' }, obs('laboratory')])).toEqual([
      'demographics',
      'laboratory',
    ]);
  });
});

describe('possibleCategoriesOfType', () => {
  it('names every category a resource of the type can get', () => {
    expect(possibleCategoriesOfType('Condition')).toEqual(['condition']);
    expect(possibleCategoriesOfType('Unheard')).toEqual(['other']);
    const observation = possibleCategoriesOfType('Observation');
    expect(observation).toEqual(expect.arrayContaining(['laboratory', 'vital-signs', 'other']));
    for (const resource of [obs('laboratory'), obs('vital-signs'), obs()]) {
      for (const c of categoriesOf(resource)) expect(observation).toContain(c);
    }
  });
});
