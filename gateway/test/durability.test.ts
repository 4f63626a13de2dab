import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readReceipt } from '../src/ingest/bundle-response';
import { GatewayHarness } from '@phr/test-support/gateway';
import { forNewPatient, isPatientBundleFile, loadBundle, mrnOf, smallBundle, syntheaFiles } from '@phr/test-support';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(90_000);

const post = (h: GatewayHarness, b: unknown) =>
  h.request(h.clients.ehr, 'POST', '/fhir', b, { 'content-type': 'application/fhir+json' });

interface Mail {
  messages: { sequence: number; messageId: string; kind: string; body: string }[];
}

describe('gateway durability: restarts, ledger outages, privacy', () => {
  let h: GatewayHarness;
  const sources = syntheaFiles().filter(isPatientBundleFile);
  beforeAll(async () => {
    h = await GatewayHarness.create();
  });
  afterAll(async () => {
    await h.close();
  });

  it('keeps unacknowledged mail across a gateway restart, in order, until the agent acknowledges it', async () => {
    const patient = await h.newPatient('restart');
    const bundles = [0, 1, 2].map((i) => forNewPatient(smallBundle(loadBundle(sources[4]!), 5 + i), 'restart'));
    await h.link(patient, mrnOf(bundles[0]!));
    const ids: string[] = [];
    for (const b of bundles) ids.push(readReceipt((await post(h, b)).json)!.deliveryId);
    await h.restart();
    const mail = await h.request(patient.identity, 'GET', `/mailbox/${patient.pseudonym}/messages`);
    expect(mail.status).toBe(200);
    expect((mail.json as Mail).messages.map((m) => m.messageId)).toEqual(ids);
    const first = (mail.json as Mail).messages[0]!;
    expect(
      (await h.request(patient.identity, 'POST', `/mailbox/${patient.pseudonym}/messages/${first.messageId}/ack`))
        .status,
    ).toBe(200);
    expect(
      (await h.request(patient.identity, 'POST', `/mailbox/${patient.pseudonym}/messages/${first.messageId}/ack`))
        .status,
    ).toBe(200);
    await h.restart();
    const again = await h.request(patient.identity, 'GET', `/mailbox/${patient.pseudonym}/messages`);
    expect((again.json as Mail).messages.map((m) => m.messageId)).toEqual(ids.slice(1));
    await h.gateway.outbox.idle();
    for (const id of ids) expect(h.gateway.deliveries.get(id)?.status).toBe('committed');
  });

  it('accepts while the ledger is down, then commits every queued delivery exactly once', async () => {
    const patient = await h.newPatient('outage');
    const bundles = [0, 1, 2, 3].map((i) => forNewPatient(smallBundle(loadBundle(sources[5]!), 4 + i), 'outage'));
    await h.link(patient, mrnOf(bundles[0]!));
    await h.gateway.outbox.idle();
    h.ledger.available = false;
    const submissions = h.ledger.submissions;
    const sizes = h.ledger.transactionSizes.length;
    const receipts = [];
    for (const b of bundles) {
      const res = await post(h, b);
      expect(res.status).toBe(200);
      receipts.push(readReceipt(res.json)!);
    }
    expect(receipts.every((r) => r.status === 'queued')).toBe(true);
    await new Promise((r) => setTimeout(r, 600)); // several retry rounds fail
    expect(h.gateway.deliveries.counts().queued).toBe(4);
    // a restart during the outage keeps the outbox
    await h.restart();
    expect(h.gateway.deliveries.counts().queued).toBe(4);
    h.ledger.available = true;
    await h.gateway.outbox.idle();
    // What queued up while the ledger was away may share transactions: every delivery in exactly one.
    const committedIn = h.ledger.transactionSizes.slice(sizes);
    expect(committedIn.reduce((a, b) => a + b, 0)).toBe(4);
    expect(h.ledger.submissions).toBe(submissions + committedIn.length);
    for (const r of receipts) {
      const stored = h.gateway.deliveries.get(r.deliveryId)!;
      expect(stored.status).toBe('committed');
      expect(stored.transactionId).toBe(r.transactionId);
      const answer = await h.request(h.clients.ehr, 'GET', `/deliveries/${r.deliveryId}`);
      expect((answer.json as { status: string }).status).toBe('committed');
    }
    // resubmitting after the outage changes nothing
    expect(readReceipt((await post(h, bundles[0])).json)!.deliveryId).toBe(receipts[0]!.deliveryId);
    await h.gateway.outbox.idle();
    expect(h.ledger.submissions).toBe(submissions + committedIn.length);
  });

  it('recovers a commit whose answer was lost: the ledger already has it, so it is not sent twice', async () => {
    const patient = await h.newPatient('lost-answer');
    const bundle = forNewPatient(smallBundle(loadBundle(sources[6]!), 6), 'lost');
    await h.link(patient, mrnOf(bundle));
    const realSubmit = h.ledger.submit.bind(h.ledger);
    let dropped = false;
    h.ledger.submit = async (p, c) => {
      const result = await realSubmit(p, c);
      if (!dropped) {
        dropped = true;
        throw Object.assign(new Error('connection reset after commit'), { name: 'Error' });
      }
      return result;
    };
    const receipt = readReceipt((await post(h, bundle)).json)!;
    await h.gateway.outbox.idle();
    h.ledger.submit = realSubmit;
    expect(dropped).toBe(true);
    expect(h.gateway.deliveries.get(receipt.deliveryId)?.status).toBe('committed');
  });

  it('never lets an MRN, a name or a health value reach the ledger, the logs, wake-ups or the database in the clear', async () => {
    const canary = {
      family: 'Qzvkanaryfamily',
      given: 'Wqxcanarygiven',
      mrn: 'MRN-CANARY-77731',
      value: 987.654321,
      text: 'canary-free-text-5521',
    };
    const bundle = forNewPatient(smallBundle(loadBundle(sources[7]!), 10), 'canary');
    const patientEntry = bundle.entry.find((e) => e.resource.resourceType === 'Patient')!.resource as unknown as {
      name: { family: string; given: string[] }[];
      identifier: { value: string; type?: { coding?: { code?: string }[] } }[];
    };
    patientEntry.name = [{ family: canary.family, given: [canary.given] }];
    patientEntry.identifier.find((i) => i.type?.coding?.some((c) => c.code === 'MR'))!.value = canary.mrn;
    const obs = bundle.entry.find(
      (e) => e.resource.resourceType === 'Observation' && (e.resource as { valueQuantity?: unknown }).valueQuantity,
    )!.resource as unknown as {
      valueQuantity: { value: number };
      note?: { text: string }[];
    };
    obs.valueQuantity.value = canary.value;
    obs.note = [{ text: canary.text }];

    const patient = await h.newPatient('canary');
    await h.link(patient, mrnOf(bundle));
    const events: string[] = [];
    h.gateway.mailbox.onEnqueued((e) => events.push(JSON.stringify(e)));
    const sse = await fetch(`${h.url}/mailbox/${patient.pseudonym}/events`, {
      dispatcher: h.dispatcher(patient.identity),
    });
    const reader = sse.body!.getReader();
    const res = await post(h, bundle);
    expect(res.status).toBe(200);
    await h.gateway.outbox.idle();
    let wakeup = '';
    const deadline = Date.now() + 5000;
    while (!wakeup.includes('event: mail') && Date.now() < deadline) {
      const chunk = await Promise.race([
        reader.read(),
        new Promise<never>((_, no) => setTimeout(() => no(new Error('no wake-up')), 5000)),
      ]);
      wakeup += Buffer.from(chunk.value ?? new Uint8Array()).toString('utf8');
    }
    await reader.cancel();
    expect(wakeup).toMatch(/event: mail/);

    const ledgerState = [...h.ledger.world.state.values()].map((v) => v.toString('utf8')).join('\n');
    const logs = readFileSync(h.logFile, 'utf8');
    const database = Buffer.concat(
      ['gateway.db', 'gateway.db-wal'].map((f) => {
        try {
          return readFileSync(join(h.config.dataDir, f));
        } catch {
          return Buffer.alloc(0);
        }
      }),
    ).toString('latin1');
    expect(ledgerState).toContain(patient.pseudonym); // the check looks at the right place
    expect(logs).toContain('delivery accepted');
    for (const secret of [canary.family, canary.given, canary.mrn, String(canary.value), canary.text]) {
      expect({ secret, where: 'ledger', found: ledgerState.includes(secret) }).toEqual({
        secret,
        where: 'ledger',
        found: false,
      });
      expect({ secret, where: 'logs', found: logs.includes(secret) }).toEqual({ secret, where: 'logs', found: false });
      expect({ secret, where: 'wake-up', found: (wakeup + events.join()).includes(secret) }).toEqual({
        secret,
        where: 'wake-up',
        found: false,
      });
    }
    // the standardized DB keeps coded values by design; names, MRNs and free text stay out of it
    for (const secret of [canary.family, canary.given, canary.mrn, canary.text]) {
      expect({ secret, where: 'database', found: database.includes(secret) }).toEqual({
        secret,
        where: 'database',
        found: false,
      });
    }
  });
});
