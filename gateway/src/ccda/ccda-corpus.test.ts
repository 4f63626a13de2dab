import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FhirValidator } from '../fhir/validation';
import { dryRun, type DryRun } from './convert-command';

/**
 * Real-world documents beyond HL7's examples (fixtures/ccda-corpus, its README says where each comes
 * from): each is held to the outcome the README gives it, through the gateway's own guard, converter
 * and validator, as `phr-gateway convert-ccda` runs them.
 */
const CORPUS = resolve(__dirname, '..', '..', '..', 'fixtures', 'ccda-corpus');
const files = readdirSync(CORPUS)
  .filter((name) => name.endsWith('.xml'))
  .sort();

const REFUSED: Readonly<Record<string, RegExp>> = {
  'onc_NT_BadXml_r11_v2.xml': /not well-formed XML: line 59, column 4/,
  'hl7_Consult_Document_Closing_Referral.xml': /no clinical content/,
  'hl7_Patient_and_Provider_Organization_Direct_Address.xml': /no clinical content/,
};

type Json = Record<string, unknown>;

let validator: FhirValidator;
const runs = new Map<string, DryRun>();
beforeAll(() => {
  validator = FhirValidator.create();
  for (const name of files) runs.set(name, dryRun(join(CORPUS, name), validator));
});

const errorsOf = (run: DryRun) =>
  run.issues.filter((i) => i.severity === 'error' || i.severity === 'fatal').map((i) => i.diagnostics ?? i.code);
const resourcesOf = (run: DryRun, type: string) =>
  ((run.bundle?.entry as { resource: Json }[] | undefined) ?? [])
    .map((e) => e.resource)
    .filter((r) => r.resourceType === type);

describe('convert-ccda on real-world C-CDA documents (fixtures/ccda-corpus)', () => {
  it('has the ten documents its README lists', () => {
    expect(files).toHaveLength(10);
  });

  it.each(files.filter((f) => REFUSED[f] === undefined))('accepts %s with no error', (name) => {
    const run = runs.get(name)!;
    expect(errorsOf(run)).toEqual([]);
    expect(run.accepted).toBe(true);
    expect(resourcesOf(run, 'DocumentReference')).toHaveLength(1);
  });

  it.each(Object.entries(REFUSED))('refuses %s, saying why', (name, why) => {
    const run = runs.get(name)!;
    expect(run.accepted).toBe(false);
    expect(errorsOf(run).join('\n')).toMatch(why);
  });

  it("gives R1.1 Plan of Care Activity Observations (status new) the Goal status FHIR requires: 'proposed'", () => {
    const goals = resourcesOf(runs.get('onc_170.315_b1_toc_inp_ccd_r11_sample1_v9.xml')!, 'Goal');
    expect(goals.length).toBeGreaterThan(0);
    expect(new Set(goals.map((g) => g.lifecycleStatus))).toEqual(new Set(['proposed']));
  });

  it('keeps the R2.1 goals’ own statuses (active) where the converter maps them', () => {
    const goals = resourcesOf(runs.get('onc_170.315_b1_toc_gold_sample1_v6.xml')!, 'Goal');
    expect(goals.length).toBeGreaterThan(0);
    for (const g of goals) expect(['active', 'completed', 'cancelled']).toContain(g.lifecycleStatus);
  });
});
