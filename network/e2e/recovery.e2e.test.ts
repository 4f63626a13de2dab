import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent as Dispatcher } from 'undici';
import { Client } from 'fhir-kit-client';
import { Agent, initAgent, loadProfile } from '@phr/mobile-agent';
import { readReceipt } from '@phr/gateway';
import type { AccessEventRecord } from '@phr/common';
import { TEST_KEYSTORE } from '@phr/test-support';
import {
  gatewayUrl,
  mrnOf,
  mutualTls,
  patientVariant,
  ROOT,
  script,
  state,
  until,
  type SyntheaBundle,
} from './harness';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'synthea-r4');
const FILE = 'Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json';
const PASSPHRASE = 'e2e recovery passphrase';
const run = promisify(execFile);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Issue 15 item 4 on the embedded network, through the `phr-agent` CLI: a patient with two
 * Synthea deliveries backs up to hospital1's gateway and splits the recovery secret 2 of 3 among
 * two guardians' agents and a paper code; the device is lost; on a new home one guardian's
 * approval alone is refused (nothing changes), and that approval with the paper code rebuilds
 * the secret, moves the pseudonym to the new device and restores the backup, which verifies.
 */
describe('key recovery with guardians on the real network', () => {
  let profileFile: string;
  let dir: string;
  let passFile: string;
  const dispatchers: Dispatcher[] = [];

  const tls = (org: string, identity: string) => {
    const d = mutualTls(org, identity, 'hospital1');
    dispatchers.push(d);
    return d;
  };

  /** `phr-agent --home HOME --passphrase-file … ARGS`; never throws: the exit code is in the result. */
  async function cli(home: string, ...args: string[]): Promise<CliResult> {
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        [join(ROOT, 'mobile-agent', 'dist', 'cli', 'main.js'), '--home', home, '--passphrase-file', passFile, ...args],
        { env: { ...process.env, NODE_OPTIONS: '--no-deprecation' }, maxBuffer: 16 * 1024 * 1024 },
      );
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }
  const ok = async (home: string, ...args: string[]): Promise<string> => {
    const r = await cli(home, ...args);
    if (r.code !== 0) throw new Error(`phr-agent ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };

  async function enrollment(name: string): Promise<{ enrollmentId: string; secretFile: string }> {
    const reg = JSON.parse(await script('register-patient.sh')) as { enrollmentId: string; enrollmentSecret: string };
    const secretFile = join(dir, `${name}.secret`);
    writeFileSync(secretFile, reg.enrollmentSecret, { mode: 0o600 });
    return { enrollmentId: reg.enrollmentId, secretFile };
  }

  async function newPatient(name: string): Promise<{ home: string; pseudonym: string }> {
    const reg = JSON.parse(await script('register-patient.sh')) as { enrollmentId: string; enrollmentSecret: string };
    const home = join(dir, name);
    const { pseudonym } = await initAgent({
      home,
      profile: loadProfile(profileFile),
      passphrase: PASSPHRASE,
      keystore: TEST_KEYSTORE,
      enrollmentId: reg.enrollmentId,
      enrollmentSecret: reg.enrollmentSecret,
    });
    return { home, pseudonym };
  }

  async function withAgent<T>(home: string, fn: (agent: Agent) => Promise<T>): Promise<T> {
    const agent = await Agent.open(home, PASSPHRASE);
    try {
      return await fn(agent);
    } finally {
      await agent.close();
    }
  }

  beforeAll(() => {
    profileFile = join(state().dir, 'agent-profile.json');
    dir = join(state().dir, 'recovery-e2e');
    mkdirSync(dir, { recursive: true });
    passFile = join(dir, 'passphrase');
    writeFileSync(passFile, PASSPHRASE, { mode: 0o600 });
  });
  afterAll(async () => {
    for (const d of dispatchers) await d.close();
  });

  it('2 of 3 with two guardian agents and a paper code; one share alone recovers nothing; the backup is restored', async () => {
    // The patient, with two Synthea deliveries from hospital1.
    const patient = await newPatient('rita');
    const ehr = new Client({
      baseUrl: `${gatewayUrl('hospital1')}/fhir`,
      requestOptions: { dispatcher: tls('hospital1', 'ehr') },
    });
    // Same MRN, other content: two deliveries.
    const source = JSON.parse(readFileSync(join(FIXTURES, FILE), 'utf8')) as SyntheaBundle;
    const bundles: SyntheaBundle[] = [patientVariant(source, 'rita', 6), patientVariant(source, 'rita', 3)];
    const deliveryIds = await withAgent(patient.home, async (agent) => {
      const { code } = await until(
        'a link code',
        async () => agent.linkCode('hospital1').catch(() => undefined),
        30_000,
      );
      const linked = await fetch(`${gatewayUrl('hospital1')}/identity/links`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ identifier: mrnOf(bundles[0]!), code }),
        dispatcher: tls('hospital1', 'orgadmin'),
      });
      expect([200, 201]).toContain(linked.status);
      const ids: string[] = [];
      for (const bundle of bundles) {
        const id = readReceipt(await ehr.transaction({ body: bundle as never }))?.deliveryId;
        if (!id) throw new Error('no receipt');
        ids.push(id);
      }
      await until(
        'both deliveries stored',
        async () => {
          await agent.sync({ waitMs: 2000 });
          const have = new Set((await agent.deliveries()).map((d) => d.deliveryId));
          return ids.every((id) => have.has(id)) ? true : undefined;
        },
        120_000,
      );
      return ids;
    });
    expect(new Set(deliveryIds).size).toBe(2);

    // Two guardians, each with an agent of their own.
    const gus = await newPatient('gus');
    const gina = await newPatient('gina');

    // Backup to the gateway, then recovery set up 2 of 3.
    const backup = JSON.parse(await ok(patient.home, 'backup', '--to', 'gateway', '--json')) as { deliveries: number };
    expect(backup.deliveries).toBe(2);
    const setup = JSON.parse(
      await ok(
        patient.home,
        'recovery',
        'setup',
        '--guardian',
        gus.pseudonym,
        gina.pseudonym,
        '--paper',
        '1',
        '--threshold',
        '2',
        '--json',
      ),
    ) as { threshold: number; shareCount: number; paperCodes: string[]; guardians: string[] };
    expect(setup).toMatchObject({ threshold: 2, shareCount: 3, guardians: [gus.pseudonym, gina.pseudonym] });
    const paper = setup.paperCodes[0] as string;
    expect(paper).toMatch(/^PHRS-/);
    for (const g of [gus, gina]) {
      const status = JSON.parse(await ok(g.home, 'recovery', 'status', '--json')) as {
        shares: { pseudonym: string }[];
      };
      expect(status.shares.map((s) => s.pseudonym)).toEqual([patient.pseudonym]);
    }

    // The device is lost: its whole home folder.
    rmSync(patient.home, { recursive: true, force: true });

    // A new home asks the guardians.
    const fresh = join(dir, 'rita-new');
    const reg = await enrollment('rita-new');
    const started = JSON.parse(
      await ok(
        fresh,
        'recovery',
        'start',
        '--profile',
        profileFile,
        '--pseudonym',
        patient.pseudonym,
        '--enrollment-id',
        reg.enrollmentId,
        '--enrollment-secret-file',
        reg.secretFile,
        // The ledger tells the new device nothing of who guards the patient: the patient names them.
        '--guardian',
        gus.pseudonym,
        gina.pseudonym,
        '--json',
      ),
    ) as { requestId: string; checkCode: string; guardians: { guardian: string; sent: boolean }[] };
    expect(started.guardians.map((g) => g.guardian).sort()).toEqual([gus.pseudonym, gina.pseudonym].sort());
    expect(started.guardians.every((g) => g.sent)).toBe(true);

    // Gus sees the request with the check code the patient tells him, and approves it.
    const gusIdentity = await withAgent(gus.home, async (a) => Promise.resolve(a.identity.id));
    const gusStatus = JSON.parse(await ok(gus.home, 'recovery', 'status', '--json')) as {
      requests: { requestId: string; checkCode: string; status: string }[];
    };
    expect(gusStatus.requests).toEqual([
      expect.objectContaining({ requestId: started.requestId, checkCode: started.checkCode, status: 'pending' }),
    ]);
    expect(await ok(gus.home, 'recovery', 'approve', started.requestId)).toMatch(/^Approved: your share/);

    // One share alone: refused with a clear error; nothing changed on the ledger or in the new home.
    const ownerBefore = await withAgent(
      gina.home,
      async (a) => (await a['ledger'].readPatient(patient.pseudonym)).owner,
    );
    const alone = await cli(fresh, 'recovery', 'finish', '--from', 'gateway');
    expect(alone.code).toBe(1);
    expect(alone.stderr).toMatch(/1 share of the 2 needed \(guardian pt[a-z2-7]{26}\).*Nothing was changed/);
    expect(await withAgent(gina.home, async (a) => (await a['ledger'].readPatient(patient.pseudonym)).owner)).toBe(
      ownerBefore,
    );
    expect(existsSync(join(fresh, 'recovery.json'))).toBe(true);
    expect(existsSync(join(fresh, 'vault.db'))).toBe(false);

    // The approval and the paper code: the secret is rebuilt, checked against the ledger, the backup restored.
    const finished = JSON.parse(
      await ok(fresh, 'recovery', 'finish', '--paper', paper, '--from', 'gateway', '--json'),
    ) as {
      shares: { kind: string }[];
      restore: { restored: { deliveryId: string }[] };
      record: { keyVersion: number };
    };
    expect(finished.shares.map((s) => s.kind).sort()).toEqual(['guardian', 'paper']);
    expect(finished.restore.restored.map((d) => d.deliveryId).sort()).toEqual([...deliveryIds].sort());
    expect(finished.record.keyVersion).toBe(2);
    expect(await ok(fresh, 'verify')).toMatch(/^All \d+ elements of 2 deliveries match the ledger\.$/m);

    // The patient's log: the backup, the guardian's approval, the recovery and the restore.
    await withAgent(fresh, async (agent) => {
      const events: AccessEventRecord[] = await agent['ledger'].listAccessEvents(patient.pseudonym);
      const recoveries = events.filter((e) => e.action === 'recovery' && e.references.includes(started.requestId));
      // Gus's approval, logged by Gus's own identity; and the device's own recovery, by the device.
      const byGus = recoveries.filter((e) => e.actor.id === gusIdentity && e.requester.id === gusIdentity);
      expect(byGus.map((e) => e.outcome)).toEqual(['success']);
      const byDevice = recoveries.filter((e) => e.actor.id === agent.identity.id);
      expect(byDevice.map((e) => e.outcome)).toEqual(['success']);
      expect(recoveries).toHaveLength(2);
      expect(events.map((e) => `${e.action}:${e.outcome}`)).toEqual(
        expect.arrayContaining(['backup:success', 'recovery:success', 'restore:success']),
      );
      const delivered = await Promise.all(deliveryIds.map((id) => agent['ledger'].readDelivery(id)));
      expect(delivered.map((d) => d?.status)).toEqual(['backup', 'backup']);
    });
  });
});
