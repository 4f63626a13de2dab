import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  categoriesOf,
  CATEGORY_PATTERN,
  canonicalJson,
  exactNumber,
  JsonNumber,
  parseExactJson,
  type DataElement,
} from '@phr/common';
import { segmentResource, SegmentError } from './segmenter';

const FIXTURES = join(__dirname, '..', '..', '..', 'fixtures', 'synthea-r4');
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';

type Resource = Record<string, unknown>;

function loadSynthea(): { file: string; resources: Resource[] }[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const bundle = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as { entry: { resource: Resource }[] };
      return { file, resources: bundle.entry.map((e) => e.resource) };
    });
}

/** Same content, keys in reverse order at every level. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).reverse()) out[key] = reverseKeys((value as Resource)[key]);
  return out;
}

const segment = (resource: Resource, segmentId = 'seg-1'): DataElement[] =>
  segmentResource({ segmentId, resource, sourceId: 'src' });
const coded = (elements: DataElement[]) => elements.filter((e) => e.kind === 'coded');

describe('segmenter', () => {
  const bundles = loadSynthea();
  const all = bundles.flatMap((b) => b.resources);

  it('reads the Synthea fixtures', () => {
    expect(bundles.length).toBeGreaterThanOrEqual(30);
    expect(all.length).toBeGreaterThan(5000);
  });

  it('segments every Synthea resource: unique ids, resource element first, coded leaves complete', () => {
    const seen = new Set<string>();
    let codedCount = 0;
    all.forEach((resource, i) => {
      const elements = segment(resource, `seg-${i}`);
      expect(elements[0]).toMatchObject({ id: `seg-${i}.0`, kind: 'resource', resourceType: resource.resourceType });
      expect(elements[0]?.resource).toBe(resource);
      elements.forEach((e, n) => {
        expect(e.id).toBe(`seg-${i}.${n}`);
        expect(seen.has(e.id)).toBe(false);
        seen.add(e.id);
        if (n > 0) {
          expect(e.kind).toBe('coded');
          expect(typeof e.system).toBe('string');
          expect(e.system).not.toBe('');
          expect(typeof e.code).toBe('string');
          expect(e.code).not.toBe('');
          expect(e.path.startsWith(`${String(resource.resourceType)}.`)).toBe(true);
          expect(e.path).not.toMatch(/\.meta\./);
          expect(e.resource).toBeUndefined();
        }
      });
      // every element must be hashable as canonical JSON (no undefined fields)
      for (const e of elements) if (e.kind === 'coded') expect(() => canonicalJson(e)).not.toThrow();
      codedCount += elements.length - 1;
    });
    expect(codedCount).toBeGreaterThan(all.length);
  });

  it('is deterministic across runs and independent of key order', () => {
    for (const resource of all.filter((_, i) => i % 7 === 0)) {
      const first = segment(resource);
      expect(segment(structuredClone(resource))).toEqual(first);
      const reordered = segment(reverseKeys(resource) as Resource);
      expect(reordered.map(({ resource: _r, ...rest }) => rest)).toEqual(
        first.map(({ resource: _r, ...rest }) => rest),
      );
    }
  });

  it('attaches number and UCUM unit to vital signs (body height 8302-2)', () => {
    const heights = all.flatMap((r) => coded(segment(r))).filter((e) => e.system === LOINC && e.code === '8302-2');
    expect(heights.length).toBeGreaterThan(10);
    for (const e of heights) {
      expect(e.path).toMatch(/^Observation\.code\.coding\[\d+\]$/);
      expect(typeof e.value).toBe('number');
      expect(e.unit).toBe('cm');
      expect(e.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
  });

  it('attaches component values (blood pressure) and leaves category codings without value', () => {
    const bp = all.find(
      (r) => r.resourceType === 'Observation' && Array.isArray(r.component) && r.component.length >= 2,
    ) as Resource & { component: { code: { coding: { code: string }[] }; valueQuantity: { value: number } }[] };
    expect(bp).toBeDefined();
    const elements = coded(segment(bp));
    const comp = elements.find((e) => e.path === 'Observation.component[1].code.coding[0]');
    expect(comp).toMatchObject({
      system: LOINC,
      code: bp.component[1]?.code.coding[0]?.code,
      value: bp.component[1]?.valueQuantity.value,
    });
    expect(comp?.unit).toBe('mm[Hg]');
    const category = elements.find((e) => e.path === 'Observation.category[0].coding[0]');
    expect(category?.value).toBeUndefined();
    expect(category?.unit).toBeUndefined();
  });

  it('turns valueCodeableConcept into "system|code" and emits its codings too', () => {
    const obs = all.find(
      (r) => r.resourceType === 'Observation' && r.valueCodeableConcept !== undefined,
    ) as Resource & {
      valueCodeableConcept: { coding: { system: string; code: string }[] };
    };
    const vc = obs.valueCodeableConcept.coding[0];
    const elements = coded(segment(obs));
    expect(elements.find((e) => e.path === 'Observation.code.coding[0]')?.value).toBe(`${vc?.system}|${vc?.code}`);
    expect(elements.find((e) => e.path === 'Observation.valueCodeableConcept.coding[0]')).toMatchObject({
      system: vc?.system,
      code: vc?.code,
    });
  });

  it('never mistakes a Quantity for a Coding', () => {
    for (const r of all) for (const e of coded(segment(r))) expect(e.system).not.toBe(UCUM);
  });

  it('takes bare Codings (Encounter.class) and US Core extensions, skips meta and other extensions', () => {
    const encounter = all.find((r) => r.resourceType === 'Encounter') as Resource;
    expect(coded(segment(encounter)).some((e) => e.path === 'Encounter.class')).toBe(true);
    const patient = all.find((r) => r.resourceType === 'Patient') as Resource;
    const paths = coded(segment(patient)).map((e) => e.path);
    expect(paths).toContain('Patient.maritalStatus.coding[0]');
    expect(paths.filter((p) => /^Patient\.extension\[\d+\]\.extension\[\d+\]\.valueCoding$/.test(p))).toHaveLength(2);
    expect(paths.some((p) => p.includes('meta') || p.includes('identifier'))).toBe(false);
  });

  it('skips non-US-Core extensions and codings without a system; walks contained resources', () => {
    const resource: Resource = {
      resourceType: 'MedicationRequest',
      meta: { tag: [{ system: 'urn:tag', code: 't' }] },
      extension: [{ url: 'http://example.org/x', valueCoding: { system: 'urn:x', code: 'x' } }],
      contained: [
        {
          resourceType: 'Medication',
          id: 'm',
          code: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '313782' }] },
        },
      ],
      medicationReference: { reference: '#m' },
      authoredOn: '2021-03-04T05:06:07+01:00',
      reasonCode: [{ coding: [{ code: 'no-system' }, { system: 'http://snomed.info/sct', code: '44054006' }] }],
    };
    const elements = segment(resource);
    expect(elements[0]?.time).toBe('2021-03-04T04:06:07.000Z');
    expect(coded(elements).map((e) => [e.path, e.code])).toEqual([
      ['MedicationRequest.contained[0].code.coding[0]', '313782'],
      ['MedicationRequest.reasonCode[0].coding[1]', '44054006'],
    ]);
    expect(coded(elements).every((e) => e.time === '2021-03-04T04:06:07.000Z')).toBe(true);
  });

  it('picks the clinical time by resource type', () => {
    const first = (type: string) => all.find((r) => r.resourceType === type) as Resource;
    const cases: [string, (r: Resource) => unknown][] = [
      ['Observation', (r) => r.effectiveDateTime],
      ['Condition', (r) => r.onsetDateTime],
      ['Encounter', (r) => (r.period as { start: string }).start],
      ['Procedure', (r) => (r.performedPeriod as { start: string }).start],
      ['Immunization', (r) => r.occurrenceDateTime],
      ['MedicationRequest', (r) => r.authoredOn],
      ['Claim', (r) => (r.billablePeriod as { start: string }).start],
      ['ImagingStudy', (r) => r.started],
    ];
    for (const [type, pick] of cases) {
      const r = first(type);
      expect(segment(r)[0]?.time).toBe(new Date(pick(r) as string).toISOString());
    }
    expect(segment(first('Patient'))[0]?.time).toBeUndefined();
  });

  it('maps other value[x] types', () => {
    const obs = (value: Resource): Resource => ({
      resourceType: 'Observation',
      code: { coding: [{ system: LOINC, code: '1-1' }] },
      ...value,
    });
    const valueOf = (r: Resource) => coded(segment(r))[0];
    expect(valueOf(obs({ valueBoolean: false }))?.value).toBe(false);
    expect(valueOf(obs({ valueInteger: 3 }))?.value).toBe(3);
    expect(valueOf(obs({ valueString: 'pos' }))?.value).toBe('pos');
    expect(valueOf(obs({ valueDateTime: '2020-01-01T00:00:00+01:00' }))?.value).toBe('2019-12-31T23:00:00.000Z');
    expect(valueOf(obs({ valueQuantity: { value: 5, unit: 'mg' } }))).toMatchObject({ value: 5, unit: 'mg' });
    expect(valueOf(obs({ valueRange: { low: { value: 1, unit: 'h' }, high: { value: 2, unit: 'h' } } }))).toMatchObject(
      {
        value: '1..2',
        unit: 'h',
      },
    );
    expect(valueOf(obs({ valueSampledData: { data: '1 2 3' } }))?.value).toBeUndefined();
  });

  it('keeps numbers as the sender wrote them: quantities, decimals, and the bounds of ranges and ratios', () => {
    const obs = (value: Resource): Resource => ({
      resourceType: 'Observation',
      code: { coding: [{ system: LOINC, code: '1-1' }] },
      ...value,
    });
    const resource = parseExactJson(
      '{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"1-1"}]},' +
        '"valueQuantity":{"value":7.10,"unit":"mg"}}',
    ) as Resource;
    const [element] = coded(segment(resource));
    expect(element?.value).toBeInstanceOf(JsonNumber);
    expect(canonicalJson(element)).toContain('"value":7.10');
    expect(coded(segment(obs({ valueDecimal: exactNumber('1e2') })))[0]?.value).toEqual(exactNumber('1e2'));
    const range = obs({ valueRange: { low: { value: exactNumber('1.0') }, high: { value: exactNumber('2.50') } } });
    expect(coded(segment(range))[0]?.value).toBe('1.0..2.50');
    const ratio = obs({ valueRatio: { numerator: { value: exactNumber('-0.0') }, denominator: { value: 10 } } });
    expect(coded(segment(ratio))[0]?.value).toBe('-0.0/10');
  });

  it('refuses a resource without resourceType', () => {
    expect(() => segmentResource({ segmentId: 's', resource: {}, sourceId: 'urn:uuid:1' })).toThrow(SegmentError);
  });

  it('gives every Synthea resource valid categories', () => {
    const counts = new Map<string, number>();
    for (const r of all) {
      const categories = categoriesOf(r);
      expect(categories.length).toBeGreaterThan(0);
      for (const c of categories) {
        expect(c).toMatch(CATEGORY_PATTERN);
        counts.set(c, (counts.get(c) ?? 0) + 1);
      }
    }
    for (const expected of ['vital-signs', 'laboratory', 'demographics', 'encounter', 'claim', 'immunization']) {
      expect(counts.get(expected)).toBeGreaterThan(0);
    }
  });
});
