/**
 * The record's life cycle on the patient's side, on the real network: backup to a folder and to a
 * gateway and restore on a new home; rebuild from two hospitals without a backup; erasure, after
 * which no copy can be read and a dictionary attack on every block of the ledger with the
 * patient's known values finds nothing. The patient's side runs as `phr-agent`, the CLI.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { promisify } from 'node:util';
import { Agent as Dispatcher } from 'undici';
import { Client } from 'fhir-kit-client';
import { Agent, initAgent, loadProfile, recoverDevice } from '@phr/mobile-agent';
import { readReceipt } from '@phr/gateway';
import { allBlocks, rawGateway } from './fabric';
import { TEST_KEYSTORE } from '@phr/test-support';
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
const PASSPHRASE = 'e2e passphrase, long enough';
const FILE = 'Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json';
const HOSPITALS = ['hospital1', 'hospital2'] as const;
type Hospital = (typeof HOSPITALS)[number];
const run = promisify(execFile);

function variant(tag: string, observations: number): SyntheaBundle {
  return patientVariant(JSON.parse(readFileSync(join(FIXTURES, FILE), 'utf8')) as SyntheaBundle, tag, observations);
}

interface Registration {
  enrollmentId: string;
  enrollmentSecret: string;
}

describe("the record's life cycle on the real network", () => {
  let profileFile: string;
  const dispatchers: Dispatcher[] = [];
  const ehr = new Map<Hospital, Client>();

  function tls(hospital: Hospital, identity: string): Dispatcher {
    const d = mutualTls(hospital, identity, hospital);
    dispatchers.push(d);
    return d;
  }

  const dir = (name: string) => join(state().dir, 'lifecycle', name);

  async function register(): Promise<Registration> {
    return JSON.parse(await script('register-patient.sh')) as Registration;
  }

  /** `phr-agent --home HOME --passphrase-file … ARGS`; its stdout. */
  async function cli(home: string, ...args: string[]): Promise<string> {
    const passFile = join(state().dir, 'lifecycle.pass');
    if (!existsSync(passFile)) writeFileSync(passFile, PASSPHRASE, { mode: 0o600 });
    const { stdout } = await run(
      process.execPath,
      [join(ROOT, 'mobile-agent', 'dist', 'cli', 'main.js'), '--home', home, '--passphrase-file', passFile, ...args],
      { env: { ...process.env, NODE_OPTIONS: '--no-deprecation' }, maxBuffer: 16 * 1024 * 1024 },
    );
    return stdout;
  }

  /** A file only its owner reads, for a secret the CLI takes from a file. */
  function secretFile(name: string, text: string): string {
    const file = join(state().dir, `lifecycle-${name}`);
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  }

  async function newPatient(name: string): Promise<{ agent: Agent; home: string; pseudonym: string }> {
    const reg = await register();
    const home = dir(name);
    const { pseudonym } = await initAgent({
      home,
      profile: loadProfile(profileFile),
      passphrase: PASSPHRASE,
      keystore: TEST_KEYSTORE,
      ...reg,
    });
    return { agent: await Agent.open(home, PASSPHRASE), home, pseudonym };
  }

  async function link(agent: Agent, bundle: SyntheaBundle, hospital: Hospital): Promise<void> {
    const { code } = await until('a link code', async () => agent.linkCode(hospital).catch(() => undefined), 30_000);
    const res = await fetch(`${gatewayUrl(hospital)}/identity/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identifier: mrnOf(bundle), code }),
      dispatcher: tls(hospital, 'orgadmin'),
    });
    expect([200, 201]).toContain(res.status);
  }

  async function post(bundle: SyntheaBundle, hospital: Hospital, send: string): Promise<string> {
    const client = ehr.get(hospital);
    if (!client) throw new Error(`no EHR client for ${hospital}`);
    const answer = await client.transaction({
      body: { ...bundle, identifier: { system: 'urn:e2e', value: send } },
    });
    const id = readReceipt(answer)?.deliveryId;
    if (!id) throw new Error('no receipt');
    return id;
  }

  /** A patient linked at both hospitals with one delivery from each, stored and verified. */
  async function patientWithTwoDeliveries(name: string) {
    const p = await newPatient(name);
    const bundle = variant(name, 6);
    for (const h of HOSPITALS) await link(p.agent, bundle, h);
    const deliveryIds = [await post(bundle, 'hospital1', `${name}-1`), await post(bundle, 'hospital2', `${name}-2`)];
    await syncUntilStored(p.agent, deliveryIds);
    expect((await p.agent.verify()).mismatches).toEqual([]);
    return { ...p, bundle, deliveryIds };
  }

  async function statusesOn(home: string, ids: string[]): Promise<string[]> {
    const agent = await Agent.open(home, PASSPHRASE);
    try {
      return await Promise.all(ids.map(async (id) => (await agent['ledger'].readDelivery(id))?.status ?? 'none'));
    } finally {
      await agent.close();
    }
  }

  beforeAll(() => {
    profileFile = join(state().dir, 'agent-profile.json');
    for (const h of HOSPITALS) {
      ehr.set(h, new Client({ baseUrl: `${gatewayUrl(h)}/fhir`, requestOptions: { dispatcher: tls(h, 'ehr') } }));
    }
  });

  afterAll(async () => {
    for (const d of dispatchers) await d.close();
  });

  it('backs up to a folder and to a gateway, loses the device, restores on a new home; verify passes', async () => {
    const alice = await patientWithTwoDeliveries('lc-alice');
    await alice.agent.close();
    const backups = dir('alice-backups');

    const toFolder = JSON.parse(await cli(alice.home, 'backup', '--to', backups, '--json')) as {
      recoveryCode?: string;
      deliveries: number;
      markedBackedUp: string[];
    };
    expect(toFolder.recoveryCode).toMatch(/^PHRR-/);
    expect(toFolder.deliveries).toBe(2);
    expect(toFolder.markedBackedUp.sort()).toEqual([...alice.deliveryIds].sort());
    const toGateway = await cli(alice.home, 'backup', '--to', 'gateway', '--hospital', 'hospital2');
    expect(toGateway).toMatch(/^Backup 2 stored at hospital2 as version 1 .*: 2 deliveries\./m);
    expect(toGateway).not.toContain('PHRR-'); // the code is shown once
    expect(await statusesOn(alice.home, alice.deliveryIds)).toEqual(['backup', 'backup']);

    rmSync(alice.home, { recursive: true, force: true }); // the device is lost
    const code = secretFile('alice.code', toFolder.recoveryCode as string);

    // A new home from the folder backup
    const second = dir('lc-alice-2');
    const reg2 = await register();
    const restored = JSON.parse(
      await cli(
        second,
        'restore',
        '--from',
        backups,
        '--profile',
        profileFile,
        '--enrollment-id',
        reg2.enrollmentId,
        '--enrollment-secret-file',
        secretFile('alice2.secret', reg2.enrollmentSecret),
        '--recovery-code-file',
        code,
        '--json',
      ),
    ) as { pseudonym: string; restored: { deliveryId: string }[] };
    expect(restored.pseudonym).toBe(alice.pseudonym);
    expect(restored.restored.map((d) => d.deliveryId).sort()).toEqual([...alice.deliveryIds].sort());
    expect(await cli(second, 'verify')).toMatch(/^All \d+ elements of 2 deliveries match the ledger\.$/m);

    // That device is lost too: another new home, from the gateway's backup this time
    rmSync(second, { recursive: true, force: true });
    const third = dir('lc-alice-3');
    const reg3 = await register();
    const fromGateway = await cli(
      third,
      'restore',
      '--from',
      'gateway',
      '--hospital',
      'hospital2',
      '--pseudonym',
      alice.pseudonym,
      '--profile',
      profileFile,
      '--enrollment-id',
      reg3.enrollmentId,
      '--enrollment-secret-file',
      secretFile('alice3.secret', reg3.enrollmentSecret),
      '--recovery-code-file',
      code,
    );
    expect(fromGateway).toContain(`Restored ${alice.pseudonym} from hospital2 (backup 2`);
    expect(await cli(third, 'verify')).toMatch(/^All \d+ elements of 2 deliveries match the ledger\.$/m);

    expect(await statusesOn(third, alice.deliveryIds)).toEqual(['backup', 'backup']);
    const log = await cli(third, 'log');
    expect(log).toMatch(/You backed up your records/);
    expect(log).toMatch(/You restored your records/);
    // The restored agent receives what is sent now, sealed to its own key.
    const agent = await Agent.open(third, PASSPHRASE);
    try {
      const next = await post(alice.bundle, 'hospital1', 'lc-alice-after');
      await syncUntilStored(agent, [next]);
      expect((await agent.verify()).mismatches).toEqual([]);
    } finally {
      await agent.close();
    }
  }, 600_000);

  it('a patient with no backup rebuilds from two hospitals: every delivery back, each verified', async () => {
    const bob = await patientWithTwoDeliveries('lc-bob');
    // A recovery setup made the secret (shares, not a backup); then the device is lost.
    const secret = await bob.agent.useRecoverySecret(async (s) => Buffer.from(s));
    await bob.agent.close();
    rmSync(bob.home, { recursive: true, force: true });

    const home = dir('lc-bob-2');
    await recoverDevice({
      home,
      profile: loadProfile(profileFile),
      passphrase: PASSPHRASE,
      ...(await register()),
      pseudonym: bob.pseudonym,
      recoverySecret: secret,
    });
    const report = JSON.parse(await cli(home, 'rebuild', '--json')) as {
      rows: { deliveryId: string; hospital: string; result: string }[];
    };
    expect(report.rows.map((r) => `${r.deliveryId} ${r.hospital} ${r.result}`).sort()).toEqual(
      [`${bob.deliveryIds[0]} hospital1 rebuilt`, `${bob.deliveryIds[1]} hospital2 rebuilt`].sort(),
    );
    expect(await cli(home, 'verify')).toMatch(/^All \d+ elements of 2 deliveries match the ledger\.$/m);
    expect(await cli(home, 'log')).toMatch(/You rebuilt your records from the hospitals/);
    // delivered before, so not acknowledged again
    expect(await statusesOn(home, bob.deliveryIds)).toEqual(['complete', 'complete']);
  }, 600_000);

  it('erasure: no copy is left to read, receipts are on the log, and the ledger holds no hash of what is known', async () => {
    const carol = await patientWithTwoDeliveries('lc-carol');
    const backups = dir('carol-backups');
    await carol.agent.backup({ to: 'folder', dir: backups });
    await carol.agent.backup({ to: 'gateway', hospital: 'hospital1' });
    await carol.agent.grantConsent({
      grantee: { kind: 'organization', id: 'Hospital2MSP' },
      scope: { categories: ['laboratory'], codes: [] },
      purposes: ['TREAT'],
      end: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    });
    await carol.agent.close();
    const known = knownValues(carol.bundle);

    const erased = JSON.parse(await cli(carol.home, 'erase', '--yes', '--json')) as {
      ledger: string;
      hospitals: { hospital: string; required: boolean; receipt?: { receiptId: string; kept: unknown[] } }[];
      foldersDeleted: string[];
    };
    expect(erased.ledger).toBe('erased');
    expect(erased.hospitals.map((h) => [h.hospital, h.required, Boolean(h.receipt)])).toEqual([
      ['hospital1', true, true],
      ['hospital2', true, true],
    ]);
    const receiptIds = erased.hospitals.map((h) => h.receipt?.receiptId as string);

    // The agent's copy: keys and vault destroyed; the backup folder gone.
    expect(existsSync(carol.home)).toBe(false);
    expect(existsSync(join(backups, carol.pseudonym))).toBe(false);
    expect(erased.foldersDeleted).toEqual([join(backups, carol.pseudonym)]);
    // The gateways' copies: the patient key, backups, kept deliveries and mail are gone.
    for (const h of HOSPITALS) {
      const db = new DatabaseSync(join(state().dir, 'gateways', h, 'data', 'gateway.db'), {
        readOnly: true,
        timeout: 10_000,
      });
      try {
        for (const table of ['patient_key', 'backup_version', 'kept_delivery', 'mailbox_message']) {
          const row = db.prepare(`SELECT count(*) AS n FROM ${table} WHERE pseudonym = ?`).get(carol.pseudonym) as {
            n: number;
          };
          expect([h, table, row.n]).toEqual([h, table, 0]);
        }
      } finally {
        db.close();
      }
    }

    const h1 = rawGateway(state().identity('hospital1', 'gateway'), 'hospital1');
    try {
      const contract = (name: string) => h1.network.getContract('phr', name);
      const record = JSON.parse(
        Buffer.from(await contract('PatientRegistry').evaluateTransaction('ReadPatient', carol.pseudonym)).toString(),
      ) as { erasedAt?: string; recoveryPublicKey?: string };
      expect(record.erasedAt).toBeDefined();
      expect(record.recoveryPublicKey).toBeUndefined();
      // Each gateway's receipt is on the patient's access log.
      const events = await until(
        "both gateways' erasure events",
        async () => {
          const page = JSON.parse(
            Buffer.from(
              await contract('AccessLog').evaluateTransaction('ListAccessEvents', carol.pseudonym, '', '', '100', ''),
            ).toString(),
          ) as { records: { action: string; references: string[] }[] };
          const refs = page.records.filter((e) => e.action === 'erasure').flatMap((e) => e.references);
          return receiptIds.every((id) => refs.includes(id)) ? page.records : undefined;
        },
        60_000,
      );
      expect(events.some((e) => e.action === 'erasure')).toBe(true);

      // The dictionary attack: every block of the chain, against the hashes of what is known.
      const blocks = await allBlocks(h1);
      const probes = dictionary(known);
      expect(probes.length).toBeGreaterThan(60);
      const found = probes.filter((p) => blocks.some((b) => b.includes(p.bytes))).map((p) => p.name);
      expect(found).toEqual([]);
      // The search itself finds what is there: the pseudonym, and a delivery's committed root.
      const root = JSON.parse(
        Buffer.from(
          await contract('Commitments').evaluateTransaction('ReadDelivery', carol.deliveryIds[0] as string),
        ).toString(),
      ) as { merkleRoot: string };
      expect(blocks.some((b) => b.includes(Buffer.from(carol.pseudonym)))).toBe(true);
      expect(blocks.some((b) => b.includes(Buffer.from(root.merkleRoot)))).toBe(true);
      process.stdout.write(
        `\nErasure: ${probes.length} hashes and texts of the MRN, birth date and a lab value searched in ${blocks.length} blocks; none found.\n`,
      );
    } finally {
      h1.close();
    }
  }, 600_000);
});

interface Known {
  mrn: { system: string; value: string };
  birthDate: string;
  lab: { system: string; code: string; value: number; unit: string };
}

/** What an attacker may know of the patient: the MRN, the birth date and one lab result. */
function knownValues(bundle: SyntheaBundle): Known {
  const resources = bundle.entry.map((e) => e.resource as unknown as Record<string, unknown>);
  const patient = resources.find((r) => r['resourceType'] === 'Patient') as { birthDate: string };
  const observation = resources.find(
    (r) =>
      r['resourceType'] === 'Observation' && typeof (r['valueQuantity'] as { value?: unknown })?.value === 'number',
  ) as { code: { coding: { system: string; code: string }[] }; valueQuantity: { value: number; unit: string } };
  const coding = observation.code.coding[0] as { system: string; code: string };
  return {
    mrn: mrnOf(bundle),
    birthDate: patient.birthDate,
    lab: { ...coding, value: observation.valueQuantity.value, unit: observation.valueQuantity.unit },
  };
}

/**
 * The texts an attacker would hash: the values alone and in the shapes a system might have
 * hashed them (system|value, JSON, with the unit, the FHIR element), each as SHA-256 in hex
 * (both cases), base64 and base64url, and as raw digest bytes; the longer texts also as they are.
 * (The ledger's own element hashes are salted with 128 random bits that only the copies held:
 * no dictionary reaches them.)
 */
function dictionary(k: Known): { name: string; bytes: Buffer }[] {
  const v = String(k.lab.value);
  const texts = [
    k.mrn.value,
    `${k.mrn.system}|${k.mrn.value}`,
    JSON.stringify(k.mrn),
    JSON.stringify({ system: k.mrn.system, value: k.mrn.value, type: 'MR' }),
    k.birthDate,
    k.birthDate.replaceAll('-', ''),
    JSON.stringify({ birthDate: k.birthDate }),
    v,
    `${v} ${k.lab.unit}`,
    `${k.lab.code}|${v}`,
    `${k.lab.system}|${k.lab.code}|${v}`,
    JSON.stringify({ value: k.lab.value, unit: k.lab.unit }),
    JSON.stringify({ system: k.lab.system, code: k.lab.code, value: k.lab.value }),
  ];
  const probes: { name: string; bytes: Buffer }[] = [];
  for (const text of texts) {
    const digest = createHash('sha256').update(text, 'utf8').digest();
    const name = `sha256(${text})`;
    probes.push(
      { name: `${name} hex`, bytes: Buffer.from(digest.toString('hex')) },
      { name: `${name} HEX`, bytes: Buffer.from(digest.toString('hex').toUpperCase()) },
      { name: `${name} base64`, bytes: Buffer.from(digest.toString('base64')) },
      { name: `${name} base64url`, bytes: Buffer.from(digest.toString('base64url')) },
      { name: `${name} raw`, bytes: digest },
    );
    // the texts themselves, where long enough not to turn up by chance in binary data
    if (text.length >= 10) probes.push({ name: `text ${text}`, bytes: Buffer.from(text, 'utf8') });
  }
  return probes;
}
