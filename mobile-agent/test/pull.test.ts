import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import {
  categoriesOf,
  decodePullAnswer,
  fabricX509Id,
  generateEncryptionKeyPair,
  identityKey,
  openEnvelope,
  parseExactJson,
  pullAnswerAad,
  type PullAnswer,
  type SealedEnvelope,
} from '@phr/common';
import { readAnswerBundle, verifyAnswer, type VerifiedAnswer } from '@phr/requester';
import { forNewPatient, isPatientBundleFile, loadBundle, mrnOf, spkiBase64, syntheaFiles } from '@phr/test-support';
import type { Issued } from '@phr/test-support';
import type { Agent } from '../src/agent';
import { AgentHarness } from './support/agent-harness';

jest.setTimeout(120_000);

let h: AgentHarness;
let patient: { agent: Agent; pseudonym: string };
let clinician: Issued;
let emergency: Issued;
const LAB = 'laboratory';

beforeAll(async () => {
  h = await AgentHarness.create();
  clinician = h.gw.clients.clinician;
  emergency = await h.gw.hospitalCa.issue('er-doc', { attrs: { 'phr.role': 'clinician', 'phr.emergency': 'true' } });
  const file = syntheaFiles().filter(isPatientBundleFile)[0] as string;
  const bundle = forNewPatient(loadBundle(file), 'pull');
  const created = await h.newAgent();
  patient = { agent: created.agent, pseudonym: created.pseudonym };
  await h.link(patient.agent, mrnOf(bundle));
  await h.post(bundle);
  const report = await patient.agent.sync();
  expect(report.deliveries[0]?.result).toBe('stored');
});
afterAll(async () => {
  await patient.agent.close();
  await h.close();
});

interface Requester {
  who: Issued;
  key: ReturnType<typeof generateEncryptionKeyPair>;
  id: string;
}

function requester(who: Issued): Requester {
  return {
    who,
    key: generateEncryptionKeyPair('X25519'),
    id: identityKey('Hospital1MSP', fabricX509Id(who.certificatePem)),
  };
}

function search(r: Requester, path: string, headers: Record<string, string> = {}) {
  return h.gw.request(r.who, 'GET', path, undefined, { 'x-answer-key': spkiBase64(r.key.publicKeyPem), ...headers });
}

/**
 * What the requester's client does with a 200: open the Binary (a version 2 answer, as the agent
 * writes it) and check every element against the ledger's root with the requester's verifier.
 */
async function openAnswer(r: Requester, body: unknown): Promise<VerifiedAnswer & { answer: PullAnswer }> {
  const { receipt, envelope } = readAnswerBundle(body);
  expect(envelope.senderCertificate).toBe(patient.agent.identity.certificatePem);
  const ctx = {
    requestId: receipt.requestId,
    pseudonym: patient.pseudonym,
    requesterId: r.id,
    answerPrivateKeyPem: r.key.privateKeyPem,
  };
  const plaintext = openEnvelope(envelope, r.key.privateKeyPem, pullAnswerAad(ctx));
  const answer = parseExactJson(decodePullAnswer(plaintext)) as PullAnswer;
  expect(answer.version).toBe(2);
  return { ...(await verifyAnswer(envelope, ctx, h.gw.ledger)), answer };
}

/** Asks asynchronously, lets the patient's agent answer, then fetches the answer. */
async function pull(r: Requester, path: string, headers: Record<string, string> = {}) {
  const first = await search(r, path, { prefer: 'respond-async', ...headers });
  if (first.status !== 202) return first;
  const location = first.headers.get('content-location') as string;
  const report = await patient.agent.sync();
  expect(report.requests.length).toBeGreaterThan(0);
  return h.gw.request(r.who, 'GET', new URL(location).pathname);
}

async function accessEvents() {
  return patient.agent['ledger'].listAccessEvents(patient.pseudonym);
}

describe('pull with consent', () => {
  it('no consent: 403, and a denied access event the patient sees', async () => {
    const r = requester(clinician);
    const res = await search(r, `/fhir/Observation?patient=${patient.pseudonym}`);
    expect(res.status).toBe(403);
    expect((res.json as { resourceType: string }).resourceType).toBe('OperationOutcome');
    const events = await accessEvents();
    expect(events.at(-1)).toMatchObject({
      action: 'pull',
      outcome: 'denied',
      requester: { id: r.id, role: 'clinician' },
    });
  });

  it('consent for laboratory: exactly the laboratory resources, every proof verifies, audited with the consent', async () => {
    const consent = await patient.agent.grantConsent({
      grantee: { kind: 'organization', id: 'Hospital1MSP' },
      scope: { categories: [LAB], codes: [] },
      purposes: ['TREAT'],
      end: new Date(Date.now() + 86400_000).toISOString(),
    });
    const r = requester(clinician);
    const res = await pull(r, `/fhir/Observation?patient=${patient.pseudonym}`);
    expect([res.status, res.status === 200 ? '' : res.text]).toEqual([200, '']);
    const answer = await openAnswer(r, res.json);
    expect(answer.elements.length).toBeGreaterThan(0);
    for (const e of answer.elements) {
      expect(e.element.kind).toBe('resource');
      expect(categoriesOf(e.element.resource as Record<string, unknown>)).toContain(LAB);
    }
    const stored = (await patient.agent.records({ kind: 'resource', resourceType: 'Observation' })).filter((e) =>
      categoriesOf(e.element.resource as Record<string, unknown>).includes(LAB),
    );
    expect(answer.elements.map((e) => e.element.id).sort()).toEqual(stored.map((e) => e.element.id).sort());
    expect((await accessEvents()).at(-1)).toMatchObject({
      action: 'pull',
      outcome: 'success',
      consentIds: [consent.consentId],
      breakGlass: false,
    });
  });

  it('a synchronous search waits for the agent and answers 200', async () => {
    const r = requester(clinician);
    const pending = search(r, `/fhir/Observation?patient=${patient.pseudonym}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await patient.agent.sync();
    const res = await pending;
    expect(res.status).toBe(200);
    expect((await openAnswer(r, res.json)).elements.length).toBeGreaterThan(0);
  });

  it('codes outside the consent are absent; a code consent discloses only those coded elements', async () => {
    const coded = (await patient.agent.records({ kind: 'coded', resourceType: 'Condition' }))[0];
    if (!coded?.element.system || !coded.element.code) throw new Error('fixture has no coded Condition');
    const code = `${coded.element.system}|${coded.element.code}`;
    const labCode = (await patient.agent.records({ kind: 'coded', resourceType: 'Observation' })).find(
      (e) => e.element.system === 'http://loinc.org',
    );
    const r = requester(clinician);
    // Conditions are not covered by the laboratory consent: denied.
    expect(
      (await search(r, `/fhir/Condition?patient=${patient.pseudonym}&code=${encodeURIComponent(code)}`)).status,
    ).toBe(403);
    await patient.agent.grantConsent({
      grantee: { kind: 'organization', id: 'Hospital1MSP' },
      scope: { categories: [], codes: [{ system: coded.element.system, code: coded.element.code }] },
      purposes: ['TREAT'],
      end: new Date(Date.now() + 86400_000).toISOString(),
    });
    const res = await pull(r, `/fhir/Condition?patient=${patient.pseudonym}&code=${encodeURIComponent(code)}`);
    expect(res.status).toBe(200);
    const answer = await openAnswer(r, res.json);
    expect(answer.elements.length).toBeGreaterThan(0);
    for (const e of answer.elements) {
      expect(e.element.kind).toBe('coded');
      expect(`${e.element.system}|${e.element.code}`).toBe(code);
    }
    if (labCode) expect(answer.elements.map((e) => e.element.id)).not.toContain(labCode.element.id);
  });

  it('another patient’s pseudonym is denied', async () => {
    const other = await h.newAgent();
    const res = await search(requester(clinician), `/fhir/Observation?patient=${other.pseudonym}`);
    expect(res.status).toBe(403);
    await other.agent.close();
  });

  it('revoked: denied', async () => {
    for (const c of await patient.agent.consents())
      if (c.status === 'active') await patient.agent.revokeConsent(c.consentId);
    expect((await search(requester(clinician), `/fhir/Observation?patient=${patient.pseudonym}`)).status).toBe(403);
  });

  it('break-glass: an emergency clinician gets the data without consent; the event is flagged and the patient told', async () => {
    const plain = requester(clinician);
    expect(
      (
        await search(plain, `/fhir/Observation?patient=${patient.pseudonym}`, {
          'x-break-glass': 'true',
          'x-purpose-of-use': 'ETREAT',
        })
      ).status,
    ).toBe(403);
    const r = requester(emergency);
    const res = await pull(r, `/fhir/Observation?patient=${patient.pseudonym}`, {
      'x-break-glass': 'true',
      'x-purpose-of-use': 'ETREAT',
    });
    expect(res.status).toBe(200);
    expect((await openAnswer(r, res.json)).elements.length).toBeGreaterThan(0);
    expect((await accessEvents()).at(-1)).toMatchObject({ outcome: 'success', breakGlass: true, purpose: 'ETREAT' });
    const notes = await patient.agent.notifications({ unreadOnly: true });
    expect(notes.some((n) => n.message.startsWith('EMERGENCY ACCESS'))).toBe(true);
  });

  it('$everything: every resource, the delivery held whole without segment paths, each verified against the ledger', async () => {
    const r = requester(emergency);
    const res = await pull(r, `/fhir/Patient/${patient.pseudonym}/$everything`, {
      'x-break-glass': 'true',
      'x-purpose-of-use': 'ETREAT',
    });
    expect([res.status, res.status === 200 ? '' : res.text]).toEqual([200, '']);
    const { answer, elements, deliveriesChecked } = await openAnswer(r, res.json);
    const stored = await patient.agent.records({ kind: 'resource' });
    expect(elements.map((e) => e.element.id).sort()).toEqual(stored.map((e) => e.element.id).sort());
    expect(deliveriesChecked).toBe(1);
    if (answer.version !== 2) throw new Error('not a version 2 answer');
    const [delivery] = answer.deliveries;
    expect(delivery?.segmentCount).toBe((await patient.agent['vault'].deliveries())[0]?.segmentCount);
    expect(delivery?.segments.every((s) => s.segmentPath === undefined)).toBe(true);
    // each element comes back with the whole proof version 1 carried, rebuilt from the answer
    for (const e of elements) expect(e.proof.segmentPath.length).toBeGreaterThan(0);
  });

  it('a tampered answer at the gateway cannot be opened by the requester', async () => {
    await patient.agent.grantConsent({
      grantee: { kind: 'organization', id: 'Hospital1MSP' },
      scope: { categories: [LAB], codes: [] },
      purposes: ['TREAT'],
      end: new Date(Date.now() + 86400_000).toISOString(),
    });
    const r = requester(clinician);
    const first = await search(r, `/fhir/Observation?patient=${patient.pseudonym}`, { prefer: 'respond-async' });
    const location = new URL(first.headers.get('content-location') as string).pathname;
    await patient.agent.sync();
    const db = new DatabaseSync(join(h.gw.config.dataDir, 'gateway.db'));
    const requestId = location.split('/').at(-1) as string;
    const row = db.prepare('SELECT answer FROM pull_request WHERE request_id = ?').get(requestId) as { answer: string };
    const env = JSON.parse(row.answer) as SealedEnvelope;
    const bytes = Buffer.from(env.ciphertext, 'base64');
    bytes[3] = (bytes[3] as number) ^ 0x10;
    db.prepare('UPDATE pull_request SET answer = ? WHERE request_id = ?').run(
      JSON.stringify({ ...env, ciphertext: bytes.toString('base64') }),
      requestId,
    );
    db.close();
    const res = await h.gw.request(r.who, 'GET', location);
    expect(res.status).toBe(200);
    await expect(openAnswer(r, res.json)).rejects.toThrow(/signature/i);
  });

  it("the gateway decides consent from a cache the ledger's consent events keep current, and reads the ledger while they are lost", async () => {
    const feed = h.gw.gateway.consentFeed;
    if (!feed) throw new Error('the gateway runs without its consent cache');
    await feed.whenLive();
    const ledger = h.gw.ledger;
    const r = requester(clinician);
    const conditions = `/fhir/Condition?patient=${patient.pseudonym}`;
    const evaluations = ledger.consentEvaluations;
    const warm = await search(r, conditions);
    expect(warm.status).toBe(403);
    const reads = ledger.reads;
    for (let i = 0; i < 3; i++) expect((await search(r, conditions)).status).toBe(403);

    const consent = await patient.agent.grantConsent({
      grantee: { kind: 'organization', id: 'Hospital1MSP' },
      scope: { categories: ['condition'], codes: [] },
      purposes: ['TREAT'],
      end: new Date(Date.now() + 86400_000).toISOString(),
    });
    const res = await pull(r, conditions);
    expect(res.status).toBe(200);
    expect((await openAnswer(r, res.json)).elements.length).toBeGreaterThan(0);
    await patient.agent.revokeConsent(consent.consentId);
    expect((await search(r, conditions)).status).toBe(403);
    // the grant and the revocation reached the gateway as events: no consent read, no EvaluateConsent
    expect(ledger.reads).toBe(reads);
    expect(ledger.consentEvaluations).toBe(evaluations);

    const streams = ledger.consentStreams;
    ledger.consentEventsAvailable = false;
    const lost = Date.now();
    while (feed.state === 'live' && Date.now() - lost < 5_000) await new Promise((resolve) => setTimeout(resolve, 2));
    expect(h.gw.gateway.consentFeed?.state).toBe('connecting');
    expect((await search(r, conditions)).status).toBe(403);
    expect((await search(r, conditions)).status).toBe(403);
    expect(ledger.reads).toBe(reads + 2);
    ledger.consentEventsAvailable = true;
    await feed.whenLive();
    expect(ledger.consentStreams).toBe(streams + 1);
    expect((await search(r, conditions)).status).toBe(403);
    expect((await search(r, conditions)).status).toBe(403);
    expect(ledger.reads).toBe(reads + 3);
  });
});
