import { createHash } from 'node:crypto';
import type { OutcomeIssue } from '@phr/common';
import { FhirValidator, hasErrors } from './fhir-validator';
import { HL7_R4_SCHEMA_ID, prepareHl7Schema } from './hl7-json-schema';

const patientUrl = 'urn:uuid:2b90dd2b-2dab-4c75-9bb9-a355e07401e8';

function errorsAt(issues: readonly OutcomeIssue[]): string[] {
  return issues.filter((i) => i.severity === 'error' || i.severity === 'fatal').map((i) => i.expression?.[0] ?? '');
}

function transaction(entries: unknown[]): Record<string, unknown> {
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}

const post = (fullUrl: string, resource: Record<string, unknown>) => ({
  fullUrl,
  resource,
  request: { method: 'POST', url: resource['resourceType'] },
});

describe('FhirValidator', () => {
  let validator: FhirValidator;
  beforeAll(() => {
    validator = FhirValidator.create();
  });

  describe('single resources', () => {
    it('accepts a valid resource and prefixes expressions with basePath', () => {
      expect(validator.validateResource({ resourceType: 'Patient', id: 'p1', gender: 'female' })).toEqual([]);
      const issues = validator.validateResource({ resourceType: 'Patient', gender: 'f' }, 'Bundle.entry[3].resource');
      expect(errorsAt(issues)).toEqual(['Bundle.entry[3].resource.gender']);
    });

    it('refuses what is not a resource, and unknown resource types', () => {
      expect(hasErrors(validator.validateResource([]))).toBe(true);
      expect(hasErrors(validator.validateResource({ id: 'x' }))).toBe(true);
      expect(errorsAt(validator.validateResource({ resourceType: 'Project' }))).toEqual(['Project.resourceType']);
      expect(hasErrors(validator.validateBundle({ resourceType: 'Patient' }))).toBe(true);
    });

    it('reports one issue when both layers flag the same element', () => {
      const issues = validator.validateResource({ resourceType: 'Observation', status: 'final' });
      expect(errorsAt(issues)).toEqual(['Observation.code']);
    });

    it('writes choice elements and primitive extensions as FHIRPath', () => {
      const issues = validator.validateResource({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        valueQuantity: { value: 1, bogus: true },
        _status: { extension: [{ url: 'http://example.org/x', valueString: 'a', valueCode: 'b' }] },
      });
      expect(errorsAt(issues)).toEqual(
        expect.arrayContaining([
          'Observation.value.ofType(Quantity).bogus',
          'Observation.status.extension[0].value.ofType(code)',
        ]),
      );
    });

    it('refuses empty arrays and objects', () => {
      const issues = validator.validateResource({ resourceType: 'Patient', name: [{ given: [] }], maritalStatus: {} });
      expect(errorsAt(issues)).toEqual(expect.arrayContaining(['Patient.name[0].given', 'Patient.maritalStatus']));
    });

    it('refuses a required-binding code that has only an extension', () => {
      const resource = {
        resourceType: 'AllergyIntolerance',
        clinicalStatus: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }],
        },
        patient: { reference: 'Patient/1' },
        _criticality: {
          extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }],
        },
      };
      expect(errorsAt(validator.validateResource(resource))).toEqual(['AllergyIntolerance.criticality']);
    });

    it('checks Attachment size and hash against data', () => {
      const data = Buffer.from('hello').toString('base64');
      const good = createHash('sha1').update('hello').digest('base64');
      const media = (content: Record<string, unknown>) => ({ resourceType: 'Media', status: 'completed', content });
      expect(
        errorsAt(validator.validateResource(media({ contentType: 'text/plain', data, size: 5, hash: good }))),
      ).toEqual([]);
      expect(errorsAt(validator.validateResource(media({ contentType: 'text/plain', data, size: 6 })))).toEqual([
        'Media.content.size',
      ]);
      expect(errorsAt(validator.validateResource(media({ contentType: 'text/plain', data, hash: 'AAAA' })))).toEqual([
        'Media.content.hash',
      ]);
    });

    it('evaluates invariants of data types (per-1, with partial precision)', () => {
      const encounter = (start: string, end: string) => ({
        resourceType: 'Encounter',
        status: 'finished',
        class: { code: 'AMB' },
        period: { start, end },
      });
      expect(errorsAt(validator.validateResource(encounter('2023-06-20', '2023-06-21T06:20:00Z')))).toEqual([]);
      expect(errorsAt(validator.validateResource(encounter('2023-06-21', '2023-06-21T06:20:00Z')))).toEqual([
        'Encounter.period',
      ]);
      expect(errorsAt(validator.validateResource(encounter('2024-01-01T10:00:00Z', '2024-01-01T09:00:00Z')))).toEqual([
        'Encounter.period',
      ]);
      const observation = {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        valueQuantity: { value: 1, code: 'mg' }, // qty-3: a code needs a system
      };
      expect(errorsAt(validator.validateResource(observation))).toEqual(['Observation.value.ofType(Quantity)']);
    });

    it('checks local references and contained resources (ref-1, dom-3)', () => {
      const contained = [{ resourceType: 'Practitioner', id: 'pr1' }];
      const base = {
        resourceType: 'MedicationRequest',
        status: 'active',
        intent: 'order',
        subject: { reference: 'Patient/1' },
        medicationCodeableConcept: { text: 'x' },
      };
      expect(errorsAt(validator.validateResource({ ...base, contained, requester: { reference: '#pr1' } }))).toEqual(
        [],
      );
      expect(errorsAt(validator.validateResource({ ...base, contained }))).toEqual(['MedicationRequest.contained[0]']);
      expect(errorsAt(validator.validateResource({ ...base, requester: { reference: '#pr2' } }))).toEqual([
        'MedicationRequest.requester.reference',
      ]);
    });

    it('checks narrative XHTML', () => {
      const patient = (div: string) => ({ resourceType: 'Patient', text: { status: 'generated', div } });
      const ns = 'xmlns="http://www.w3.org/1999/xhtml"';
      expect(errorsAt(validator.validateResource(patient(`<div ${ns}><p>Hi &amp; bye &#169;</p></div>`)))).toEqual([]);
      for (const bad of [
        `<div ${ns}>&reg;</div>`,
        `<div ${ns}><p>unclosed</div>`,
        `<div>no namespace</div>`,
        `<div ${ns}><script>alert(1)</script>x</div>`,
        `<div ${ns}><a href="javascript:alert(1)">x</a></div>`,
        `<div ${ns}><p onclick="x()">x</p></div>`,
        `<div ${ns}>  </div>`,
        `<p ${ns}>x</p>`,
        `<div ${ns}>a</div><div ${ns}>b</div>`,
      ]) {
        expect(errorsAt(validator.validateResource(patient(bad)))).toEqual(['Patient.text.div']);
      }
    });

    it.each([
      { resourceType: 'Bundle', type: 'collection', entry: 'x' },
      {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [null, 1, { resource: 5 }, { resource: { resourceType: 'Foo' } }],
      },
      { resourceType: 'Patient', name: 'x', contained: [{ resourceType: 'Foo' }, null, 'y'] },
      { resourceType: 'Patient', extension: [{ url: 'a', extension: [{ url: 'b', valueString: null }] }] },
      { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: [1, 2] },
      { resourceType: 'Patient', _birthDate: 'x', birthDate: { a: 1 } },
      {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ fullUrl: 5, request: 'x', resource: { resourceType: 'Patient' } }],
      },
      { resourceType: 'Patient', text: { status: 'generated', div: 5 } },
      { resourceType: 'Patient', 'odd key/~': 1 },
    ])('reports malformed shapes as errors without throwing (%#)', (resource) => {
      expect(hasErrors(validator.validateResource(resource))).toBe(true);
    });

    /** Every name a plain object inherits: a key from the body must never find one of them. */
    const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

    it.each(PROTOTYPE_NAMES)('refuses an element named %s and names it, without throwing', (name) => {
      for (const key of [name, `_${name}`]) {
        // JSON.parse makes `__proto__` an own property, as a request body does.
        const patient = JSON.parse(`{"resourceType":"Patient","${key}":{"x":1}}`) as unknown;
        expect(errorsAt(validator.validateResource(patient))).toContain(`Patient.${key}`);
        const nested = JSON.parse(`{"resourceType":"Observation","status":"final","code":{"${key}":1}}`) as unknown;
        expect(errorsAt(validator.validateResource(nested))).toContain(`Observation.code.${key}`);
        const inBundle = transaction([post(patientUrl, JSON.parse(`{"resourceType":"Patient","${key}":"x"}`))]);
        expect(errorsAt(validator.validateBundle(inBundle))).toContain(`Bundle.entry[0].resource.${key}`);
      }
      expect(errorsAt(validator.validateResource({ resourceType: name }))).toEqual([`${name}.resourceType`]);
    });

    it('refuses a primitive or an array where an object belongs, and empty strings', () => {
      for (const value of [42, true, '', 'text', [[{}]]]) {
        const issues = validator.validateResource({ resourceType: 'Observation', status: 'final', code: value });
        expect(errorsAt(issues)).toContain('Observation.code');
      }
      const meta = errorsAt(validator.validateResource({ resourceType: 'Patient', meta: 7 }));
      expect(meta).toEqual(['Patient.meta']);
      const empty = validator.validateResource({ resourceType: 'Patient', identifier: [{ system: '', value: 'x' }] });
      expect(errorsAt(empty)).toEqual(['Patient.identifier[0].system']);
      const resource = validator.validateBundle(transaction([{ fullUrl: patientUrl, resource: 5 }]));
      expect(errorsAt(resource)).toContain('Bundle.entry[0].resource');
    });

    it('reads FHIR regexes in XML Schema dialect: a no-break space is text, not whitespace', () => {
      const nbsp = '\u00a0';
      const named = (text: string) => ({ resourceType: 'Patient', name: [{ text }] });
      expect(errorsAt(validator.validateResource(named(`Ada${nbsp}Lovelace`)))).toEqual([]);
      expect(errorsAt(validator.validateResource(named(`${nbsp}Ada`)))).toEqual([]);
      // The schema also writes the pattern into each element of type string: Observation.valueString's.
      const result = {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'Note' },
        valueString: `5${nbsp}mg`,
      };
      expect(errorsAt(validator.validateResource(result))).toEqual([]);
      // Whitespace only and empty are still refused (by Medplum's check and the schema's).
      expect(errorsAt(validator.validateResource(named('   ')))).toEqual(['Patient.name[0].text']);
      expect(errorsAt(validator.validateResource(named('')))).toEqual(['Patient.name[0].text']);
      // code: no leading, trailing or double whitespace (Medplum's check also refuses a no-break space in a code).
      const gender = (value: string) => ({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ code: value }] },
      });
      expect(errorsAt(validator.validateResource(gender('a  b')))).toEqual(['Observation.code.coding[0].code']);
      expect(errorsAt(validator.validateResource(gender(' a')))).toEqual(['Observation.code.coding[0].code']);
      // uri: no XML Schema whitespace.
      const system = (value: string) => ({ resourceType: 'Patient', identifier: [{ system: value, value: 'x' }] });
      expect(errorsAt(validator.validateResource(system('urn:a b')))).toEqual(['Patient.identifier[0].system']);
    });

    it('refuses to compile a schema pattern with \\s it has no XML Schema reading for', () => {
      const schema = (pattern: string) => ({
        id: HL7_R4_SCHEMA_ID,
        discriminator: { propertyName: 'resourceType', mapping: {} },
        definitions: { string: { pattern: '^[ \\r\\n\\t\\S]+$' }, other: { pattern } },
      });
      expect(() => prepareHl7Schema(schema('^[a-z]+$'))).not.toThrow();
      const prepared = prepareHl7Schema(schema('^[a-z]+$'));
      expect(prepared.definitions['string']!['pattern']).toBe('^[\\s\\S]+$');
      expect(() => prepareHl7Schema(schema('^\\s+$'))).toThrow(/the pattern \^\\s\+\$ at #\/definitions\/other uses/);
    });

    it('accepts an Attachment over 1 MiB (a C-CDA document or a PDF report; the request limits bound it)', () => {
      const bytes = Buffer.alloc(1.5 * 1024 * 1024, 7);
      const media = {
        resourceType: 'Media',
        status: 'completed',
        content: { contentType: 'application/pdf', data: bytes.toString('base64'), size: bytes.length },
      };
      const issues = validator.validateResource(media);
      expect(issues.filter((i) => i.severity === 'error')).toEqual([]);
    });

    it('accepts FHIR 4.0.1 content the 4.0.0 schema file lacked', () => {
      const capability = {
        resourceType: 'CapabilityStatement',
        status: 'active',
        date: '2024-01-01',
        kind: 'instance',
        fhirVersion: '4.0.1',
        format: ['json'],
        implementation: { description: 'gateway' },
        rest: [{ mode: 'server' }],
      };
      expect(errorsAt(validator.validateResource(capability))).toEqual([]);
      const patient = {
        resourceType: 'Patient',
        extension: [{ url: 'http://example.org/x', valueMeta: { versionId: '1' } }],
      };
      expect(errorsAt(validator.validateResource(patient))).toEqual([]);
    });
  });

  describe('bundles', () => {
    const patient = { resourceType: 'Patient', id: 'p1' };
    const observation = (subject: string) => ({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: subject },
    });

    it('accepts a consistent transaction', () => {
      const bundle = transaction([post(patientUrl, patient), post('urn:uuid:o1', observation(patientUrl))]);
      expect(errorsAt(validator.validateBundle(bundle))).toEqual([]);
    });

    it('validates every entry and points at it', () => {
      const bundle = transaction([
        post(patientUrl, { ...patient, birthDate: 'soon' }),
        post('urn:uuid:o1', observation(patientUrl)),
      ]);
      expect(errorsAt(validator.validateBundle(bundle))).toEqual(['Bundle.entry[0].resource.birthDate']);
    });

    it('evaluates the root invariants of entry resources', () => {
      const obs = { ...observation(patientUrl), valueString: 'a', dataAbsentReason: { text: 'b' } }; // obs-6
      const bundle = transaction([post(patientUrl, patient), post('urn:uuid:o1', obs)]);
      expect(errorsAt(validator.validateBundle(bundle))).toEqual(['Bundle.entry[1].resource']);
    });

    it('refuses duplicate fullUrls and relative fullUrls', () => {
      const bundle = transaction([post(patientUrl, patient), post(patientUrl, { resourceType: 'Patient' })]);
      expect(errorsAt(validator.validateBundle(bundle))).toContain('Bundle.entry[1].fullUrl');
      const relative = transaction([post('Patient/p1', patient)]);
      expect(errorsAt(validator.validateBundle(relative))).toEqual(['Bundle.entry[0].fullUrl']);
    });

    it('checks request against resource in a transaction', () => {
      const wrongType = transaction([
        { fullUrl: patientUrl, resource: patient, request: { method: 'POST', url: 'Observation' } },
      ]);
      expect(errorsAt(validator.validateBundle(wrongType))).toEqual(['Bundle.entry[0].request.url']);
      const wrongId = transaction([
        { fullUrl: patientUrl, resource: patient, request: { method: 'PUT', url: 'Patient/p2' } },
      ]);
      expect(errorsAt(validator.validateBundle(wrongId))).toEqual(['Bundle.entry[0].resource.id']);
      const twice = transaction([
        { fullUrl: patientUrl, resource: patient, request: { method: 'PUT', url: 'Patient/p1' } },
        { request: { method: 'DELETE', url: 'Patient/p1' } },
      ]);
      expect(errorsAt(validator.validateBundle(twice))).toEqual(['Bundle.entry[1].request.url']);
      const noRequest = transaction([{ fullUrl: patientUrl, resource: patient }]);
      expect(hasErrors(validator.validateBundle(noRequest))).toBe(true);
    });

    it('resolves references inside the bundle', () => {
      const dangling = transaction([post(patientUrl, patient), post('urn:uuid:o1', observation('urn:uuid:missing'))]);
      expect(errorsAt(validator.validateBundle(dangling))).toEqual(['Bundle.entry[1].resource.subject']);
      const wrongType = transaction([
        post(patientUrl, patient),
        post('urn:uuid:o1', observation(patientUrl)),
        post('urn:uuid:o2', observation('urn:uuid:o1')), // Observation.subject cannot be an Observation
      ]);
      expect(errorsAt(validator.validateBundle(wrongType))).toEqual(['Bundle.entry[2].resource.subject']);
      const external = transaction([post('urn:uuid:o1', observation('https://other.example/fhir/Patient/9'))]);
      expect(errorsAt(validator.validateBundle(external))).toEqual([]);
    });

    it('refuses repeated self/next links', () => {
      const bundle = {
        resourceType: 'Bundle',
        type: 'searchset',
        link: [
          { relation: 'self', url: 'https://x.example/Patient' },
          { relation: 'self', url: 'https://x.example/Patient' },
        ],
      };
      expect(errorsAt(validator.validateBundle(bundle))).toEqual(['Bundle.link[1].relation']);
    });
  });
});
