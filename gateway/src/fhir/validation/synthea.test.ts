import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FhirValidator, hasErrors } from './fhir-validator';
import { parseFhirJson } from './parse-fhir-json';

/** No false positives: the 32 real Synthea transaction bundles must validate with zero errors. */

const SYNTHEA = join(__dirname, '../../../../fixtures/synthea-r4');
const files = readdirSync(SYNTHEA).filter((f) => f.endsWith('.json'));

describe('fixtures/synthea-r4 (valid transaction bundles)', () => {
  let validator: FhirValidator;
  beforeAll(() => {
    validator = FhirValidator.create();
  });

  it('has the 32 bundles', () => {
    expect(files).toHaveLength(32);
  });

  it.each(files)('%s validates with no error issues', (file) => {
    const bundle = parseFhirJson(readFileSync(join(SYNTHEA, file))) as { entry: unknown[] };
    expect(bundle.entry.length).toBeGreaterThan(0);
    const issues = validator.validateBundle(bundle);
    expect(issues.filter((i) => i.severity === 'error' || i.severity === 'fatal')).toEqual([]);
    expect(hasErrors(issues)).toBe(false);
  });

  it('refuses the whole transaction when one entry is broken (all-or-nothing)', () => {
    const bundle = parseFhirJson(readFileSync(join(SYNTHEA, files[0] ?? ''))) as {
      entry: { resource: Record<string, unknown> }[];
    };
    const target = bundle.entry.findIndex((e) => e.resource['resourceType'] === 'Encounter');
    expect(target).toBeGreaterThanOrEqual(0);
    const entry = bundle.entry[target];
    if (!entry) throw new Error('no Encounter entry');
    entry.resource['status'] = 'completed'; // an R5 code, not in R4's required value set
    const issues = validator.validateBundle(bundle);
    expect(hasErrors(issues)).toBe(true);
    expect(issues.map((i) => i.expression?.[0])).toContain(`Bundle.entry[${target}].resource.status`);
  });
});
