import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent as Dispatcher } from 'undici';
import { Client } from 'fhir-kit-client';
import { categoriesOf, fabricX509Id, identityKey, type CodeRef } from '@phr/common';
import { Agent, initAgent, loadProfile } from '@phr/mobile-agent';
import { FabricRequesterLedger, PullClient } from '@phr/requester';
import { gatewayUrl, mrnIdentifier, mutualTls, script, state, until, type SyntheaBundle } from './harness';
import { TEST_KEYSTORE } from '@phr/test-support';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'synthea-r4');
const PASSPHRASE = 'e2e passphrase, long enough';
const FILE = 'Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json';
describe('pull with consent on the real network', () => {
  let agent: Agent;
  let pseudonym: string;
  const clients: PullClient[] = [];
  const ledgers: FabricRequesterLedger[] = [];
  const dispatchers: Dispatcher[] = [];

  const caPem = () => readFileSync(join(state().dir, 'orgs', 'hospital1', 'msp', 'cacerts', 'ca.pem'), 'utf8');
  function tls(org: string, name: string): Dispatcher {
    const d = mutualTls(org, name, 'hospital1');
    dispatchers.push(d);
    return d;
  }
  function requester(name: string): PullClient {
    const s = state();
    const identity = s.identity('hospital1', name);
    const ledger = FabricRequesterLedger.connect({
      peer: s.peer('hospital2'),
      identity,
      channel: s.topology.channel,
      chaincode: s.topology.chaincode.name,
    });
    ledgers.push(ledger);
    const client = new PullClient({
      gatewayUrl: gatewayUrl('hospital1'),
      caPem: caPem(),
      certificatePem: identity.certificatePem,
      privateKeyPem: identity.privateKeyPem,
      mspId: identity.mspId,
      ledger,
    });
    clients.push(client);
    return client;
  }
  /** Asks with Prefer: respond-async, lets the agent answer, polls the answer. */
  async function pull(client: PullClient, type: string, codes?: CodeRef[], extra: { breakGlass?: boolean } = {}) {
    const first = await client.search({ type, patient: pseudonym, async: true, ...(codes ? { codes } : {}), ...extra });
    if (first.status === 'answered') return first;
    await until('the agent to answer', async () =>
      (await agent.sync({ waitMs: 1000 })).requests.length > 0 ? true : undefined,
    );
    return client.poll(first.requestId);
  }
  const grant = (scope: { categories?: string[]; codes?: CodeRef[] }, endMs = 86400_000) =>
    agent.grantConsent({
      grantee: { kind: 'organization', id: 'Hospital1MSP' },
      scope: { categories: scope.categories ?? [], codes: scope.codes ?? [] },
      purposes: ['TREAT'],
      end: new Date(Date.now() + endMs).toISOString(),
    });

  beforeAll(async () => {
    await script('enroll.sh', 'hospital1', 'dr-grey', 'clinician');
    await script('enroll.sh', 'hospital1', 'er-doc', 'clinician', '--emergency');
    const reg = JSON.parse(await script('register-patient.sh')) as { enrollmentId: string; enrollmentSecret: string };
    const home = join(state().dir, 'agents', 'pull-patient');
    ({ pseudonym } = await initAgent({
      home,
      profile: loadProfile(join(state().dir, 'agent-profile.json')),
      passphrase: PASSPHRASE,
      keystore: TEST_KEYSTORE,
      enrollmentId: reg.enrollmentId,
      enrollmentSecret: reg.enrollmentSecret,
    }));
    agent = await Agent.open(home, PASSPHRASE);
    const bundle = JSON.parse(readFileSync(join(FIXTURES, FILE), 'utf8')) as SyntheaBundle;
    const mrn = mrnIdentifier(bundle);
    mrn.value = `${mrn.value}-pull`;
    const { code } = await until('a link code', async () => agent.linkCode('hospital1').catch(() => undefined), 30_000);
    const link = await fetch(`${gatewayUrl('hospital1')}/identity/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identifier: { system: mrn.system, value: mrn.value }, code }),
      dispatcher: tls('hospital1', 'orgadmin'),
    });
    expect([200, 201]).toContain(link.status);
    const ehr = new Client({
      baseUrl: `${gatewayUrl('hospital1')}/fhir`,
      requestOptions: { dispatcher: tls('hospital1', 'ehr') },
    });
    await ehr.transaction({ body: bundle as never });
    await until(
      'the delivery to be stored',
      async () => {
        await agent.sync({ waitMs: 2000 });
        return (await agent.deliveries()).length > 0 ? true : undefined;
      },
      120_000,
    );
  });

  afterAll(async () => {
    for (const c of clients) await c.close();
    for (const l of ledgers) l.close();
    for (const d of dispatchers) await d.close();
    await agent?.close();
  });

  it('denies without consent, answers exactly the consented category with verified proofs, denies again once revoked', async () => {
    const dr = requester('dr-grey');
    await expect(dr.search({ type: 'Observation', patient: pseudonym })).rejects.toMatchObject({ code: 'DENIED' });

    const consent = await grant({ categories: ['laboratory'] });
    const answered = await pull(dr, 'Observation');
    expect(answered.status).toBe('answered');
    expect(answered.resources.length).toBeGreaterThan(0);
    for (const r of answered.resources) expect(categoriesOf(r)).toContain('laboratory');
    // One ledger read per delivery root (plus the patient's registration), never one per element.
    expect(answered.ledgerReads).toBeLessThanOrEqual(answered.deliveriesChecked + 1);

    // Out of scope: conditions were not consented.
    await expect(dr.search({ type: 'Condition', patient: pseudonym })).rejects.toMatchObject({ code: 'DENIED' });

    await agent.revokeConsent(consent.consentId);
    await expect(dr.search({ type: 'Observation', patient: pseudonym })).rejects.toMatchObject({ code: 'DENIED' });
  });

  it('an expired consent is denied', async () => {
    const dr = requester('dr-grey');
    await grant({ categories: ['encounter'] }, 4_000);
    await new Promise((r) => setTimeout(r, 6_000));
    await expect(dr.search({ type: 'Encounter', patient: pseudonym })).rejects.toMatchObject({ code: 'DENIED' });
  });

  it('break-glass: data without consent, the event flagged, the patient notified', async () => {
    const er = requester('er-doc');
    const answered = await pull(er, 'Condition', undefined, { breakGlass: true });
    expect(answered.breakGlass).toBe(true);
    expect(answered.resources.length).toBeGreaterThan(0);
    const log = await agent.accessLog();
    expect(log.some((e) => e.breakGlass && e.outcome === 'success')).toBe(true);
    expect((await agent.notifications()).some((n) => n.message.startsWith('EMERGENCY ACCESS'))).toBe(true);
  });

  it('a consent the patient signed, relayed by the EHR through POST /fhir/Consent, permits the pull', async () => {
    const dr = requester('dr-grey');
    await expect(dr.search({ type: 'Observation', patient: pseudonym })).rejects.toMatchObject({ code: 'DENIED' });
    const signed = agent.signedConsent({
      grantee: { kind: 'organization', id: 'Hospital1MSP' },
      scope: { categories: ['laboratory'], codes: [] },
      purposes: ['TREAT'],
      end: new Date(Date.now() + 86400_000).toISOString(),
    });
    const post = (resource: unknown) =>
      fetch(`${gatewayUrl('hospital1')}/fhir/Consent`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(resource),
        dispatcher: tls('hospital1', 'ehr'),
      });

    // Widened after signing: the chaincode refuses it on every endorsing peer.
    const provision = signed.provision ?? {};
    const tampered = {
      ...signed,
      provision: { ...provision, class: [...(provision.class ?? []), { ...provision.class?.[0], code: 'condition' }] },
    };
    expect((await post(tampered)).status).toBe(403);

    const res = await post(signed);
    expect(res.status).toBe(201);
    const consentId = signed.identifier?.[0]?.value as string;
    expect(res.headers.get('location')).toMatch(new RegExp(`/fhir/Consent/${consentId}$`));
    expect((await agent.consents()).find((c) => c.consentId === consentId)).toMatchObject({
      status: 'active',
      relayedBy: 'Hospital1MSP',
    });
    const answered = await pull(dr, 'Observation');
    expect(answered.status).toBe('answered');
    expect(answered.resources.length).toBeGreaterThan(0);
    await agent.revokeConsent(consentId);
  });

  it('AuditEvent search lists each of these with the right agent, action and outcome', async () => {
    const patientTls = new Dispatcher({
      connect: { ca: caPem(), cert: agent.identity.certificatePem, key: agent.identity.privateKeyPem },
    });
    dispatchers.push(patientTls);
    const res = await fetch(`${gatewayUrl('hospital1')}/fhir/AuditEvent?patient=${pseudonym}&action=E`, {
      headers: { accept: 'application/fhir+json' },
      dispatcher: patientTls,
    });
    expect(res.status).toBe(200);
    const bundle = (await res.json()) as {
      type: string;
      entry: {
        resource: {
          resourceType: string;
          action: string;
          outcome: string;
          agent: {
            requestor: boolean;
            who: { identifier: { value: string } };
            purposeOfUse?: { coding: { code: string }[] }[];
          }[];
        };
      }[];
    };
    expect(bundle.type).toBe('searchset');
    const events = bundle.entry.map((e) => e.resource).filter((r) => r.resourceType === 'AuditEvent');
    const dr = state().identity('hospital1', 'dr-grey');
    const er = state().identity('hospital1', 'er-doc');
    const drId = identityKey(dr.mspId, fabricX509Id(dr.certificatePem));
    const erId = identityKey(er.mspId, fabricX509Id(er.certificatePem));
    const by = (id: string) => events.filter((e) => e.agent.some((a) => a.requestor && a.who.identifier.value === id));
    expect(by(drId).map((e) => e.outcome)).toEqual(expect.arrayContaining(['4', '0']));
    expect(by(drId).every((e) => e.action === 'E')).toBe(true);
    const emergency = by(erId);
    expect(emergency.some((e) => e.outcome === '0')).toBe(true);
    const purposes = emergency.flatMap((e) =>
      e.agent.flatMap((a) => a.purposeOfUse ?? []).flatMap((p) => p.coding.map((c) => c.code)),
    );
    expect(purposes).toEqual(expect.arrayContaining(['ETREAT', 'BTG']));
  });
});
