import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openEnvelope, seal, type DeliveryPayload, type SealedEnvelope } from '@phr/common';
import {
  forNewPatient,
  isPatientBundleFile,
  loadBundle,
  mrnOf,
  smallBundle,
  syntheaFiles,
  TEST_KEYSTORE,
} from '@phr/test-support';
import { AccessLogContract } from '@phr/chaincode';
import { Agent } from '../src/agent';
import { DEFAULT_SCRYPT, openKeystore, readKeystore } from '../src/keys/keystore';
import { initAgent } from '../src/setup';
import { HttpsGatewayTransport } from '../src/transport/https-gateway-transport';
import { TransportError } from '../src/transport/transport-error';
import { AgentHarness, PASSPHRASE } from './support/agent-harness';

jest.setTimeout(120_000);

const patientFiles = syntheaFiles().filter(isPatientBundleFile);
let h: AgentHarness;

beforeAll(async () => {
  h = await AgentHarness.create();
});
afterAll(async () => {
  await h.close();
});

function bundleFor(tag: string, size = 12, file = patientFiles[0] as string) {
  return smallBundle(forNewPatient(loadBundle(file), tag), size);
}

function gatewayDb(): DatabaseSync {
  return new DatabaseSync(join(h.gw.config.dataDir, 'gateway.db'));
}

/** Rewrites the sealed mail of one delivery in the gateway's mailbox, as an attacker there could. */
function rewriteMail(deliveryId: string, change: (envelope: SealedEnvelope) => SealedEnvelope): void {
  const db = gatewayDb();
  try {
    const row = db.prepare('SELECT body FROM mailbox_message WHERE message_id = ?').get(deliveryId) as { body: string };
    const changed = change(JSON.parse(row.body) as SealedEnvelope);
    db.prepare('UPDATE mailbox_message SET body = ? WHERE message_id = ?').run(JSON.stringify(changed), deliveryId);
  } finally {
    db.close();
  }
}

describe('init', () => {
  it('makes keys on the device, enrolls from a CSR, registers the pseudonym, and seals the keys', async () => {
    const { agent, home, pseudonym } = await h.newAgent();
    const onLedger = await agent['ledger'].readPatient(pseudonym);
    expect(onLedger.encryptionPublicKey).toContain('BEGIN PUBLIC KEY');
    expect(onLedger.signingCertificate).toBe(agent.identity.certificatePem);

    const sealed = readKeystore(join(home, 'keystore.json'));
    expect(sealed.kdf).toMatchObject({ name: 'scrypt', N: TEST_KEYSTORE.kdf.N }); // the cost init was asked for
    const secrets = openKeystore(sealed, PASSPHRASE);
    expect(onLedger.encryptionPublicKey).toBe(secrets.encryption.publicKeyPem);
    const onDisk = readFileSync(join(home, 'keystore.json'), 'utf8') + readFileSync(join(home, 'state.json'), 'utf8');
    const keyBody = secrets.signingPrivateKeyPem.split('\n')[1] as string;
    expect(onDisk).not.toContain(keyBody);
    expect(onDisk).not.toContain('PRIVATE KEY');
    // The CA only ever saw a CSR.
    expect(h.doorman.csrs.at(-1)).toContain('CERTIFICATE REQUEST');
    expect(h.doorman.csrs.join('')).not.toContain(keyBody);

    const code = await agent.linkCode('hospital1');
    expect(code.code).toMatch(/^[A-Z0-9]{5}-[A-Z0-9]+$/);
    await agent.close();
  });

  it('refuses a wrong passphrase and a used enrollment secret', async () => {
    const { agent, home, enrollmentId } = await h.newAgent();
    await agent.close();
    await expect(Agent.open(home, 'not the passphrase', { connectors: h.connectors })).rejects.toMatchObject({
      code: 'WRONG_PASSPHRASE',
    });
    await expect(
      initAgent({
        home: join(h.dir, 'second-try'),
        profile: h.profile,
        passphrase: PASSPHRASE,
        enrollmentId,
        enrollmentSecret: 'secret-guess',
        connectors: h.connectors,
      }),
    ).rejects.toMatchObject({ code: 'REFUSED' });
    // Keys are sealed before enrolling; asked for nothing, init seals at the shipped cost.
    expect(readKeystore(join(h.dir, 'second-try', 'keystore.json')).kdf).toMatchObject(DEFAULT_SCRYPT);
  });
});

describe('inbox', () => {
  it('receives, verifies, stores and acknowledges a Synthea delivery; the ledger says complete', async () => {
    const { agent } = await h.newAgent();
    const bundle = bundleFor('inbox-1', 20);
    await h.link(agent, mrnOf(bundle));
    const deliveryId = await h.post(bundle);
    expect((await h.gw.ledger.readDelivery(deliveryId))?.status).toBe('waiting');

    const report = await agent.sync();
    expect(report.deliveries).toEqual([{ deliveryId, hospital: 'hospital1', result: 'stored' }]);
    expect((await h.gw.ledger.readDelivery(deliveryId))?.status).toBe('complete');

    const resources = await agent.records({ kind: 'resource' });
    expect(resources).toHaveLength(20);
    expect(new Set(resources.map((r) => r.element.resourceType))).toContain('Patient');
    const verify = await agent.verify();
    expect(verify.mismatches).toEqual([]);
    expect(verify.elementsChecked).toBe((await agent.deliveries())[0]?.elementCount);

    // Export by code: the resources whose coded elements carry it, as a FHIR collection Bundle.
    const coded = (await agent.records({ kind: 'coded' })).find((e) => e.element.resourceType !== 'Patient');
    if (!coded?.element.system || !coded.element.code) throw new Error('fixture has no coded element');
    const exported = await agent.exportBundle({ system: coded.element.system, code: coded.element.code });
    const entries = exported['entry'] as { resource: { resourceType: string; meta: { source: string } } }[];
    expect(exported).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.map((e) => e.resource.meta.source)).toContain(
      `urn:phr-ledger:delivery:${deliveryId}#${coded.segmentId}`,
    );

    // Nothing left in the mailbox; a second sync stores nothing again.
    expect((await agent.sync()).deliveries).toEqual([]);
    expect(await agent.notifications()).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'delivery-stored', ref: deliveryId })]),
    );
    await agent.close();
  });

  it('refuses mail altered in transit (bad signature): not stored, rejected on the ledger, logged, reported', async () => {
    const { agent, pseudonym } = await h.newAgent();
    const bundle = bundleFor('tamper-sig');
    await h.link(agent, mrnOf(bundle));
    const deliveryId = await h.post(bundle);
    rewriteMail(deliveryId, (env) => {
      const bytes = Buffer.from(env.ciphertext, 'base64');
      bytes[10] = (bytes[10] as number) ^ 0x01;
      return { ...env, ciphertext: bytes.toString('base64') };
    });

    const report = await agent.sync();
    expect(report.deliveries).toEqual([
      expect.objectContaining({ deliveryId, result: 'refused', reason: 'signature-invalid' }),
    ]);
    expect(await agent.records({})).toEqual([]);
    const record = await h.gw.ledger.readDelivery(deliveryId);
    expect(record).toMatchObject({ status: 'rejected', rejectionReason: 'signature-invalid' });
    const events = await agent['ledger'].listAccessEvents(pseudonym);
    expect(events).toEqual([
      expect.objectContaining({ action: 'delivery-failed', outcome: 'failed', references: [deliveryId] }),
    ]);
    expect(await agent.notifications()).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'delivery-refused', ref: deliveryId })]),
    );
    expect((await agent.sync()).deliveries).toEqual([]); // acknowledged in the mailbox: not offered again
    await agent.close();
  });

  it('refuses a delivery whose elements were changed and re-signed at the gateway (hash mismatch)', async () => {
    const { agent, home, pseudonym } = await h.newAgent();
    const bundle = bundleFor('tamper-hash');
    await h.link(agent, mrnOf(bundle));
    const deliveryId = await h.post(bundle);
    const key = openKeystore(readKeystore(join(home, 'keystore.json')), PASSPHRASE).encryption;
    rewriteMail(deliveryId, (env) => {
      const aad = { deliveryId, pseudonym, sender: 'Hospital1MSP' };
      const payload = JSON.parse(openEnvelope(env, key.privateKeyPem, aad).toString('utf8')) as DeliveryPayload;
      const element = payload.segments[1]?.elements[1]?.element;
      if (!element) throw new Error('fixture has no second segment element');
      element.value = 'altered';
      // The gateway's own identity signs it: only the ledger's root can tell.
      return seal(
        Buffer.from(JSON.stringify(payload)),
        { algorithm: key.algorithm, publicKey: key.publicKeyPem },
        aad,
        h.gw.clients.gatewayIdentity,
      );
    });
    const report = await agent.sync();
    expect(report.deliveries).toEqual([
      expect.objectContaining({ deliveryId, result: 'refused', reason: 'hash-mismatch' }),
    ]);
    expect(await agent.deliveries()).toEqual([]);
    expect(await h.gw.ledger.readDelivery(deliveryId)).toMatchObject({
      status: 'rejected',
      rejectionReason: 'hash-mismatch',
    });
    await agent.close();
  });

  it('an offline agent gets ten queued deliveries, in order, each exactly once', async () => {
    const { agent } = await h.newAgent();
    const base = forNewPatient(loadBundle(patientFiles[1] as string), 'offline');
    await h.link(agent, mrnOf(base));
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      // Ten sends (each its own Bundle.identifier, so each its own delivery) while the agent is away.
      ids.push(
        await h.post({ ...smallBundle(base, 2 + i), identifier: { system: 'urn:test:send', value: `offline-${i}` } }),
      );
    }
    // The first attempt dies halfway: the ledger goes away after the first store.
    const ledger = h.ledgers.at(-1) as (typeof h.ledgers)[number];
    let calls = 0;
    const realAck = ledger.acknowledgeDelivery.bind(ledger);
    ledger.acknowledgeDelivery = async (id: string) => {
      calls += 1;
      if (calls === 3) ledger.available = false;
      return realAck(id);
    };
    await expect(agent.sync()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    ledger.available = true;
    const report = await agent.sync();
    // Picked up where it stopped, in the order sent: the third was stored before the outage.
    expect(report.deliveries.map((d) => [d.deliveryId, d.result])).toEqual([
      [ids[2], 'already-stored'],
      ...ids.slice(3).map((id) => [id, 'stored']),
    ]);
    expect(new Set((await agent.deliveries()).map((d) => d.deliveryId))).toEqual(new Set(ids));
    expect(await agent.deliveries()).toHaveLength(10);
    const storedNotes = (await agent.notifications()).filter((n) => n.kind === 'delivery-stored');
    expect(storedNotes.map((n) => n.ref).sort()).toEqual([...ids].sort());
    for (const id of ids) {
      const history = JSON.parse(
        await h.gw.ledger.world.invoke(h.gw.ledger.commitments, 'DeliveryHistory', [id], {
          mspId: 'Hospital1MSP',
          certificatePem: h.gw.clients.gatewayIdentity.certificatePem,
        }),
      ) as { status: string }[];
      expect(history.map((e) => e.status)).toEqual(['complete', 'waiting']); // newest first, as Fabric gives it
    }
    expect((await agent.sync()).deliveries).toEqual([]);
    await agent.close();
  });
});

describe('vault and verify', () => {
  it('names every element whose vault row was altered on disk', async () => {
    const { agent, home } = await h.newAgent();
    const bundle = bundleFor('vault-alter');
    await h.link(agent, mrnOf(bundle));
    await h.post(bundle);
    await agent.sync();
    await agent.close();

    const db = new DatabaseSync(join(home, 'vault.db'));
    const rows = db.prepare('SELECT element_id, sealed FROM elements ORDER BY element_id LIMIT 2').all() as {
      element_id: string;
      sealed: Uint8Array | string;
    }[];
    const [a, b] = rows as [(typeof rows)[0], (typeof rows)[0]];
    // Swap two rows' contents: each decrypts only under its own id.
    db.prepare('UPDATE elements SET sealed = ? WHERE element_id = ?').run(b.sealed, a.element_id);
    db.prepare('UPDATE elements SET sealed = ? WHERE element_id = ?').run(a.sealed, b.element_id);
    db.close();

    const reopened = await h.open(home);
    const report = await reopened.verify();
    expect(report.mismatches.map((m) => m.elementId).sort()).toEqual([a.element_id, b.element_id].sort());
    await reopened.close();
  });
});

describe('two patients side by side', () => {
  it('never see each other’s records or mail', async () => {
    const one = await h.newAgent();
    const two = await h.newAgent();
    const b1 = bundleFor('side-1', 8, patientFiles[2]);
    const b2 = bundleFor('side-2', 8, patientFiles[3]);
    await h.link(one.agent, mrnOf(b1));
    await h.link(two.agent, mrnOf(b2));
    const d1 = await h.post(b1);
    const d2 = await h.post(b2);
    await one.agent.sync();
    await two.agent.sync();
    expect((await one.agent.deliveries()).map((d) => d.deliveryId)).toEqual([d1]);
    expect((await two.agent.deliveries()).map((d) => d.deliveryId)).toEqual([d2]);

    // Patient two's certificate cannot open patient one's mailbox.
    const snoop = new HttpsGatewayTransport({
      baseUrl: h.gw.url,
      pseudonym: one.pseudonym,
      caPem: h.gw.hospitalCa.certificatePem,
      certificatePem: two.agent.identity.certificatePem,
      privateKeyPem: two.agent.identity.privateKeyPem,
    });
    await expect(snoop.fetchMail(0, 0)).rejects.toBeInstanceOf(TransportError);
    await expect(snoop.fetchMail(0, 0)).rejects.toMatchObject({ status: 403 });
    await snoop.close();
    await one.agent.close();
    await two.agent.close();
  });
});

describe('consent and access log', () => {
  it('grants, lists and revokes consents signed by the patient; access by others raises a notification', async () => {
    const { agent, pseudonym } = await h.newAgent();
    const granted = await agent.grantConsent({
      grantee: { kind: 'organization', id: 'Hospital2MSP' },
      scope: { categories: ['laboratory'], codes: [{ system: 'http://loinc.org', code: '4548-4' }] },
      purposes: ['TREAT'],
      end: new Date(Date.now() + 86400_000).toISOString(),
    });
    expect(granted).toMatchObject({ status: 'active', pseudonym });
    expect((await agent.consents()).map((c) => c.consentId)).toEqual([granted.consentId]);
    const revoked = await agent.revokeConsent(granted.consentId);
    expect(revoked.status).toBe('revoked');
    expect((await agent.consents())[0]?.status).toBe('revoked');

    await expect(
      agent.grantConsent({
        grantee: { kind: 'organization', id: 'Hospital2MSP' },
        scope: { categories: [], codes: [] },
        purposes: ['TREAT'],
        end: '2099-01-01',
      }),
    ).rejects.toMatchObject({ field: 'scope' });

    // A hospital gateway logs a denied pull for this patient: the agent notices on its next sync.
    await h.gw.ledger.world.invoke(
      new AccessLogContract(),
      'RecordAccess',
      [
        JSON.stringify({
          eventId: `evt-${Date.now()}`,
          pseudonym,
          action: 'pull',
          outcome: 'denied',
          purpose: 'TREAT',
          scope: { categories: ['laboratory'], codes: [] },
        }),
      ],
      { mspId: 'Hospital1MSP', certificatePem: h.gw.clients.gatewayIdentity.certificatePem },
    );
    const report = await agent.sync();
    expect(report.newAccessEvents).toBe(1);
    const log = await agent.accessLog();
    expect(log[0]).toMatchObject({ action: 'pull', outcome: 'denied', organization: 'Hospital1MSP' });
    expect(log[0]?.summary).toMatch(
      /Hospital1MSP \(hospital-gateway\) read your records: laboratory records for treatment — denied\./,
    );
    const notes = await agent.notifications({ unreadOnly: true });
    expect(notes.filter((n) => n.kind === 'access')).toHaveLength(1);
    // The next sync reads the log only from the newest event it has seen.
    const reads = jest.spyOn(agent['ledger'], 'listAccessEvents');
    expect((await agent.sync()).newAccessEvents).toBe(0);
    expect(reads).toHaveBeenCalledWith(pseudonym, log[0]?.at);
    await agent.close();
  });
});
