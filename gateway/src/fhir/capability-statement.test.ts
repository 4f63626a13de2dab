import { capabilityStatement, EVERY_OTHER_TYPE, typesDeclaredFor, type Capability } from './capability-statement';
import { r4ResourceTypes } from './r4-resource-types';

const options = {
  baseUrl: 'https://gw.example/fhir',
  hospitalName: 'Hospital 1',
  softwareVersion: '0.1.0',
  startedAt: '2026-06-01T00:00:00.000Z',
};
const patient = { name: 'patient', type: 'reference', documentation: 'the pseudonym' } as const;
const code = { name: 'code', type: 'token', documentation: 'system|code' } as const;

describe('capabilityStatement: made of the declarations and nothing else', () => {
  it('lists a search for EVERY_OTHER_TYPE on every R4 type but those with their own search', () => {
    const cs = capabilityStatement(options, [
      { kind: 'type', type: 'Consent', code: 'search-type', searchParams: [patient] },
      { kind: 'type', type: EVERY_OTHER_TYPE, code: 'search-type', searchParams: [patient, code] },
      { kind: 'type', type: 'Consent', code: 'read' },
    ]);
    const resources = cs.rest?.[0]?.resource ?? [];
    expect(resources.map((r) => r.type)).toEqual([...r4ResourceTypes()]);
    expect(resources.find((r) => r.type === 'Consent')).toEqual({
      type: 'Consent',
      interaction: [{ code: 'search-type' }, { code: 'read' }],
      searchParam: [patient],
    });
    expect(resources.find((r) => r.type === 'Observation')?.searchParam?.map((p) => p.name)).toEqual([
      'patient',
      'code',
    ]);
    expect(typesDeclaredFor([{ kind: 'type', type: 'Consent', code: 'read' }], 'search-type').size).toBe(0);
  });

  it('puts an operation on its resource type, or on the system, and notes in rest.documentation', () => {
    const cs = capabilityStatement(options, [
      { kind: 'capabilities' },
      { kind: 'note', documentation: 'first' },
      { kind: 'system', code: 'transaction' },
      { kind: 'operation', name: 'verify', definition: 'https://x/verify' },
      { kind: 'operation', name: 'everything', definition: 'https://x/everything', type: 'Patient' },
      { kind: 'note', documentation: 'second' },
    ]);
    const rest = cs.rest?.[0];
    expect(rest?.documentation).toBe('first\n\nsecond');
    expect(rest?.interaction).toEqual([{ code: 'transaction' }]);
    expect(rest?.operation).toEqual([{ name: 'verify', definition: 'https://x/verify' }]);
    expect(rest?.resource).toEqual([
      { type: 'Patient', operation: [{ name: 'everything', definition: 'https://x/everything' }] },
    ]);
  });

  it.each<[string, Capability[]]>([
    [
      'a type interaction',
      [
        { kind: 'type', type: 'Consent', code: 'read' },
        { kind: 'type', type: 'Consent', code: 'read' },
      ],
    ],
    [
      'an operation',
      [
        { kind: 'operation', name: 'verify', definition: 'a' },
        { kind: 'operation', name: 'verify', definition: 'b' },
      ],
    ],
    [
      'a system interaction',
      [
        { kind: 'system', code: 'batch' },
        { kind: 'system', code: 'batch' },
      ],
    ],
  ])('refuses %s declared twice', (_what, capabilities) => {
    expect(() => capabilityStatement(options, capabilities)).toThrow(/declared twice/);
  });
});

describe('r4ResourceTypes', () => {
  it("is R4's 146 resource types, without the abstract ones", () => {
    const types = r4ResourceTypes();
    expect(types).toHaveLength(146);
    expect(types).toEqual(expect.arrayContaining(['Patient', 'Observation', 'Consent', 'AuditEvent', 'Binary']));
    expect(types).not.toContain('Resource');
    expect(types).not.toContain('DomainResource');
  });
});
