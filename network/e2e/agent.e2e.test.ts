import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Agent as Dispatcher } from 'undici';
import { Client } from 'fhir-kit-client';
import type { SealedEnvelope } from '@phr/common';
import { Agent, initAgent, loadProfile } from '@phr/mobile-agent';
import { startUi } from '@phr/mobile-agent/ui';
import { convertCcda } from '@phr/gateway';
import { readReceipt } from '@phr/gateway';
import { AgentUiPage, launchChromium, TEST_KEYSTORE } from '@phr/test-support';
import {
  gatewayUrl,
  mrnOf,
  mutualTls,
  patientVariant,
  ROOT,
  script,
  state,
  syncUntilStored,
  until,
  type SyntheaBundle,
} from './harness';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'synthea-r4');
const CCDA = join(__dirname, '..', '..', 'fixtures', 'ccda-examples');
const PASSPHRASE = 'e2e passphrase, long enough';
const load = (file: string) => JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as SyntheaBundle;
const FILES = ['Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json'];

/** The same patient's bundle with a fresh MRN, cut to the Patient, its context and n observations. */
function variant(tag: string, n: number): SyntheaBundle {
  return patientVariant(load(FILES[0] as string), tag, n);
}

describe("patients' agents on the real network", () => {
  let profileFile: string;
  let ehr: Client;
  const dispatchers: Dispatcher[] = [];
  const homes: string[] = [];

  function tls(org: string, identity: string): Dispatcher {
    const d = mutualTls(org, identity, 'hospital1');
    dispatchers.push(d);
    return d;
  }

  /** The doorman registers, the device enrolls with its own CSR and registers on the ledger. */
  async function newPatient(name: string): Promise<{ agent: Agent; home: string; pseudonym: string }> {
    const reg = JSON.parse(await script('register-patient.sh')) as { enrollmentId: string; enrollmentSecret: string };
    const home = join(state().dir, 'agents', name);
    homes.push(home);
    const { pseudonym } = await initAgent({
      home,
      profile: loadProfile(profileFile),
      passphrase: PASSPHRASE,
      keystore: TEST_KEYSTORE,
      enrollmentId: reg.enrollmentId,
      enrollmentSecret: reg.enrollmentSecret,
    });
    return { agent: await Agent.open(home, PASSPHRASE), home, pseudonym };
  }

  function link(agent: Agent, bundle: SyntheaBundle): Promise<void> {
    return linkIdentifier(agent, mrnOf(bundle));
  }

  async function linkIdentifier(agent: Agent, identifier: { system: string; value: string }): Promise<void> {
    // The gateway reads the registry through its peer; right after registration it may need a moment.
    const { code } = await until('a link code', async () => agent.linkCode('hospital1').catch(() => undefined), 30_000);
    const res = await fetch(`${gatewayUrl('hospital1')}/identity/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identifier, code }),
      dispatcher: tls('hospital1', 'orgadmin'),
    });
    expect([200, 201]).toContain(res.status);
  }

  async function post(bundle: SyntheaBundle): Promise<string> {
    const id = readReceipt(await ehr.transaction({ body: bundle as never }))?.deliveryId;
    if (!id) throw new Error('no receipt');
    return id;
  }

  beforeAll(async () => {
    profileFile = join(state().dir, 'agent-profile.json');
    ehr = new Client({
      baseUrl: `${gatewayUrl('hospital1')}/fhir`,
      requestOptions: { dispatcher: tls('hospital1', 'ehr') },
    });
  });

  afterAll(async () => {
    for (const d of dispatchers) await d.close();
  });

  it('an EHR posts a Synthea bundle; the agent verifies, stores and acknowledges it; the ledger says complete', async () => {
    const { agent } = await newPatient('alice');
    try {
      const bundle = variant('alice', 12);
      await link(agent, bundle);
      const deliveryId = await post(bundle);
      await syncUntilStored(agent, [deliveryId]);
      const onLedger = await agent['ledger'].readDelivery(deliveryId);
      expect(onLedger?.status).toBe('complete');
      expect((await agent.records({ kind: 'resource' })).length).toBe(bundle.entry.length);
      expect((await agent.verify()).mismatches).toEqual([]);

      // A mailbox body altered at the gateway is refused, and the ledger records the refusal.
      const second = await post({ ...bundle, identifier: { system: 'urn:e2e', value: 'alice-tamper' } });
      await until('commit', async () => ((await agent['ledger'].readDelivery(second)) ? true : undefined));
      const db = new DatabaseSync(join(state().dir, 'gateways', 'hospital1', 'data', 'gateway.db'));
      const row = db.prepare('SELECT body FROM mailbox_message WHERE message_id = ?').get(second) as { body: string };
      const env = JSON.parse(row.body) as SealedEnvelope;
      const bytes = Buffer.from(env.ciphertext, 'base64');
      bytes[0] = (bytes[0] as number) ^ 0xff;
      db.prepare('UPDATE mailbox_message SET body = ? WHERE message_id = ?').run(
        JSON.stringify({ ...env, ciphertext: bytes.toString('base64') }),
        second,
      );
      db.close();
      const report = await agent.sync();
      expect(report.deliveries).toEqual([
        expect.objectContaining({ deliveryId: second, result: 'refused', reason: 'signature-invalid' }),
      ]);
      expect(await agent['ledger'].readDelivery(second)).toMatchObject({
        status: 'rejected',
        rejectionReason: 'signature-invalid',
      });
      expect((await agent.deliveries()).map((d) => d.deliveryId)).toEqual([deliveryId]);
    } finally {
      await agent.close();
    }
  });

  // Four of HL7's examples on the network (all 15 go through the same gateway and agent code with the
  // real chaincode in mobile-agent/test/ccda-delivery.test.ts): the largest, a CCD, one whose
  // section the converter fails on, and one with a PDF body.
  it('an EHR posts C-CDA documents to /ccda; the agents verify and store each one, the original included', async () => {
    const files = [
      'CCD-1.xml',
      'Diagnostic_Imaging_Report.xml',
      'Transfer_Summary.xml',
      'Unstructured_Document_embed_PDF.xml',
    ];
    expect(files.every((f) => readdirSync(CCDA).includes(f))).toBe(true);
    const agents = new Map<string, Agent>();
    const lines: string[] = [];
    try {
      for (const file of files) {
        const bytes = readFileSync(join(CCDA, file));
        const id = convertCcda(bytes.toString('utf8'), bytes).patientIdentifier;
        if (!id) throw new Error(`${file}: no patient identifier`);
        const key = `${id.system}|${id.value}`;
        let agent = agents.get(key);
        if (!agent) {
          agent = (await newPatient(`ccda-${agents.size}`)).agent;
          await linkIdentifier(agent, id);
          agents.set(key, agent);
        }
        const res = await fetch(`${gatewayUrl('hospital1')}/ccda`, {
          method: 'POST',
          headers: { 'content-type': 'application/cda+xml' },
          body: bytes,
          dispatcher: tls('hospital1', 'ehr'),
        });
        const answer = (await res.json()) as { entry?: { response: { outcome?: { issue: unknown[] } } }[] };
        expect(res.status).toBe(200);
        const deliveryId = readReceipt(answer)?.deliveryId;
        if (!deliveryId) throw new Error(`${file}: no receipt`);
        await syncUntilStored(agent, [deliveryId]);
        expect((await agent.verify()).mismatches).toEqual([]);
        expect(await agent['ledger'].readDelivery(deliveryId)).toMatchObject({ status: 'complete' });
        const originals = await agent.records({ kind: 'resource', resourceType: 'DocumentReference' });
        expect(originals.some((r) => JSON.stringify(r).includes(bytes.toString('base64').slice(0, 200)))).toBe(true);
        const warnings = (answer.entry ?? []).flatMap((e) => e.response.outcome?.issue ?? []).length;
        lines.push(
          `  ${file.padEnd(38)} ${String(answer.entry?.length).padStart(3)} resources, ${warnings} warnings, verified`,
        );
      }
      process.stdout.write(
        `\nC-CDA examples through /ccda on the ${process.env.PHR_ENGINE ?? ''} network:\n${lines.join('\n')}\n`,
      );
    } finally {
      for (const a of agents.values()) await a.close();
    }
  }, 600_000);

  it('an agent offline for ten deliveries gets them all, in order, once; two patients never see each other', async () => {
    const bob = await newPatient('bob');
    const carol = await newPatient('carol');
    const bundle = variant('bob', 3);
    await link(bob.agent, bundle);
    await link(carol.agent, variant('carol', 3));
    await bob.agent.close(); // offline
    const ids: string[] = [];
    for (let i = 0; i < 10; i++)
      ids.push(await post({ ...bundle, identifier: { system: 'urn:e2e', value: `bob-${i}` } }));

    const agent = await Agent.open(bob.home, PASSPHRASE);
    try {
      const seen: string[] = [];
      await until(
        'all ten',
        async () => {
          const r = await agent.sync({ waitMs: 2000 });
          seen.push(...r.deliveries.filter((d) => d.result === 'stored').map((d) => d.deliveryId));
          return seen.length >= 10 ? true : undefined;
        },
        120_000,
      );
      expect(seen).toEqual(ids);
      for (const id of ids) expect((await agent['ledger'].readDelivery(id))?.status).toBe('complete');
      expect((await agent.sync()).deliveries).toEqual([]);
      expect(await carol.agent.records({})).toEqual([]);
      await carol.agent.sync();
      expect(await carol.agent.deliveries()).toEqual([]);
    } finally {
      await agent.close();
      await carol.agent.close();
    }
  });

  it('the local page lists records and the access log; a consent granted and revoked there is on the ledger', async () => {
    const { agent } = await newPatient('dave');
    const browser = await launchChromium();
    const ui = await startUi(agent, { port: 0 });
    try {
      const bundle = variant('dave', 6);
      await link(agent, bundle);
      await syncUntilStored(agent, [await post(bundle)]);
      const page = new AgentUiPage(await browser.newPage(), ui.url);
      await page.open('records');
      expect((await page.recordsShown()).length).toBeGreaterThan(0);

      const consentId = await page.grantConsent({
        grantee: { kind: 'organization', id: 'Hospital2MSP' },
        categories: ['laboratory'],
        purposes: ['TREAT'],
        end: new Date(Date.now() + 30 * 86400_000).toISOString().slice(0, 10),
      });
      const granted = (await agent.consents()).find((c) => c.consentId === consentId);
      expect(granted).toMatchObject({ status: 'active', grantee: { kind: 'organization', id: 'Hospital2MSP' } });
      await page.revokeConsent(consentId);
      expect((await agent.consents()).find((c) => c.consentId === consentId)?.status).toBe('revoked');

      // The export is an access event on the ledger; the page's access log shows it.
      await agent.exportBundle({});
      await page.open('access-log');
      const shown = await page.accessLogShown();
      expect(shown.length).toBeGreaterThan(0);
    } finally {
      await ui.close();
      await browser.close();
      await agent.close();
    }
  });

  it('phr-agent, the CLI, does the same from a terminal', async () => {
    const run = promisify(execFile);
    const home = join(state().dir, 'agents', 'erin');
    const secretFile = join(state().dir, 'erin.secret');
    const passFile = join(state().dir, 'erin.pass');
    const reg = JSON.parse(await script('register-patient.sh')) as { enrollmentId: string; enrollmentSecret: string };
    writeFileSync(secretFile, reg.enrollmentSecret, { mode: 0o600 });
    writeFileSync(passFile, PASSPHRASE, { mode: 0o600 });
    const cli = async (...args: string[]) =>
      (
        await run(
          process.execPath,
          [
            join(ROOT, 'mobile-agent', 'dist', 'cli', 'main.js'),
            '--home',
            home,
            '--passphrase-file',
            passFile,
            ...args,
          ],
          {
            env: { ...process.env, NODE_OPTIONS: '--no-deprecation' },
          },
        )
      ).stdout;

    const init = JSON.parse(
      await cli(
        'init',
        '--profile',
        profileFile,
        '--enrollment-id',
        reg.enrollmentId,
        '--enrollment-secret-file',
        secretFile,
        '--json',
      ),
    ) as { pseudonym: string; created: boolean; linkCodes: { hospital: string; code?: string }[] };
    expect(init.created).toBe(true);
    expect(init.linkCodes.map((c) => c.hospital)).toEqual(['hospital1', 'hospital2']);

    const agent = await Agent.open(home, PASSPHRASE);
    const bundle = variant('erin', 4);
    await link(agent, bundle);
    const deliveryId = await post(bundle);
    await agent.close();

    await until('the CLI to store the delivery', async () => {
      const report = JSON.parse(await cli('inbox', '--wait', '2', '--json')) as {
        deliveries: { deliveryId: string; result: string }[];
      };
      return report.deliveries.some((d) => d.deliveryId === deliveryId && d.result === 'stored') ? true : undefined;
    });
    expect(await cli('records')).toContain('Observation');
    expect(await cli('verify')).toMatch(/^All \d+ elements of 1 deliveries match the ledger\.$/m);
    const consent = JSON.parse(
      await cli(
        'consent',
        'grant',
        '--to',
        'Hospital2MSP',
        '--category',
        'laboratory',
        '--purpose',
        'TREAT',
        '--until',
        '2099-01-01',
        '--json',
      ),
    ) as { consentId: string; status: string };
    expect(consent.status).toBe('active');
    expect(await cli('consent', 'list')).toContain(consent.consentId);
    await cli('consent', 'revoke', consent.consentId);
    const listed = JSON.parse(await cli('consent', 'list', '--json')) as { consentId: string; status: string }[];
    expect(listed).toEqual([expect.objectContaining({ consentId: consent.consentId, status: 'revoked' })]);
    await cli('records', '--export', join(state().dir, 'erin-export.json'));
    expect(await cli('log')).toMatch(/You exported your records/);
    await expect(cli('verify', '--passphrase-file', secretFile)).rejects.toThrow(/passphrase/i);
  });
});
