import { fabricX509Id, generateEncryptionKeyPair, identityKey, PATIENT_SIGNATURE_EXTENSION } from '@phr/common';
import { forNewPatient, isPatientBundleFile, loadBundle, mrnOf, spkiBase64, syntheaFiles } from '@phr/test-support';
import type { Issued } from '@phr/test-support';
import type { Agent } from '../src/agent';
import { AgentHarness } from './support/agent-harness';

jest.setTimeout(120_000);

// Issue 5: `POST /fhir/Consent` accepts a consent the patient signed; anyone may relay it.
let h: AgentHarness;
let patient: { agent: Agent; pseudonym: string };

beforeAll(async () => {
  h = await AgentHarness.create();
  const bundle = forNewPatient(loadBundle(syntheaFiles().filter(isPatientBundleFile)[0] as string), 'signed');
  patient = await h.newAgent();
  await h.link(patient.agent, mrnOf(bundle));
  await h.post(bundle);
  expect((await patient.agent.sync()).deliveries[0]?.result).toBe('stored');
});
afterAll(async () => {
  await patient.agent.close();
  await h.close();
});

const postConsent = (who: Issued, resource: unknown) =>
  h.gw.request(who, 'POST', '/fhir/Consent', resource, { 'content-type': 'application/fhir+json' });

/** A clinician's search, answered by the agent (async), as in pull.test.ts. */
async function pullAs(who: Issued) {
  const key = generateEncryptionKeyPair('X25519');
  const first = await h.gw.request(who, 'GET', `/fhir/Observation?patient=${patient.pseudonym}`, undefined, {
    'x-answer-key': spkiBase64(key.publicKeyPem),
    prefer: 'respond-async',
  });
  if (first.status !== 202) return first;
  await patient.agent.sync();
  return h.gw.request(who, 'GET', new URL(first.headers.get('content-location') as string).pathname);
}

describe('patient-signed consent relayed through POST /fhir/Consent', () => {
  const terms = () => ({
    grantee: { kind: 'organization' as const, id: 'Hospital1MSP' },
    scope: { categories: ['laboratory'], codes: [] },
    purposes: ['TREAT' as const],
    end: new Date(Date.now() + 86400_000).toISOString(),
  });

  it('a tampered consent (scope widened after signing) is refused with 403 and nothing is stored', async () => {
    const signed = patient.agent.signedConsent(terms());
    const tampered = {
      ...signed,
      provision: {
        ...signed.provision,
        class: [...(signed.provision?.class ?? []), { ...signed.provision?.class?.[0], code: 'mental-health' }],
      },
    };
    const res = await postConsent(h.gw.clients.ehr, tampered);
    expect([res.status, (res.json as { resourceType: string }).resourceType]).toEqual([403, 'OperationOutcome']);
    expect(res.text).toMatch(/not signed by the registered signing key/);
    expect(await patient.agent.consents()).toEqual([]);
  });

  it('a malformed consent is a 400 naming the FHIRPath', async () => {
    const signed = patient.agent.signedConsent(terms());
    const res = await postConsent(h.gw.clients.ehr, { ...signed, extension: [] });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ issue: [{ expression: ['Consent.extension'] }] });
  });

  it('the ledger unreachable: 503, retry later', async () => {
    h.gw.ledger.available = false;
    try {
      expect((await postConsent(h.gw.clients.ehr, patient.agent.signedConsent(terms()))).status).toBe(503);
    } finally {
      h.gw.ledger.available = true;
    }
  });

  it('the agent signs, an EHR relays: 201, on the ledger, and a pull is then permitted', async () => {
    const clinician = h.gw.clients.clinician;
    expect((await pullAs(clinician)).status).toBe(403);

    const signed = patient.agent.signedConsent(terms());
    expect(signed.extension).toEqual([{ url: PATIENT_SIGNATURE_EXTENSION, valueBase64Binary: expect.any(String) }]);
    const consentId = signed.identifier?.[0]?.value as string;
    const res = await postConsent(h.gw.clients.ehr, signed);
    expect([res.status, res.status === 201 ? '' : res.text]).toEqual([201, '']);
    expect(res.headers.get('location')).toMatch(new RegExp(`/fhir/Consent/${consentId}$`));
    expect(res.json).toMatchObject({ resourceType: 'Consent', id: consentId, status: 'active' });

    const onLedger = await patient.agent.consents();
    expect(onLedger).toHaveLength(1);
    expect(onLedger[0]).toMatchObject({
      consentId,
      pseudonym: patient.pseudonym,
      grantee: { kind: 'organization', id: 'Hospital1MSP' },
      relayedBy: 'Hospital1MSP',
      status: 'active',
    });

    // Relayed again (a retry): the same consent, nothing new.
    expect((await postConsent(h.gw.clients.clinician, signed)).status).toBe(201);
    expect(await patient.agent.consents()).toHaveLength(1);

    const pulled = await pullAs(clinician);
    expect([pulled.status, pulled.status === 200 ? '' : pulled.text]).toEqual([200, '']);
    const events = await patient.agent['ledger'].listAccessEvents(patient.pseudonym);
    expect(events.at(-1)).toMatchObject({
      action: 'pull',
      outcome: 'success',
      consentIds: [consentId],
      requester: { id: identityKey('Hospital1MSP', fabricX509Id(clinician.certificatePem)) },
    });
  });
});
