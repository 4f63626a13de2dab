import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'undici';
import { Client } from 'fhir-kit-client';
import {
  DeliveryTree,
  elementLeafHash,
  generateEncryptionKeyPair,
  newPseudonym,
  openEnvelope,
  type DeliveryHistoryEntry,
  type DeliveryPayload,
  type DeliveryRecord,
  type SealedEnvelope,
} from '@phr/common';
import { readReceipt, type DeliveryReceipt } from '@phr/gateway';
import { gatewayUrl, mutualTls, script, state, until } from './harness';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'synthea-r4');
async function call(
  agent: Agent,
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method,
    headers: body !== undefined ? { 'content-type': 'application/json' } : {},
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    dispatcher: agent,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

function receiptOf(bundle: unknown): DeliveryReceipt {
  const receipt = readReceipt(bundle);
  if (!receipt) throw new Error('the response carries no delivery receipt');
  return receipt;
}

describe('FHIR gateway on the network', () => {
  const agents: Agent[] = [];
  const keys = generateEncryptionKeyPair('X25519');
  const pseudonym = newPseudonym();
  let ehr: Agent;
  let admin: Agent;
  let patient: Agent;

  beforeAll(async () => {
    await script('enroll.sh', 'patients', 'carol', 'patient');
    const ledger = state().connect('patients', 'carol');
    await ledger.submit('PatientRegistry', 'Register', [pseudonym, keys.publicKeyPem, 'X25519']);
    ledger.close();
    ehr = mutualTls('hospital1', 'ehr', 'hospital1');
    admin = mutualTls('hospital1', 'orgadmin', 'hospital1');
    patient = mutualTls('patients', 'carol', 'hospital1');
    agents.push(ehr, admin, patient);
  });

  afterAll(async () => {
    for (const a of agents) await a.close();
  });

  const bundleFile = 'Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json';
  const bundle = () =>
    JSON.parse(readFileSync(join(FIXTURES, bundleFile), 'utf8')) as {
      entry: {
        resource: {
          resourceType: string;
          identifier?: { value: string; system: string; type?: { coding?: { code: string }[] } }[];
        };
      }[];
    };
  const mrn = () =>
    bundle()
      .entry.find((e) => e.resource.resourceType === 'Patient')!
      .resource.identifier!.find((i) => i.type?.coding?.some((c) => c.code === 'MR'))!;

  it("links the MRN with the patient's one-time code, takes a Synthea bundle and commits one root on the ledger", async () => {
    const base = gatewayUrl('hospital1');
    const code = await call(patient, 'POST', `${base}/identity/link-codes`, { pseudonym });
    expect(code.status).toBe(201);
    const link = await call(admin, 'POST', `${base}/identity/links`, {
      identifier: { system: mrn().system, value: mrn().value },
      code: (code.json as { code: string }).code,
    });
    expect(link.status).toBe(201);

    const fhir = new Client({ baseUrl: `${base}/fhir`, requestOptions: { dispatcher: ehr } });
    const meta = (await fhir.capabilityStatement()) as unknown as { fhirVersion: string };
    expect(meta.fhirVersion).toBe('4.0.1');
    const response = await fhir.transaction({ body: bundle() as never });
    const receipt = receiptOf(response);
    const committed = await until('commit', async () => {
      const r = await call(ehr, 'GET', `${base}/deliveries/${receipt.deliveryId}`);
      return (r.json as DeliveryReceipt).status === 'committed' ? (r.json as DeliveryReceipt) : undefined;
    });
    expect(committed.transactionId).toBe(receipt.transactionId);

    // The other hospital's peer holds the same commitment: no health data, only the root and counts.
    const h2 = state().connect('hospital2', 'gateway');
    const onLedger = JSON.parse(
      await h2.evaluate('Commitments', 'ReadDelivery', [receipt.deliveryId]),
    ) as DeliveryRecord;
    const history = JSON.parse(
      await h2.evaluate('Commitments', 'DeliveryHistory', [receipt.deliveryId]),
    ) as DeliveryHistoryEntry[];
    h2.close();
    expect(onLedger).toMatchObject({
      pseudonym,
      merkleRoot: receipt.merkleRoot,
      sender: 'Hospital1MSP',
      status: 'waiting',
    });
    expect(history.map((e) => e.txId)).toEqual([receipt.transactionId]);

    // The patient's agent fetches the sealed delivery and recomputes the root the ledger holds.
    const mail = await call(patient, 'GET', `${base}/mailbox/${pseudonym}/messages`);
    expect(mail.status).toBe(200);
    const message = (mail.json as { messages: { messageId: string; body: string }[] }).messages.find(
      (m) => m.messageId === receipt.deliveryId,
    )!;
    const payload = JSON.parse(
      openEnvelope(JSON.parse(message.body) as SealedEnvelope, keys.privateKeyPem, {
        deliveryId: receipt.deliveryId,
        pseudonym,
        sender: 'Hospital1MSP',
      }).toString('utf8'),
    ) as DeliveryPayload;
    const root = new DeliveryTree(
      payload.segments.map((s) => s.elements.map((e) => elementLeafHash(e.element, e.salt))),
    ).root;
    expect(root).toBe(onLedger.merkleRoot);
  });

  it('keeps accepting while the orderers are down and commits exactly once when they return', async () => {
    const base = gatewayUrl('hospital1');
    const s = state();
    // Every orderer this engine runs (all three Raft nodes on Fabric; the one embedded orderer).
    const pidFiles = s.topology.orderers.nodes
      .map((n) => join(s.dir, 'pids', `${n.name}.pid`))
      .filter((f) => existsSync(f));
    expect(pidFiles.length).toBeGreaterThan(0);
    for (const f of pidFiles) process.kill(-Number(readFileSync(f, 'utf8')), 'SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));

    const b = bundle();
    (b.entry[1] as unknown as { resource: { id: string } }).resource.id = 'outage-copy'; // new content: a new delivery
    const res = await call(ehr, 'POST', `${base}/fhir`, b);
    expect(res.status).toBe(200);
    const receipt = receiptOf(res.json);
    expect(receipt.status).toBe('queued');
    await new Promise((r) => setTimeout(r, 3000));
    expect(((await call(ehr, 'GET', `${base}/deliveries/${receipt.deliveryId}`)).json as DeliveryReceipt).status).toBe(
      'queued',
    );

    await script('network.sh', 'up');
    await until(
      'commit after the outage',
      async () => {
        const r = await call(ehr, 'GET', `${base}/deliveries/${receipt.deliveryId}`);
        return (r.json as DeliveryReceipt).status === 'committed' ? true : undefined;
      },
      120_000,
    );
    const h1 = state().connect('hospital1', 'gateway');
    const history = JSON.parse(
      await h1.evaluate('Commitments', 'DeliveryHistory', [receipt.deliveryId]),
    ) as DeliveryHistoryEntry[];
    h1.close();
    expect(history).toHaveLength(1);
  });
});
