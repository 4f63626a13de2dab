import {
  BODY_WEIGHT,
  countOf,
  HBA1C,
  loadSyntheaBundle,
  mrnOf,
  observationCategories,
  observationsWith,
  resourceCounts,
  withMrnSuffix,
} from './synthea';

describe("the demo's Synthea record", () => {
  const bundle = loadSyntheaBundle();

  test('is a transaction Bundle with HbA1c results (laboratory) and body weights (vital signs)', () => {
    expect(bundle.type).toBe('transaction');
    const hba1c = observationsWith(bundle, HBA1C);
    const weights = observationsWith(bundle, BODY_WEIGHT);
    expect(hba1c.length).toBeGreaterThan(1);
    expect(weights.length).toBeGreaterThan(0);
    for (const o of hba1c) expect(observationCategories(o)).toEqual(['laboratory']);
    for (const o of weights) expect(observationCategories(o)).toEqual(['vital-signs']);
    // step 7 asks for diagnoses, which the record holds and the consent does not cover
    expect(countOf(bundle, 'Condition')).toBeGreaterThan(0);
    expect(resourceCounts(bundle).reduce((n, [, c]) => n + c, 0)).toBe(bundle.entry.length);
  });

  test('each run gets its own MRN on a copy; the fixture is untouched', () => {
    const original = mrnOf(bundle);
    const copy = withMrnSuffix(bundle, 'demo-run1');
    expect(mrnOf(copy)).toEqual({ system: original.system, value: `${original.value}-demo-run1` });
    expect(mrnOf(bundle)).toEqual(original);
    expect(copy.entry.length).toBe(bundle.entry.length);
  });

  test('a bundle without exactly one Patient with an MRN is refused', () => {
    expect(() => mrnOf({ ...bundle, entry: [] })).toThrow(/0 Patient resources/);
    const noMrn = structuredClone(bundle);
    for (const e of noMrn.entry) if (e.resource.resourceType === 'Patient') e.resource.identifier = [];
    expect(() => mrnOf(noMrn)).toThrow(/medical record number/);
  });
});
