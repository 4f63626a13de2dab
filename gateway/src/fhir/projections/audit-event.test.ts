import type { AccessEventRecord } from '@phr/common';
import { FhirValidator, hasErrors } from '../validation';
import { auditEventResource, QUERY_HASH_DESCRIPTION } from './audit-event';
import { searchsetBundle } from './searchset';

const PSEUDONYM = 'ptabcdefghijklmnopqrstuvwxyz';
const GATEWAY = { mspId: 'Hospital1MSP', role: 'hospital-gateway', id: `id${'1'.repeat(40)}` };
const CLINICIAN = { mspId: 'Hospital1MSP', role: 'clinician', id: `id${'2'.repeat(40)}` };
const PATIENT = { mspId: 'PatientsMSP', role: 'patient', id: `id${'3'.repeat(40)}` };
const QUERY_HASH = 'ab'.repeat(32);
const DELIVERY = '0b9a2f61-3c55-4f0e-8b1a-7d2c9e4f5a60';
const ELEMENT = '7e8f9a0b-1c2d-4e3f-8a9b-0c1d2e3f4a5b.3';

const pull: AccessEventRecord = {
  docType: 'access-event',
  eventId: 'c0ffee00-1111-4222-8333-944455556666',
  pseudonym: PSEUDONYM,
  action: 'pull',
  outcome: 'success',
  actor: GATEWAY,
  requester: CLINICIAN,
  purpose: 'TREAT',
  scope: { categories: ['laboratory'], codes: [{ system: 'http://loinc.org', code: '4548-4' }] },
  references: [DELIVERY, ELEMENT],
  queryHash: QUERY_HASH,
  breakGlass: false,
  consentIds: ['consent-0001'],
  recordedAt: '2026-06-01T00:00:10.000Z',
  txId: 'f'.repeat(64),
};

const codes = (concepts: { coding?: { code?: string }[] }[] | undefined) =>
  (concepts ?? []).flatMap((c) => (c.coding ?? []).map((x) => x.code));

describe('auditEventResource (IHE BALP)', () => {
  let validator: FhirValidator;
  beforeAll(() => {
    validator = FhirValidator.create();
  });

  const expectValid = (resource: unknown) => {
    const issues = validator.validateResource(resource);
    expect(issues.filter((i) => i.severity === 'error' || i.severity === 'fatal')).toEqual([]);
    expect(hasErrors(issues)).toBe(false);
  };

  it('renders a consented pull as a BALP patient query: rest, search-type, E, 0', () => {
    const e = auditEventResource(pull);
    expectValid(e);
    expect(e).toMatchObject({
      resourceType: 'AuditEvent',
      id: pull.eventId,
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
      subtype: [
        { system: 'http://hl7.org/fhir/restful-interaction', code: 'search-type' },
        { system: 'https://phr-ledger.dev/fhir/CodeSystem/access-action', code: 'pull' },
      ],
      action: 'E',
      recorded: pull.recordedAt,
      outcome: '0',
      outcomeDesc: 'permitted by consent consent-0001',
      purposeOfEvent: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' }] }],
      source: {
        site: 'Hospital1MSP',
        observer: { type: 'Device', identifier: { system: 'urn:phr-ledger:identity', value: GATEWAY.id } },
        type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4' }],
      },
    });
    // requester: the user (information recipient), its identity key assigned by its MSP; the gateway as server
    expect(e.agent).toEqual([
      {
        type: { coding: [expect.objectContaining({ code: 'IRCP' })] },
        role: [{ coding: [{ system: 'https://phr-ledger.dev/fhir/CodeSystem/role', code: 'clinician' }] }],
        who: {
          type: 'Practitioner',
          identifier: {
            system: 'urn:phr-ledger:identity',
            value: CLINICIAN.id,
            assigner: { type: 'Organization', identifier: { system: 'urn:phr-ledger:msp', value: 'Hospital1MSP' } },
          },
        },
        requestor: true,
        purposeOfUse: [{ coding: [expect.objectContaining({ code: 'TREAT' })] }],
      },
      expect.objectContaining({
        type: {
          coding: [expect.objectContaining({ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110152' })],
        },
        requestor: false,
        who: expect.objectContaining({ type: 'Device' }),
      }),
    ]);
    const entity = e.entity ?? [];
    expect(entity[0]).toEqual({
      what: { type: 'Patient', identifier: { system: 'urn:phr-ledger:pseudonym', value: PSEUDONYM } },
      type: expect.objectContaining({ code: '1' }),
      role: expect.objectContaining({ code: '1' }),
    });
    const query = entity.find((x) => x.role?.code === '24');
    expect(query).toMatchObject({ type: { code: '2' }, description: QUERY_HASH_DESCRIPTION });
    expect(query).not.toHaveProperty('query'); // only a digest exists; entity.query would claim the query itself
    expect(query?.detail).toEqual([
      { type: 'query-sha256', valueString: QUERY_HASH },
      { type: 'scope', valueString: expect.stringContaining('"laboratory"') },
    ]);
    const data = entity.filter((x) => x.role?.code === '4').map((x) => x.what?.identifier);
    expect(data).toEqual([
      { system: 'urn:phr-ledger:delivery', value: DELIVERY },
      { system: 'urn:phr-ledger:element', value: ELEMENT },
    ]);
    expect(entity.find((x) => x.role?.code === '13')?.what).toEqual({
      type: 'Consent',
      identifier: { system: 'urn:phr-ledger:consent', value: 'consent-0001' },
    });
    expect(entity[entity.length - 1]).toMatchObject({
      what: { identifier: { system: 'urn:phr-ledger:access-event', value: pull.eventId } },
      detail: [{ type: 'fabric-transaction-id', valueString: pull.txId }],
    });
  });

  it('is checked by a validator that does find errors in a broken AuditEvent', () => {
    const broken = { ...auditEventResource(pull), outcome: '5', source: undefined } as unknown;
    expect(hasErrors(validator.validateResource(broken))).toBe(true);
  });

  it('renders a denied pull with outcome 4 and no consents or deliveries', () => {
    const e = auditEventResource({ ...pull, outcome: 'denied', references: [], consentIds: [] });
    expectValid(e);
    expect(e.outcome).toBe('4');
    expect(e.outcomeDesc).toMatch(/^refused/);
    expect(e.entity?.some((x) => x.role?.code === '13' || x.role?.code === '4')).toBe(false);
  });

  it('renders a failed pull with outcome 8', () => {
    const e = auditEventResource({ ...pull, outcome: 'failed', references: [], consentIds: [] });
    expectValid(e);
    expect(e.outcome).toBe('8');
  });

  it('renders a break-glass pull with ETREAT and BTG as purpose of the event and of the requester', () => {
    const e = auditEventResource({ ...pull, purpose: 'ETREAT', breakGlass: true, consentIds: [] });
    expectValid(e);
    expect(codes(e.purposeOfEvent)).toEqual(['ETREAT', 'BTG']);
    expect(codes(e.agent[0]?.purposeOfUse)).toEqual(['ETREAT', 'BTG']);
    expect(e.purposeOfEvent?.[1]?.coding?.[0]?.system).toBe('http://terminology.hl7.org/CodeSystem/v3-ActReason');
    expect(e.outcome).toBe('0');
    expect(e.outcomeDesc).toMatch(/break-glass.*without consent/);
  });

  it('renders a clinician logging its own pull with one agent', () => {
    const e = auditEventResource({ ...pull, actor: CLINICIAN, requester: CLINICIAN });
    expectValid(e);
    expect(e.agent).toHaveLength(1);
    expect(e.source.type?.[0]?.code).toBe('9');
  });

  it('renders a push as a BALP patient create: rest, create, C', () => {
    const e = auditEventResource({
      ...pull,
      action: 'push',
      actor: GATEWAY,
      requester: GATEWAY,
      references: [DELIVERY],
      consentIds: [],
    });
    expectValid(e);
    expect(e.type.code).toBe('rest');
    expect(e.subtype?.map((s) => s.code)).toEqual(['create', 'push']);
    expect(e.action).toBe('C');
    expect(e.agent).toHaveLength(1);
    expect(e.agent[0]).not.toHaveProperty('type');
  });

  it.each([
    ['backup', '110106', 'R'],
    ['export', '110106', 'R'],
    ['restore', '110107', 'C'],
    ['recovery', '110107', 'C'],
    ['delivery-failed', '110107', 'C'],
    ['rebuild', '110107', 'C'],
    ['erasure', '110110', 'D'],
  ] as const)("renders the patient's own %s as DICOM %s, action %s", (action, type, act) => {
    const record: AccessEventRecord = {
      docType: 'access-event',
      eventId: `evt-${action}-0001`,
      pseudonym: PSEUDONYM,
      action,
      outcome: action === 'delivery-failed' ? 'failed' : 'success',
      actor: PATIENT,
      requester: PATIENT,
      references: [DELIVERY],
      breakGlass: false,
      consentIds: [],
      recordedAt: '2026-06-02T00:00:00.000Z',
      txId: 'e'.repeat(64),
    };
    const e = auditEventResource(record);
    expectValid(e);
    expect(e.type).toMatchObject({ system: 'http://dicom.nema.org/resources/ontology/DCM', code: type });
    expect(e.subtype?.map((s) => s.code)).toEqual([action]);
    expect(e.action).toBe(act);
    expect(e.source.type?.[0]?.code).toBe('1');
    expect(e.agent[0]?.who?.type).toBe('Patient');
    expect(e).not.toHaveProperty('purposeOfEvent');
    expect(e.entity?.some((x) => x.role?.code === '24')).toBe(false);
  });

  it('makes valid searchset Bundles, empty or not', () => {
    const links = { selfUrl: 'https://gw.example/fhir/AuditEvent?patient=x', fhirBaseUrl: 'https://gw.example/fhir' };
    const full = searchsetBundle([auditEventResource(pull)], links);
    expectValid(full);
    expect(full.entry?.[0]?.fullUrl).toBe(`https://gw.example/fhir/AuditEvent/${pull.eventId}`);
    const empty = searchsetBundle([], links);
    expectValid(empty);
    expect(empty).toEqual({
      resourceType: 'Bundle',
      type: 'searchset',
      total: 0,
      link: [{ relation: 'self', url: links.selfUrl }],
    });
  });
});
