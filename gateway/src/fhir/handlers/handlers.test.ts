import {
  DeliveryTree,
  elementLeafHash,
  FhirError,
  forbiddenError,
  type AccessEventRecord,
  type ConsentRecord,
  type DataElement,
  type DeliveryRecord,
} from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import type { Principal } from '../../auth/principal';
import { segmentResource } from '../../ingest/segmenter';
import type { FhirRequest } from './fhir-handler';
import { searchAuditEvents } from './search-audit-event';
import { searchConsents } from './search-consent';
import { verifyOperation } from './verify';

const PSEUDONYM = 'ptabcdefghijklmnopqrstuvwxyz';
const OWNER = `id${'a'.repeat(40)}`;
const principal = (role: Principal['role'], mspId = 'Hospital1MSP', id = OWNER): Principal => ({
  role,
  mspId,
  id,
  emergency: false,
  certificatePem: '',
});
const req = (p: Principal, params: FhirRequest['params'], body?: unknown): FhirRequest => ({
  principal: p,
  params,
  selfUrl: 'https://gw/fhir/X',
  ...(body !== undefined ? { body } : {}),
});

const consent: ConsentRecord = {
  docType: 'consent',
  consentId: 'consent-0001',
  pseudonym: PSEUDONYM,
  grantee: { kind: 'organization', id: 'Hospital2MSP' },
  scope: { categories: ['laboratory'], codes: [] },
  purposes: ['TREAT'],
  period: { start: '2026-01-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' },
  status: 'active',
  grantedAt: '2026-01-01T00:00:00.000Z',
};
const event = (n: number, over: Partial<AccessEventRecord> = {}): AccessEventRecord => ({
  docType: 'access-event',
  eventId: `event-000${n}`,
  pseudonym: PSEUDONYM,
  action: 'pull',
  outcome: 'success',
  actor: { mspId: 'Hospital1MSP', role: 'hospital-gateway', id: `id${'1'.repeat(40)}` },
  requester: { mspId: 'Hospital1MSP', role: 'clinician', id: `id${'2'.repeat(40)}` },
  purpose: 'TREAT',
  references: [],
  breakGlass: false,
  consentIds: [],
  recordedAt: `2026-06-0${n}T12:00:00.000Z`,
  txId: 'f'.repeat(64),
  ...over,
});
const events = [
  event(1),
  event(2, { outcome: 'denied', requester: { mspId: 'Hospital2MSP', role: 'clinician', id: `id${'3'.repeat(40)}` } }),
  event(3, {
    action: 'push',
    requester: { mspId: 'Hospital1MSP', role: 'hospital-gateway', id: `id${'1'.repeat(40)}` },
  }),
];

function deps() {
  const calls: unknown[][] = [];
  return {
    calls,
    hospitalMspId: 'Hospital1MSP',
    fhirBaseUrl: 'https://gw/fhir',
    now: () => new Date('2026-06-15T00:00:00.000Z'),
    patients: {
      authorizeOwner: async (p: Principal, pseudonym: string) => {
        if (p.role !== 'patient' || p.id !== OWNER || pseudonym !== PSEUDONYM) throw forbiddenError('not yours');
        return {} as never;
      },
    },
    ledger: {
      listConsents: async (pseudonym: string) => {
        calls.push(['listConsents', pseudonym]);
        return pseudonym === PSEUDONYM ? [consent] : [];
      },
      listAccessEvents: async (pseudonym: string, from: string, to: string) => {
        calls.push(['listAccessEvents', pseudonym, from, to]);
        return events.filter((e) => (!from || e.recordedAt >= from) && (!to || e.recordedAt < to));
      },
    },
  };
}

const ids = (bundle: fhir4.Bundle) => (bundle.entry ?? []).map((e) => e.resource?.id);

describe('Consent and AuditEvent search handlers', () => {
  it('let the owner and this hospital’s admin search, and refuse everyone else with 403', async () => {
    const d = deps();
    const [, bundle] = await searchConsents(req(principal('patient', 'PatientsMSP'), { patient: PSEUDONYM }), d);
    expect(ids(bundle)).toEqual(['consent-0001']);
    expect(bundle.entry?.[0]?.resource?.status).toBe('active');
    const [, byAdmin] = await searchConsents(req(principal('admin'), { patient: `Patient/${PSEUDONYM}` }), d);
    expect(byAdmin.total).toBe(1);
    for (const p of [
      principal('admin', 'Hospital2MSP'),
      principal('clinician'),
      principal('hospital-gateway'),
      principal('patient', 'PatientsMSP', `id${'b'.repeat(40)}`),
    ]) {
      await expect(searchAuditEvents(req(p, { patient: PSEUDONYM }), d)).rejects.toMatchObject({ status: 403 });
    }
    // a refused caller learns nothing, not even that its parameters were bad
    await expect(searchConsents(req(principal('clinician'), {}), d)).rejects.toMatchObject({ status: 403 });
  });

  it('want exactly one valid patient', async () => {
    const d = deps();
    for (const params of [{}, { patient: 'nope' }, { patient: [PSEUDONYM, PSEUDONYM] }]) {
      await expect(searchConsents(req(principal('admin'), params), d)).rejects.toMatchObject({ status: 400 });
    }
  });

  it('filter access events by date (on the ledger read), agent and action', async () => {
    const d = deps();
    const admin = principal('admin');
    const search = async (params: FhirRequest['params']) =>
      ids((await searchAuditEvents(req(admin, { patient: PSEUDONYM, ...params }), d))[1]);
    expect(await search({})).toEqual(['event-0001', 'event-0002', 'event-0003']);
    expect(await search({ date: ['ge2026-06-02', 'lt2026-06-03'] })).toEqual(['event-0002']);
    expect(d.calls.at(-1)).toEqual([
      'listAccessEvents',
      PSEUDONYM,
      '2026-06-02T00:00:00.000Z',
      '2026-06-03T00:00:00.000Z',
    ]);
    expect(await search({ date: 'eq2026-06-03T12:00:00Z' })).toEqual(['event-0003']);
    expect(await search({ agent: `id${'3'.repeat(40)}` })).toEqual(['event-0002']);
    expect(await search({ agent: 'Hospital2MSP' })).toEqual(['event-0002']);
    expect(await search({ agent: `urn:phr-ledger:identity|id${'1'.repeat(40)}` })).toEqual([
      'event-0001',
      'event-0002',
      'event-0003',
    ]);
    expect(await search({ action: 'E' })).toEqual(['event-0001', 'event-0002']);
    expect(await search({ action: 'C,backup' })).toEqual(['event-0003']);
    expect(await search({ action: 'pull', agent: 'Hospital2MSP' })).toEqual(['event-0002']);
    const calls = d.calls.length;
    expect(await search({ date: ['ge2026-06-03', 'lt2026-06-01'] })).toEqual([]);
    expect(d.calls.length).toBe(calls); // an empty range never reaches the ledger
    await expect(search({ action: 'X' })).rejects.toMatchObject({ status: 400 });
    await expect(search({ agent: 'urn:other|x' })).rejects.toMatchObject({ status: 400 });
  });

  it('say which parameters they ignored', async () => {
    const [outcome] = await searchAuditEvents(req(principal('admin'), { patient: PSEUDONYM, _count: '5' }), deps());
    expect(outcome?.issue[0]).toMatchObject({ severity: 'warning', code: 'not-supported' });
    expect(outcome?.issue[0]?.diagnostics).toMatch(/_count/);
  });

  it('answer an unknown patient with an empty searchset and an unreachable ledger with 503', async () => {
    const d = deps();
    d.ledger.listConsents = async () => {
      throw new LedgerError('NOT_FOUND', 'NOT_FOUND: no patient');
    };
    expect((await searchConsents(req(principal('admin'), { patient: PSEUDONYM }), d))[1].total).toBe(0);
    d.ledger.listAccessEvents = async () => {
      throw new LedgerError('UNAVAILABLE', 'down');
    };
    await expect(searchAuditEvents(req(principal('admin'), { patient: PSEUDONYM }), d)).rejects.toMatchObject({
      status: 503,
    });
  });
});

describe('$verify', () => {
  const resource = {
    resourceType: 'Observation',
    id: 'o1',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] },
  };
  const segmentId = '11111111-2222-4333-8444-555555555555';
  const elements = segmentResource({ segmentId, resource, sourceId: 'o1' });
  const other = segmentResource({
    segmentId: '21111111-2222-4333-8444-555555555555',
    resource: { ...resource, id: 'o2' },
    sourceId: 'o2',
  });
  const salts = [elements, other].map((seg, s) => seg.map((_, i) => `${s}${i}`.padStart(32, '0')));
  const tree = new DeliveryTree(
    [elements, other].map((seg, s) => seg.map((e, i) => elementLeafHash(e, salts[s]![i]!))),
  );
  const delivery = {
    deliveryId: 'delivery-0001',
    merkleRoot: tree.root,
    sender: 'Hospital1MSP',
    recordedAt: '2026-06-01T00:00:00.000Z',
    status: 'waiting',
  } as DeliveryRecord;
  let reads = 0;
  const d = {
    ledger: {
      readDelivery: async (id: string) => {
        reads += 1;
        return id === delivery.deliveryId ? delivery : undefined;
      },
    },
  };
  const params = (extra: fhir4.ParametersParameter[], deliveryId = delivery.deliveryId): fhir4.Parameters => ({
    resourceType: 'Parameters',
    parameter: [{ name: 'deliveryId', valueString: deliveryId }, ...extra],
  });
  const s = (name: string, value: unknown) => ({
    name,
    valueString: typeof value === 'string' ? value : JSON.stringify(value),
  });
  const result = (p: fhir4.Parameters) => p.parameter?.find((x) => x.name === 'result')?.valueBoolean;
  const anyone = principal('researcher', 'Hospital2MSP');

  it('confirms a coded element with its salt and proof, in one ledger read', async () => {
    reads = 0;
    const coded = elements[1] as DataElement;
    const [, ok] = await verifyOperation(
      req(anyone, {}, params([s('element', coded), s('salt', salts[0]![1]!), s('proof', tree.proof(0, 1))])),
      d,
    );
    expect(result(ok)).toBe(true);
    expect(reads).toBe(1);
    const [, tampered] = await verifyOperation(
      req(
        anyone,
        {},
        params([s('element', { ...coded, code: '0000-0' }), s('salt', salts[0]![1]!), s('proof', tree.proof(0, 1))]),
      ),
      d,
    );
    expect(result(tampered)).toBe(false);
  });

  it('rebuilds the resource element from a whole resource, by segmentId or the agent’s meta.source', async () => {
    const proof = s('proof', tree.proof(0, 0));
    const salt = s('salt', salts[0]![0]!);
    const [, bySegment] = await verifyOperation(
      req(
        anyone,
        {},
        params([
          { name: 'resource', resource: resource as fhir4.FhirResource },
          salt,
          proof,
          s('segmentId', segmentId),
        ]),
      ),
      d,
    );
    expect(result(bySegment)).toBe(true);
    const exported = { ...resource, meta: { source: `urn:phr-ledger:delivery:${delivery.deliveryId}#${segmentId}` } };
    const [, byStamp] = await verifyOperation(
      req(anyone, {}, params([{ name: 'resource', resource: exported as fhir4.FhirResource }, salt, proof])),
      d,
    );
    expect(result(byStamp)).toBe(true);
    const [, changed] = await verifyOperation(
      req(
        anyone,
        {},
        params([{ name: 'resource', resource: { ...exported, status: 'amended' } as fhir4.FhirResource }, salt, proof]),
      ),
      d,
    );
    expect(result(changed)).toBe(false);
  });

  it('answers false for an unknown delivery and 400 for malformed input', async () => {
    const good = [s('element', elements[1]), s('salt', salts[0]![1]!), s('proof', tree.proof(0, 1))];
    const [, unknown] = await verifyOperation(req(anyone, {}, params(good, 'delivery-9999')), d);
    expect(result(unknown)).toBe(false);
    const bad: unknown[] = [
      { resourceType: 'Bundle' },
      params([]),
      params([s('element', elements[1]), s('salt', 'xyz'), s('proof', tree.proof(0, 1))]),
      params([s('element', elements[1]), s('salt', salts[0]![1]!), s('proof', 'not json')]),
      params([s('element', elements[1]), s('salt', salts[0]![1]!), s('proof', { elementPath: 'x', segmentPath: [] })]),
      params([...good, { name: 'resource', resource: resource as fhir4.FhirResource }]),
      params([
        { name: 'resource', resource: resource as fhir4.FhirResource },
        s('salt', salts[0]![0]!),
        s('proof', tree.proof(0, 0)),
      ]),
      params([...good, s('salt', salts[0]![1]!)]),
    ];
    for (const body of bad) {
      await expect(verifyOperation(req(anyone, {}, body), d)).rejects.toBeInstanceOf(FhirError);
    }
  });
});
