import { createHash } from 'node:crypto';
import {
  DeliveryTree,
  elementLeafHash,
  fabricX509Id,
  identityKey,
  PATIENTS_MSP_ID,
  type AccessEventRecord,
  type ConsentRecord,
  type DeliveryPayload,
} from '@phr/common';
import type { AuditEvent, Bundle, Consent, Parameters } from 'fhir/r4';
import { FhirValidator, hasErrors } from '../src/fhir/validation';
import { readReceipt } from '../src/ingest/bundle-response';
import { GatewayHarness, HOSPITAL_MSP, type OutcomeBody, type TestPatient } from '@phr/test-support/gateway';
import { forNewPatient, isPatientBundleFile, loadBundle, mrnOf, smallBundle, syntheaFiles } from '@phr/test-support';
import type { Issued } from '@phr/test-support';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(120_000);

const LOINC = 'http://loinc.org';
const keyOf = (mspId: string, who: Issued) => identityKey(mspId, fabricX509Id(who.certificatePem));
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('FHIR projections of the ledger: Consent, AuditEvent, $verify', () => {
  let h: GatewayHarness;
  let validator: FhirValidator;
  let alice: TestPatient;
  let bob: TestPatient;
  let deliveryId: string;
  let payload: DeliveryPayload;
  const events: Record<string, AccessEventRecord> = {};
  let clinicianKey: string;
  const otherClinician = `id${'d'.repeat(40)}`;
  const emergencyClinician = `id${'e'.repeat(40)}`;

  const asGateway = () => ({ mspId: HOSPITAL_MSP, certificatePem: h.clients.gatewayIdentity.certificatePem });
  const asPatient = (p: TestPatient) => ({ mspId: PATIENTS_MSP_ID, certificatePem: p.identity.certificatePem });
  const record = async (name: string, event: Record<string, unknown>, as = asGateway()) => {
    events[name] = await h.ledger.world.call<AccessEventRecord>(
      h.ledger.accessLog,
      'RecordAccess',
      [JSON.stringify({ eventId: `evt-${name}-0001`, pseudonym: alice.pseudonym, ...event })],
      as,
    );
  };
  const grant = (
    p: TestPatient,
    id: string,
    grantee: object,
    scope: object,
    purposes: string[],
    start: string,
    end: string,
  ) =>
    h.ledger.world.call<ConsentRecord>(
      h.ledger.consent,
      'GrantConsent',
      [id, JSON.stringify(grantee), JSON.stringify(scope), JSON.stringify(purposes), start, end],
      asPatient(p),
    );

  const search = async <T extends Consent | AuditEvent>(
    who: Issued,
    resourceType: 'Consent' | 'AuditEvent',
    searchParams: Record<string, string | string[]>,
  ): Promise<Bundle<T>> => {
    const bundle = (await h.fhir(who).search({ resourceType, searchParams })) as unknown as Bundle<T>;
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    const issues = validator.validateResource(bundle);
    expect(issues.filter((i) => i.severity === 'error' || i.severity === 'fatal')).toEqual([]);
    return bundle;
  };
  const resources = <T>(b: Bundle<T>): T[] =>
    (b.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource as T);
  const eventIds = (b: Bundle<AuditEvent>) =>
    resources(b).map(
      (e) =>
        e.entity?.find((x) => x.what?.identifier?.system === 'urn:phr-ledger:access-event')?.what?.identifier?.value,
    );

  beforeAll(async () => {
    validator = FhirValidator.create();
    h = await GatewayHarness.create();
    alice = await h.newPatient('alice');
    bob = await h.newPatient('bob');
    clinicianKey = keyOf(HOSPITAL_MSP, h.clients.clinician);

    // a real delivery for alice
    const bundle = forNewPatient(smallBundle(loadBundle(syntheaFiles().find(isPatientBundleFile)!), 12), 'projections');
    await h.link(alice, mrnOf(bundle));
    const response = await h.fhir().transaction({ body: bundle as never });
    deliveryId = readReceipt(response)!.deliveryId;
    await h.gateway.outbox.idle();
    payload = h.openDelivery(alice, deliveryId);

    // alice's consents: one active, one revoked, one already over
    await grant(
      alice,
      'consent-lab-0001',
      { kind: 'organization', id: HOSPITAL_MSP },
      { categories: ['laboratory'], codes: [] },
      ['TREAT'],
      '2026-01-01T00:00:00Z',
      '2030-01-01T00:00:00Z',
    );
    await grant(
      alice,
      'consent-hb-0002',
      { kind: 'identity', id: clinicianKey },
      { categories: [], codes: [{ system: LOINC, code: '4548-4' }] },
      ['HRESCH', 'TREAT'],
      '2026-01-01T00:00:00Z',
      '2030-01-01T00:00:00Z',
    );
    await h.ledger.world.call(h.ledger.consent, 'RevokeConsent', ['consent-hb-0002'], asPatient(alice));
    await grant(
      alice,
      'consent-old-0003',
      { kind: 'organization', id: 'Hospital2MSP' },
      { categories: ['vital-signs'], codes: [] },
      ['TREAT'],
      '2026-01-01T00:00:00Z',
      '2026-06-01T00:00:01Z',
    );
    await grant(
      bob,
      'consent-bob-0001',
      { kind: 'organization', id: HOSPITAL_MSP },
      { categories: ['laboratory'], codes: [] },
      ['TREAT'],
      '2026-01-01T00:00:00Z',
      '2030-01-01T00:00:00Z',
    );

    // alice's access log, as the gateway writes it for its users, and her agent's own export
    const lab = { categories: ['laboratory'], codes: [] };
    await record('push', { action: 'push', outcome: 'success', references: [deliveryId] });
    await record('pull', {
      action: 'pull',
      outcome: 'success',
      purpose: 'TREAT',
      scope: lab,
      references: [deliveryId],
      queryHash: sha256('q1'),
      requester: { id: clinicianKey, role: 'clinician' },
    });
    await record('denied', {
      action: 'pull',
      outcome: 'denied',
      purpose: 'HRESCH',
      scope: { categories: ['medication'], codes: [] },
      queryHash: sha256('q2'),
      requester: { id: otherClinician, role: 'clinician' },
    });
    await record('failed', {
      action: 'pull',
      outcome: 'failed',
      purpose: 'TREAT',
      scope: lab,
      queryHash: sha256('q3'),
      requester: { id: clinicianKey, role: 'clinician' },
    });
    await record('glass', {
      action: 'pull',
      outcome: 'success',
      purpose: 'ETREAT',
      breakGlass: true,
      scope: { categories: ['medication'], codes: [] },
      references: [deliveryId],
      queryHash: sha256('q4'),
      requester: { id: emergencyClinician, role: 'clinician', emergency: true },
    });
    await record('export', { action: 'export', outcome: 'success', references: [deliveryId] }, asPatient(alice));
  });

  afterAll(async () => {
    await h.close();
  });

  it('lists the patient’s consents as R4 Consents: active, revoked and expired ones inactive', async () => {
    const reads = h.ledger.reads;
    const bundle = await search<Consent>(alice.identity, 'Consent', { patient: alice.pseudonym });
    expect(h.ledger.reads).toBe(reads + 1);
    const consents = resources(bundle);
    expect(bundle.total).toBe(3);
    expect(consents.map((c) => [c.id, c.status])).toEqual([
      ['consent-lab-0001', 'active'],
      ['consent-hb-0002', 'inactive'],
      ['consent-old-0003', 'inactive'],
    ]);
    expect(consents[0]).toMatchObject({
      scope: { coding: [{ code: 'patient-privacy' }] },
      patient: { identifier: { system: 'urn:phr-ledger:pseudonym', value: alice.pseudonym } },
      provision: {
        type: 'permit',
        actor: [{ reference: { identifier: { system: 'urn:phr-ledger:msp', value: HOSPITAL_MSP } } }],
        class: [{ system: 'https://phr-ledger.dev/fhir/CodeSystem/data-category', code: 'laboratory' }],
        purpose: [{ code: 'TREAT' }],
      },
    });
    expect(consents[1]?.provision?.actor?.[0]?.reference?.identifier).toEqual({
      system: 'urn:phr-ledger:identity',
      value: clinicianKey,
    });
    expect(consents[1]?.provision?.code).toEqual([{ coding: [{ system: LOINC, code: '4548-4' }] }]);
    for (const c of consents) expect(hasErrors(validator.validateResource(c))).toBe(false);

    // the hospital's admin sees the same; bob sees only his own
    expect(
      resources(await search<Consent>(h.clients.admin, 'Consent', { patient: alice.pseudonym })).map((c) => c.id),
    ).toEqual(consents.map((c) => c.id));
    expect(
      resources(await search<Consent>(bob.identity, 'Consent', { patient: bob.pseudonym })).map((c) => c.id),
    ).toEqual(['consent-bob-0001']);
  });

  it('reads one consent by id for its patient and the admins; to anyone else it does not exist', async () => {
    const reads = h.ledger.reads;
    const consent = (await h
      .fhir(alice.identity)
      .read({ resourceType: 'Consent', id: 'consent-hb-0002' })) as unknown as Consent;
    expect(h.ledger.reads).toBe(reads + 1);
    expect(consent).toMatchObject({ resourceType: 'Consent', id: 'consent-hb-0002', status: 'inactive' });
    expect(hasErrors(validator.validateResource(consent))).toBe(false);
    const listed = resources(await search<Consent>(alice.identity, 'Consent', { patient: alice.pseudonym }));
    expect(consent).toEqual(listed.find((c) => c.id === 'consent-hb-0002'));
    expect(await h.fhir(h.clients.admin).read({ resourceType: 'Consent', id: 'consent-hb-0002' })).toEqual(consent);

    // bob: alice's consent and one that does not exist look the same
    const refused = await h.request(bob.identity, 'GET', '/fhir/Consent/consent-hb-0002');
    const missing = await h.request(bob.identity, 'GET', '/fhir/Consent/consent-none-0009');
    expect([refused.status, missing.status]).toEqual([404, 404]);
    expect((refused.json as OutcomeBody).issue[0]?.code).toBe('not-found');
    expect((refused.json as OutcomeBody).issue[0]?.diagnostics).toBe(
      (missing.json as OutcomeBody).issue[0]?.diagnostics?.replace('consent-none-0009', 'consent-hb-0002'),
    );
    expect((await h.request(bob.identity, 'GET', '/fhir/Consent/consent-bob-0001')).status).toBe(200);
    for (const who of [h.clients.clinician, h.clients.ehr]) {
      expect((await h.request(who, 'GET', '/fhir/Consent/consent-hb-0002')).status).toBe(403);
    }
    expect((await h.request(alice.identity, 'GET', '/fhir/Consent/no')).status).toBe(400);
    h.ledger.available = false;
    try {
      expect((await h.request(alice.identity, 'GET', '/fhir/Consent/consent-hb-0002')).status).toBe(503);
    } finally {
      h.ledger.available = true;
    }
  });

  it('refuses another patient, clinicians, EHRs and other hospitals with a 403 OperationOutcome', async () => {
    for (const [who, path] of [
      [bob.identity, `/fhir/Consent?patient=${alice.pseudonym}`],
      [bob.identity, `/fhir/AuditEvent?patient=${alice.pseudonym}`],
      [h.clients.clinician, `/fhir/AuditEvent?patient=${alice.pseudonym}`],
      [h.clients.ehr, `/fhir/Consent?patient=${alice.pseudonym}`],
      [h.clients.gatewayIdentity, `/fhir/AuditEvent?patient=${alice.pseudonym}`],
    ] as const) {
      const res = await h.request(who, 'GET', path);
      expect(res.status).toBe(403);
      expect((res.json as OutcomeBody).resourceType).toBe('OperationOutcome');
      expect((res.json as OutcomeBody).issue[0]?.code).toBe('forbidden');
    }
    await expect(
      h.fhir(bob.identity).search({ resourceType: 'AuditEvent', searchParams: { patient: alice.pseudonym } }),
    ).rejects.toMatchObject({
      response: { status: 403 },
    });
    expect((await h.request(alice.identity, 'GET', '/fhir/AuditEvent')).status).toBe(400);
    expect((await h.request(undefined, 'GET', `/fhir/Consent?patient=${alice.pseudonym}`)).status).toBe(401);
  });

  it('lists the access log as BALP AuditEvents with the right agents, entities, actions and outcomes', async () => {
    const bundle = await search<AuditEvent>(alice.identity, 'AuditEvent', { patient: alice.pseudonym });
    expect(eventIds(bundle)).toEqual(
      ['push', 'pull', 'denied', 'failed', 'glass', 'export'].map((n) => `evt-${n}-0001`),
    );
    const [push, pull, denied, failed, glass, exported] = resources(bundle);
    for (const e of resources(bundle)) expect(hasErrors(validator.validateResource(e))).toBe(false);

    expect(push).toMatchObject({ type: { code: 'rest' }, action: 'C', outcome: '0' });
    expect(push?.subtype?.map((s) => s.code)).toEqual(['create', 'push']);
    expect(push?.agent).toHaveLength(1);

    expect(pull).toMatchObject({
      type: { code: 'rest' },
      action: 'E',
      outcome: '0',
      purposeOfEvent: [{ coding: [{ code: 'TREAT' }] }],
    });
    expect(pull?.subtype?.map((s) => s.code)).toEqual(['search-type', 'pull']);
    expect(
      pull?.agent.map((a) => [a.who?.identifier?.value, a.who?.identifier?.assigner?.identifier?.value, a.requestor]),
    ).toEqual([
      [clinicianKey, HOSPITAL_MSP, true],
      [keyOf(HOSPITAL_MSP, h.clients.gatewayIdentity), HOSPITAL_MSP, false],
    ]);
    expect(pull?.source).toMatchObject({ site: HOSPITAL_MSP, type: [{ code: '4' }] });
    const pullEntities = pull?.entity ?? [];
    expect(pullEntities[0]?.what?.identifier).toEqual({ system: 'urn:phr-ledger:pseudonym', value: alice.pseudonym });
    expect(pullEntities.find((x) => x.role?.code === '24')?.detail?.[0]).toEqual({
      type: 'query-sha256',
      valueString: sha256('q1'),
    });
    expect(pullEntities.find((x) => x.role?.code === '4')?.what?.identifier).toEqual({
      system: 'urn:phr-ledger:delivery',
      value: deliveryId,
    });
    expect(pullEntities.find((x) => x.role?.code === '13')?.what?.identifier?.value).toBe('consent-lab-0001');

    expect(denied).toMatchObject({ outcome: '4', action: 'E' });
    expect(denied?.agent[0]?.who?.identifier?.value).toBe(otherClinician);
    expect(failed).toMatchObject({ outcome: '8' });

    expect(glass?.outcome).toBe('0');
    expect(glass?.purposeOfEvent?.flatMap((p) => p.coding?.map((c) => c.code))).toEqual(['ETREAT', 'BTG']);
    expect(glass?.agent[0]?.purposeOfUse?.flatMap((p) => p.coding?.map((c) => c.code))).toEqual(['ETREAT', 'BTG']);
    expect(glass?.entity?.some((x) => x.role?.code === '13')).toBe(false); // no consent covered it

    expect(exported).toMatchObject({
      type: { code: '110106' },
      action: 'R',
      source: { site: PATIENTS_MSP_ID, type: [{ code: '1' }] },
    });
    expect(exported?.agent).toHaveLength(1);
  });

  it('filters by date, agent and action', async () => {
    const ids = async (params: Record<string, string | string[]>) =>
      eventIds(await search<AuditEvent>(alice.identity, 'AuditEvent', { patient: alice.pseudonym, ...params }));
    const at = (name: string) => events[name]!.recordedAt;
    expect(await ids({ date: [`ge${at('denied')}`, `lt${at('glass')}`] })).toEqual([
      'evt-denied-0001',
      'evt-failed-0001',
    ]);
    expect(await ids({ date: `gt${at('glass')}` })).toEqual(['evt-export-0001']);
    expect(await ids({ date: `le${at('push')}` })).toEqual(['evt-push-0001']);
    expect(await ids({ date: at('pull') })).toEqual(['evt-pull-0001']);
    expect(await ids({ date: 'ge2027-01-01' })).toEqual([]);
    expect(await ids({ agent: clinicianKey })).toEqual(['evt-pull-0001', 'evt-failed-0001']);
    expect(await ids({ agent: `${otherClinician},${emergencyClinician}` })).toEqual([
      'evt-denied-0001',
      'evt-glass-0001',
    ]);
    expect(await ids({ agent: PATIENTS_MSP_ID })).toEqual(['evt-export-0001']);
    expect(await ids({ agent: 'urn:phr-ledger:msp|Hospital2MSP' })).toEqual([]);
    expect(await ids({ action: 'E' })).toEqual([
      'evt-pull-0001',
      'evt-denied-0001',
      'evt-failed-0001',
      'evt-glass-0001',
    ]);
    expect(await ids({ action: 'C' })).toEqual(['evt-push-0001']);
    expect(await ids({ action: 'export,push' })).toEqual(['evt-push-0001', 'evt-export-0001']);
    expect(await ids({ action: 'pull', agent: clinicianKey, date: `ge${at('failed')}` })).toEqual(['evt-failed-0001']);
    const bad = await h.request(alice.identity, 'GET', `/fhir/AuditEvent?patient=${alice.pseudonym}&date=sometime`);
    expect(bad.status).toBe(400);
    expect((bad.json as OutcomeBody).issue[0]?.expression).toEqual(['date']);
    // POST _search takes the same parameters as a form
    const posted = await h.request(
      h.clients.admin,
      'POST',
      '/fhir/AuditEvent/_search',
      `patient=${alice.pseudonym}&action=R`,
      { 'content-type': 'application/x-www-form-urlencoded' },
    );
    expect(posted.status).toBe(200);
    expect((posted.json as Bundle).total).toBe(1);
  });

  it('reads every page of a long access log, 100 events a page', async () => {
    for (let i = 0; i < 205; i++) {
      await h.ledger.world.invoke(
        h.ledger.accessLog,
        'RecordAccess',
        [
          JSON.stringify({
            eventId: `evt-bob-${String(i).padStart(4, '0')}`,
            pseudonym: bob.pseudonym,
            action: 'pull',
            outcome: 'denied',
            purpose: 'TREAT',
            requester: { id: otherClinician, role: 'clinician' },
          }),
        ],
        asGateway(),
      );
    }
    const reads = h.ledger.reads;
    const bundle = await search<AuditEvent>(bob.identity, 'AuditEvent', { patient: bob.pseudonym });
    expect(bundle.total).toBe(205);
    expect(h.ledger.reads - reads).toBe(3);
    expect(eventIds(bundle)[204]).toBe('evt-bob-0204');
  });

  describe('$verify', () => {
    const proofFor = (segment: number, element: number) => {
      const tree = new DeliveryTree(
        payload.segments.map((s) => s.elements.map((e) => elementLeafHash(e.element, e.salt))),
      );
      return tree.proof(segment, element);
    };
    const verify = async (who: Issued, parameter: unknown[]) => {
      const res = await h.request(
        who,
        'POST',
        '/fhir/$verify',
        { resourceType: 'Parameters', parameter },
        {
          'content-type': 'application/fhir+json',
        },
      );
      return res;
    };
    const resultOf = (res: { json: unknown }) =>
      (res.json as Parameters).parameter?.find((p) => p.name === 'result')?.valueBoolean;
    const s = (name: string, value: unknown) => ({
      name,
      valueString: typeof value === 'string' ? value : JSON.stringify(value),
    });

    it('confirms a delivered coded element for any caller, and refuses a tampered one', async () => {
      const segment = payload.segments.findIndex((x) => x.elements.length > 1);
      const delivered = payload.segments[segment]!.elements[1]!;
      const proof = proofFor(segment, 1);
      const reads = h.ledger.reads;
      const ok = await verify(h.clients.clinician, [
        s('deliveryId', deliveryId),
        s('element', delivered.element),
        s('salt', delivered.salt),
        s('proof', proof),
      ]);
      expect(ok.status).toBe(200);
      expect(resultOf(ok)).toBe(true);
      expect(hasErrors(validator.validateResource(ok.json))).toBe(false);
      expect(h.ledger.reads).toBe(reads); // readDelivery is the one read; listing counters stay put

      const tampered = { ...delivered.element, code: 'tampered' };
      const no = await verify(alice.identity, [
        s('deliveryId', deliveryId),
        s('element', tampered),
        s('salt', delivered.salt),
        s('proof', proof),
      ]);
      expect(resultOf(no)).toBe(false);
      const otherSalt = await verify(alice.identity, [
        s('deliveryId', deliveryId),
        s('element', delivered.element),
        s('salt', '0'.repeat(32)),
        s('proof', proof),
      ]);
      expect(resultOf(otherSalt)).toBe(false);
      const unknown = await verify(alice.identity, [
        s('deliveryId', 'no-such-delivery'),
        s('element', delivered.element),
        s('salt', delivered.salt),
        s('proof', proof),
      ]);
      expect(resultOf(unknown)).toBe(false);
    });

    it('confirms a whole resource as the patient received it (the agent’s export), and refuses a changed one', async () => {
      const seg = payload.segments[1]!;
      const head = seg.elements[0]!;
      expect(head.element.kind).toBe('resource');
      const exported = {
        ...head.element.resource,
        meta: {
          ...(head.element.resource?.['meta'] as object),
          source: `urn:phr-ledger:delivery:${deliveryId}#${seg.segmentId}`,
        },
      };
      const params = (resource: unknown) => [
        s('deliveryId', deliveryId),
        { name: 'resource', resource },
        s('salt', head.salt),
        s('proof', proofFor(1, 0)),
      ];
      expect(resultOf(await verify(alice.identity, params(exported)))).toBe(true);
      expect(
        resultOf(await verify(alice.identity, [...params(head.element.resource), s('segmentId', seg.segmentId)])),
      ).toBe(true);
      expect(resultOf(await verify(alice.identity, params({ ...exported, id: 'someone-else' })))).toBe(false);
    });

    it('answers malformed input with 400 and a non-FHIR body with 415', async () => {
      const head = payload.segments[0]!.elements[0]!;
      const bad = await verify(alice.identity, [
        s('deliveryId', deliveryId),
        s('element', head.element),
        s('salt', 'short'),
        s('proof', proofFor(0, 0)),
      ]);
      expect(bad.status).toBe(400);
      expect((bad.json as OutcomeBody).resourceType).toBe('OperationOutcome');
      expect((await verify(alice.identity, [s('deliveryId', deliveryId)])).status).toBe(400);
      const xml = await h.request(alice.identity, 'POST', '/fhir/$verify', '<Parameters/>', {
        'content-type': 'application/fhir+xml',
      });
      expect(xml.status).toBe(415);
    });
  });
});
