/**
 * FHIR makes a decimal's precision significant: `7.10` is not `7.1`. A value posted by the EHR
 * must be what the ledger's commitment covers, what the patient's device stores and exports, and
 * what a requester receives and verifies — as written, from the post to the verified answer.
 */
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import {
  canonicalJson,
  elementLeafHash,
  fabricX509Id,
  generateEncryptionKeyPair,
  identityKey,
  JsonNumber,
  verifyElementProof,
} from '@phr/common';
import { readAnswerBundle, verifyAnswer } from '@phr/requester';
import { forNewPatient, isPatientBundleFile, loadBundle, mrnOf, smallBundle, syntheaFiles } from '@phr/test-support';
import type { BundleEntry } from '@phr/test-support';
import type { Agent } from '../src/agent';
import { AgentHarness } from './support/agent-harness';

jest.setTimeout(120_000);

const SIXTY = '123456789012345678901234567890123456789012345678901234567890';
/** Each value as the EHR writes it, under its own LOINC code so that each can be found again. */
const VALUES: [code: string, text: string][] = [
  ['2345-7', '7.10'],
  ['2339-0', '0.000'],
  ['718-7', '1e2'],
  ['4548-4', '-0.0'],
  ['2093-3', SIXTY],
];

let h: AgentHarness;
let agent: Agent;
let pseudonym: string;
let deliveryId: string;
let patientRef: string;

function observation(code: string, text: string): BundleEntry {
  const id = `obs-${code}`;
  return {
    fullUrl: `urn:uuid:00000000-0000-4000-8000-${code.replace('-', '').padStart(12, '0')}`,
    resource: {
      resourceType: 'Observation',
      id,
      status: 'final',
      category: [
        {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }],
        },
      ],
      code: { coding: [{ system: 'http://loinc.org', code, display: `test ${code}` }] },
      subject: { reference: patientRef },
      effectiveDateTime: '2026-11-30T08:00:00Z',
      // JSON.stringify writes a JsonNumber as its text: the body carries 7.10, not 7.1.
      valueQuantity: { value: new JsonNumber(text), unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
    },
    request: { method: 'POST', url: 'Observation' },
  };
}

beforeAll(async () => {
  h = await AgentHarness.create();
  const file = syntheaFiles().filter(isPatientBundleFile)[0] as string;
  const bundle = smallBundle(forNewPatient(loadBundle(file), 'decimals'), 3);
  patientRef = bundle.entry.find((e) => e.resource.resourceType === 'Patient')?.fullUrl as string;
  bundle.entry.push(...VALUES.map(([code, text]) => observation(code, text)));
  const created = await h.newAgent();
  agent = created.agent;
  pseudonym = created.pseudonym;
  await h.link(agent, mrnOf(bundle));
  deliveryId = await h.post(bundle);
  const report = await agent.sync();
  expect(report.deliveries.map((d) => d.result)).toEqual(['stored']);
});

afterAll(async () => {
  await agent.close();
  await h.close();
});

describe('a decimal keeps its precision, end to end', () => {
  it("the hospital's standardized database keeps each value as written", () => {
    const db = new DatabaseSync(join(h.gw.dir, 'data', 'gateway.db'), { readOnly: true });
    try {
      for (const [code, text] of VALUES) {
        const row = db
          .prepare('SELECT value_text, value_type FROM std_element WHERE delivery_id = ? AND code = ?')
          .get(deliveryId, code) as { value_text: string; value_type: string } | undefined;
        expect(row).toEqual({ value_text: text, value_type: 'number' });
      }
    } finally {
      db.close();
    }
  });

  it("the patient's device verified each value against the ledger, and its export writes it as sent", async () => {
    const report = await agent.verify();
    expect(report.mismatches).toEqual([]);
    expect(report.elementsChecked).toBeGreaterThan(VALUES.length);
    const exported = JSON.stringify(await agent.exportBundle({ resourceType: 'Observation' }));
    for (const [, text] of VALUES) expect(exported).toContain(`"value":${text}}`);
    expect(exported).not.toMatch(/"value":7\.1[,}]/);
    expect(exported).not.toContain('e+59');
  });

  it('the ledger commits to the value as written: the same element with 7.1 does not lead to the root', async () => {
    const [coded] = await agent['vault'].search({ kind: 'coded', system: 'http://loinc.org', code: '2345-7' });
    if (!coded) throw new Error('no coded element for 2345-7');
    const element = coded.element;
    expect(canonicalJson(element)).toContain('"value":7.10');
    const asSent = elementLeafHash(element, coded.salt);
    const altered = elementLeafHash({ ...element, value: 7.1 }, coded.salt);
    expect(asSent).not.toBe(altered);
    // The agent stored it only because the proof from this leaf reaches the ledger's root.
    const root = (await h.gw.ledger.readDelivery(deliveryId))?.merkleRoot as string;
    expect(verifyElementProof(element, coded.salt, coded.proof, root)).toBe(true);
    expect(verifyElementProof({ ...element, value: 7.1 }, coded.salt, coded.proof, root)).toBe(false);
  });

  it("the gateway's $verify confirms the patient's copy with 7.10, and refuses it with 7.1", async () => {
    const resources = await agent['vault'].search({ kind: 'resource', resourceType: 'Observation' });
    const held = resources.find((r) => JSON.stringify(r.element.resource).includes('"2345-7"'));
    if (!held?.element.resource) throw new Error('no Observation 2345-7 in the vault');
    const verify = (resource: unknown) =>
      h.gw.request(
        h.gw.clients.clinician,
        'POST',
        '/fhir/$verify',
        {
          resourceType: 'Parameters',
          parameter: [
            { name: 'deliveryId', valueString: deliveryId },
            { name: 'segmentId', valueString: held.segmentId },
            { name: 'resource', resource },
            { name: 'salt', valueString: held.salt },
            { name: 'proof', valueString: JSON.stringify(held.proof) },
          ],
        },
        { 'content-type': 'application/fhir+json' },
      );
    const result = (res: { json: unknown }) =>
      (res.json as { parameter?: { name: string; valueBoolean?: boolean }[] }).parameter?.find(
        (p) => p.name === 'result',
      )?.valueBoolean;
    const asHeld = held.element.resource as { valueQuantity: Record<string, unknown> };
    expect(JSON.stringify(asHeld)).toContain('"value":7.10');
    expect(result(await verify(asHeld))).toBe(true);
    expect(result(await verify({ ...asHeld, valueQuantity: { ...asHeld.valueQuantity, value: 7.1 } }))).toBe(false);
  });

  it('a requester receives each value as written and verifies it against the ledger', async () => {
    await agent.grantConsent({
      grantee: { kind: 'organization', id: 'Hospital1MSP' },
      scope: { categories: ['laboratory'], codes: [] },
      purposes: ['TREAT'],
      end: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const who = h.gw.clients.clinician;
    const key = generateEncryptionKeyPair('X25519');
    const spki = key.publicKeyPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    const codes = VALUES.map(([code]) => `http://loinc.org|${code}`).join(',');
    const first = await h.gw.request(
      who,
      'GET',
      `/fhir/Observation?patient=${pseudonym}&code=${encodeURIComponent(codes)}`,
      undefined,
      {
        'x-answer-key': spki,
        prefer: 'respond-async',
      },
    );
    expect(first.status).toBe(202);
    await agent.sync();
    const res = await h.gw.request(who, 'GET', new URL(first.headers.get('content-location') as string).pathname);
    expect(res.status).toBe(200);
    const { receipt, envelope } = readAnswerBundle(res.json);
    const verified = await verifyAnswer(
      envelope,
      {
        requestId: receipt.requestId,
        pseudonym,
        requesterId: identityKey('Hospital1MSP', fabricX509Id(who.certificatePem)),
        answerPrivateKeyPem: key.privateKeyPem,
      },
      h.gw.ledger,
    );
    const got = new Map(verified.elements.map((e) => [e.element.code, e.element.value]));
    for (const [code, text] of VALUES) {
      expect(got.get(code)).toBeInstanceOf(JsonNumber);
      expect(String(got.get(code))).toBe(text);
    }
  });
});
