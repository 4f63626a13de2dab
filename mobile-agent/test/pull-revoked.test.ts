import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { fabricX509Id, generateEncryptionKeyPair, identityKey, type AccessEventRecord } from '@phr/common';
import { forNewPatient, isPatientBundleFile, loadBundle, mrnOf, spkiBase64, syntheaFiles } from '@phr/test-support';
import type { GatewayAccessEvent } from '@phr/gateway/internal';
import type { Agent } from '../src/agent';
import { AgentHarness } from './support/agent-harness';

jest.setTimeout(120_000);

/**
 * Issue 17: the patient revokes the consent after the gateway decided to relay a pull and after
 * their agent checked it, but before the gateway released the agent's answer. The ledger refuses
 * the pull's success event (CONSENT_REQUIRED), so the requester must hear 403 and nothing else.
 */
let h: AgentHarness;
let patient: { agent: Agent; pseudonym: string };

beforeAll(async () => {
  h = await AgentHarness.create();
  const file = syntheaFiles().filter(isPatientBundleFile)[0] as string;
  const bundle = forNewPatient(loadBundle(file), 'revoked');
  const created = await h.newAgent();
  patient = { agent: created.agent, pseudonym: created.pseudonym };
  await h.link(patient.agent, mrnOf(bundle));
  await h.post(bundle);
  expect((await patient.agent.sync()).deliveries[0]?.result).toBe('stored');
});
afterAll(async () => {
  await patient.agent.close();
  await h.close();
});

it('a consent revoked before the answer is released: 403, a denied access event, no element to the requester', async () => {
  const consent = await patient.agent.grantConsent({
    grantee: { kind: 'organization', id: 'Hospital1MSP' },
    scope: { categories: ['laboratory'], codes: [] },
    purposes: ['TREAT'],
    end: new Date(Date.now() + 86400_000).toISOString(),
  });
  const clinician = h.gw.clients.clinician;
  const requesterId = identityKey('Hospital1MSP', fabricX509Id(clinician.certificatePem));
  const answerKey = spkiBase64(generateEncryptionKeyPair('X25519').publicKeyPem);

  const asked = await h.gw.request(clinician, 'GET', `/fhir/Observation?patient=${patient.pseudonym}`, undefined, {
    'x-answer-key': answerKey,
    prefer: 'respond-async',
  });
  // The gateway found the consent and relayed the request to the agent.
  expect(asked.status).toBe(202);
  const location = new URL(asked.headers.get('content-location') as string).pathname;
  const requestId = location.split('/').at(-1) as string;

  // The revocation commits just before the gateway writes the pull's success event: the agent
  // has already checked the consent and sealed its answer.
  const ledger = h.gw.ledger;
  const recordAccess = ledger.recordAccess.bind(ledger);
  const written: GatewayAccessEvent[] = [];
  const spy = jest.spyOn(ledger, 'recordAccess').mockImplementation(async (event) => {
    written.push(event);
    if (event.outcome === 'success') await patient.agent.revokeConsent(consent.consentId);
    return recordAccess(event);
  });
  let synced: unknown;
  try {
    synced = await patient.agent.sync().catch((err: unknown) => err);
  } finally {
    spy.mockRestore();
  }
  // The agent did answer, so the success event was tried: the race was real.
  expect(written[0]?.outcome).toBe('success');

  const res = await h.gw.request(clinician, 'GET', location);
  expect(res.status).toBe(403);
  expect(res.json).toMatchObject({
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'forbidden', diagnostics: expect.stringMatching(/consent/) }],
  });
  expect(res.json).not.toHaveProperty('entry');

  const events = (await patient.agent['ledger'].listAccessEvents(patient.pseudonym)).filter(
    (e: AccessEventRecord) => e.action === 'pull' && e.requester.id === requesterId,
  );
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ outcome: 'denied', purpose: 'TREAT', consentIds: [] });

  // The agent's sealed answer is not kept for anyone to fetch.
  const db = new DatabaseSync(join(h.gw.config.dataDir, 'gateway.db'), { readOnly: true });
  try {
    expect(db.prepare('SELECT status, answer FROM pull_request WHERE request_id = ?').get(requestId)).toEqual({
      status: 'denied',
      answer: null,
    });
  } finally {
    db.close();
  }
  // The agent was told the outcome instead of a failure it would retry, and tells the patient
  // that nothing was read, not that the answer was.
  expect(synced).toMatchObject({ requests: [{ requestId, result: 'declined', elements: 0 }] });
  const told = (await patient.agent.notifications()).filter((n) => n.message.includes('asked for your records'));
  expect(told.at(-1)?.message).toMatch(/withdrawn .*nothing was read/);
  expect((await patient.agent.notifications()).some((n) => /read \d+ of your record elements/.test(n.message))).toBe(
    false,
  );
});
