import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent as Dispatcher } from 'undici';
import { Client } from 'fhir-kit-client';
import { stringify } from 'yaml';
import { LedgerError } from '@phr/ledger-client';
import { Agent, initAgent, loadProfile } from '@phr/mobile-agent';
import { NetworkState } from '@phr/network';
import { readReceipt } from '@phr/gateway';
import { TEST_KEYSTORE } from '@phr/test-support';
import {
  mrnOf,
  mutualTls,
  patientVariant,
  ROOT,
  scriptAt,
  testHospital,
  testTopology,
  until,
  type SyntheaBundle,
  type TestHospital,
} from './harness';

// Governance on its own network: hospital3 joins from "machine B" — a network namespace joined to
// this one by a veth pair where the machine allows it, else a second loopback address — with only
// the network kit and its join request exchanged; a majority of the members' admins approve; a
// member is then suspended the same way.

const FIXTURE = join(ROOT, 'fixtures', 'synthea-r4', 'Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json');
const PASSPHRASE = 'governance e2e passphrase';

interface Hosts {
  a: string;
  b: string;
  /** Runs a command on machine B. */
  prefix?: string[];
  how: string;
  cleanup(): void;
}

/** Machine B: a network namespace over a veth pair when permitted; otherwise 127.0.0.3. */
function makeHosts(): Hosts {
  const id = (process.pid % 60000).toString(36);
  const ns = `phr-e2e-${id}`;
  const [va, vb] = [`vpa${id}`, `vpb${id}`];
  const x = 100 + (process.pid % 150);
  const y = Math.floor(Math.random() * 250);
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  const cleanup = () => {
    for (const args of [
      ['link', 'del', va],
      ['netns', 'del', ns],
    ]) {
      try {
        ip(...args);
      } catch {
        // not there
      }
    }
  };
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', va, 'type', 'veth', 'peer', 'name', vb);
    ip('link', 'set', vb, 'netns', ns);
    ip('addr', 'add', `10.${x}.${y}.1/30`, 'dev', va);
    ip('link', 'set', va, 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `10.${x}.${y}.2/30`, 'dev', vb);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', vb, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    return {
      a: `10.${x}.${y}.1`,
      b: `10.${x}.${y}.2`,
      prefix: ['ip', 'netns', 'exec', ns],
      how: `network namespace ${ns} over a veth pair (A 10.${x}.${y}.1, B 10.${x}.${y}.2)`,
      cleanup,
    };
  } catch (err) {
    cleanup();
    return {
      a: '127.0.0.1',
      b: '127.0.0.3',
      how: `loopback addresses 127.0.0.1 and 127.0.0.3 (network namespaces not permitted: ${(err as Error).message.split('\n')[0]})`,
      cleanup: () => undefined,
    };
  }
}

/** The fixture patient with a fresh MRN, cut to the Patient, its context and a few observations. */
function bundleFor(tag: string): { bundle: SyntheaBundle; mrn: { system: string; value: string } } {
  const bundle = patientVariant(JSON.parse(readFileSync(FIXTURE, 'utf8')) as SyntheaBundle, tag, 5);
  return { bundle, mrn: mrnOf(bundle) };
}

describe('a hospital on another machine joins the running network, approved by a majority of its members', () => {
  let hosts: Hosts;
  let dir: string;
  const A = { topology: '', state: '' };
  const B = { topology: '', state: '', prefix: undefined as string[] | undefined, env: {} as NodeJS.ProcessEnv };
  let h3: TestHospital;
  let agent: Agent;
  const dispatchers: Dispatcher[] = [];

  const a = (name: string, ...args: string[]) => scriptAt(A, name, ...args);
  const b = (name: string, ...args: string[]) => scriptAt(B, name, ...args);
  const expectOk = (r: { code: number; output: string }) => {
    if (r.code !== 0) throw new Error(`exit ${r.code}:\n${r.output}`);
    return r.output;
  };

  /** mutual TLS as `org`'s `identity`, trusting `org`'s CA, from the state folder that holds it. */
  function tls(state: NetworkState, org: string, identity: string): Dispatcher {
    const d = mutualTls(org, identity, org, { state });
    dispatchers.push(d);
    return d;
  }

  beforeAll(async () => {
    hosts = makeHosts();
    process.stdout.write(`\ngovernance e2e: machine B is ${hosts.how}\n`);
    dir = mkdtempSync(join(tmpdir(), 'phr-gov-'));
    const topology = await testTopology(hosts.a);
    h3 = await testHospital(3, hosts.b);
    A.topology = join(dir, 'a-topology.yaml');
    A.state = join(dir, 'a-state');
    B.topology = join(dir, 'b-topology.yaml');
    B.state = join(dir, 'b-state');
    B.prefix = hosts.prefix;
    writeFileSync(A.topology, stringify(topology));
    // Machine B describes the same network plus itself; A's admins add B's entry when it asks to join.
    writeFileSync(B.topology, stringify({ ...topology, hospitals: [...topology.hospitals, h3] }));
    expectOk(await a('network.sh', 'up'));

    // A patient whose device knows only the founding hospitals.
    const reg = JSON.parse(expectOk(await a('register-patient.sh')).trim()) as {
      enrollmentId: string;
      enrollmentSecret: string;
    };
    const home = join(dir, 'agent');
    await initAgent({
      home,
      profile: loadProfile(join(A.state, 'agent-profile.json')),
      passphrase: PASSPHRASE,
      keystore: TEST_KEYSTORE,
      enrollmentId: reg.enrollmentId,
      enrollmentSecret: reg.enrollmentSecret,
    });
    agent = await Agent.open(home, PASSPHRASE);
  }, 400_000);

  afterAll(async () => {
    await agent?.close();
    for (const d of dispatchers) await d.close();
    await b('network.sh', 'clean');
    await a('network.sh', 'clean');
    hosts?.cleanup();
    if (dir && !process.env.PHR_KEEP) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('joins with the kit and a request; one approval is refused and says why; two admit it', async () => {
    const kit = join(dir, 'network-kit.tgz');
    expectOk(await a('network.sh', 'kit', kit));
    B.env = { KIT: kit };
    const asked = expectOk(await b('network.sh', 'join', 'hospital3'));
    expect(asked).toMatch(/Join of hospital3 pending/);
    const request = join(B.state, 'governance', 'join-hospital3', 'join-request-hospital3.tgz');
    expect(existsSync(request)).toBe(true);
    B.env = {};

    // A's admins add B's entry to their topology, then approve one at a time.
    writeFileSync(A.topology, readFileSync(B.topology));
    const one = await scriptAt({ ...A, env: { REQUEST: request } }, 'network.sh', 'approve', 'hospital3', 'hospital1');
    expect(one.code).toBe(0);
    expect(one.output).toMatch(
      // Fabric names the first element of the update it finds unauthorized, in map order: the
      // Application group or one of the policies this update changes.
      /the orderer refused the update: BAD_REQUEST -- .*policy for \[(Group|Policy)\] +\/Channel\/Application(\/\w+)? not satisfied/,
    );
    expect(one.output).toMatch(/approved by Hospital1MSP; a majority of the 2 member hospitals .* must approve: 2/);
    expect(one.output).toMatch(/still to approve: make network-approve ORG=hospital3 AS=hospital2/);
    expect(expectOk(await b('network.sh', 'join', 'hospital3'))).toMatch(/Join of hospital3 pending/);

    expect(expectOk(await a('network.sh', 'approve', 'hospital3', 'hospital2'))).toMatch(/hospital3 admitted to phr/);
    const joined = expectOk(await b('network.sh', 'join', 'hospital3'));
    expect(joined).toMatch(/hospital3 is a member of phr/);
    expect(joined).toMatch(/definition committed .*sequence 2/);
    expect(joined).toMatch(/Network is up/);

    // The chain records who approved: the config block admitting hospital3 carries both signatures.
    const block = join(dir, 'config.block');
    const gov = (...args: string[]) =>
      execFileSync(
        process.execPath,
        [join(ROOT, 'network', 'dist', 'governance-cli.js'), ...args, '--topology', A.topology, '--state', A.state],
        {
          encoding: 'utf8',
          env: { ...process.env, NODE_OPTIONS: '--no-deprecation' },
        },
      );
    gov('config', 'fetch', '--org', 'hospital1', '--out', block);
    expect(gov('config', 'members', '--block', block).trim().split('\n')).toEqual([
      'Hospital1MSP',
      'Hospital2MSP',
      'Hospital3MSP',
    ]);
    expect(gov('config', 'approvals', '--block', block).trim().split('\n').sort()).toEqual([
      'Hospital1MSP',
      'Hospital2MSP',
    ]);
    // Both sides now count three members.
    expect(
      readFileSync(join(A.state, 'channel', 'members'), 'utf8')
        .trim()
        .split('\n'),
    ).toEqual(['hospital1', 'hospital2', 'hospital3']);
  });

  it("the agent learns of hospital3 from the ledger's directory; hospital3's gateway ingests a Synthea bundle; the agent verifies it", async () => {
    const stateB = NetworkState.load(B.topology, B.state);
    const { bundle, mrn } = bundleFor('gov');
    const { code } = await until(
      'a link code from hospital3',
      async () => agent.linkCode('hospital3').catch(() => undefined),
      60_000,
    );
    expect((await agent.status()).hospitals.map((h) => h.mspId)).toContain('Hospital3MSP');
    const gateway = `https://${h3.gateway.host}:${h3.gateway.port}`;
    const linked = await fetch(`${gateway}/identity/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identifier: mrn, code }),
      dispatcher: tls(stateB, 'hospital3', 'orgadmin'),
    });
    expect([200, 201]).toContain(linked.status);
    const ehr = new Client({
      baseUrl: `${gateway}/fhir`,
      requestOptions: { dispatcher: tls(stateB, 'hospital3', 'ehr') },
    });
    const deliveryId = readReceipt(await ehr.transaction({ body: bundle as never }))?.deliveryId;
    expect(deliveryId).toBeDefined();
    await until(
      'the delivery from hospital3 to be stored',
      async () => {
        await agent.sync({ waitMs: 2000 });
        return (await agent.deliveries()).some((d) => d.deliveryId === deliveryId) ? true : undefined;
      },
      120_000,
    );
    const onLedger = await agent['ledger'].readDelivery(deliveryId);
    expect(onLedger).toMatchObject({ status: 'complete', sender: 'Hospital3MSP' });
    const report = await agent.verify();
    expect(report.mismatches).toEqual([]);
    expect(report.deliveriesChecked).toBe(1);
    expect(report.elementsChecked).toBe(onLedger?.elementCount);
  });

  it("one hospital's endorsement is refused; two of three suffice", async () => {
    const stateB = NetworkState.load(B.topology, B.state);
    const stateA = NetworkState.load(A.topology, A.state);
    const args = (s: NetworkState, h: string) => [
      `Hospital ${h.slice(-1)}`,
      `https://${h}.example:8443`,
      s.identity(h, 'gateway').certificatePem,
      readFileSync(join(s.dir, 'orgs', h, 'msp', 'cacerts', 'ca.pem'), 'utf8'),
    ];
    const h3Admin = stateB.connect('hospital3', 'orgadmin');
    const h1Admin = stateA.connect('hospital1', 'orgadmin');
    try {
      for (const [client, s, h, alone] of [
        [h3Admin, stateB, 'hospital3', 'Hospital3MSP'],
        [h1Admin, stateA, 'hospital1', 'Hospital1MSP'],
      ] as const) {
        const refused = await client
          .submit('Directory', 'RegisterHospital', args(s, h), { endorsingOrganizations: [alone] })
          .catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(LedgerError);
        expect((refused as LedgerError).message).toMatch(/ENDORSEMENT_POLICY_FAILURE/);
      }
      const two = await h3Admin.submit('Directory', 'RegisterHospital', args(stateB, 'hospital3'), {
        endorsingOrganizations: ['Hospital3MSP', 'Hospital1MSP'],
      });
      expect(two.blockNumber).toBeGreaterThan(0n);
    } finally {
      h3Admin.close();
      h1Admin.close();
    }
  });

  it("a suspended hospital's writes are refused; what it committed before stays verifiable", async () => {
    // hospital3's own CA revokes its gateway (Fabric honours only CRLs from the certificate's issuer);
    // the members approve the CRL in its MSP by a majority.
    expectOk(await b('network.sh', 'revoke', 'hospital3'));
    const crl = join(B.state, 'governance', 'suspend-hospital3', 'crl.pem');
    const first = await scriptAt({ ...A, env: { CRL: crl } }, 'network.sh', 'suspend', 'hospital3', 'hospital1');
    expect(first.code).toBe(0);
    expect(first.output).toMatch(/the orderer refused the update: BAD_REQUEST/);
    expect(first.output).toMatch(
      /Suspension of hospital3 not in effect yet: approved by Hospital1MSP; a majority of the 3 member hospitals .* must approve: 2/,
    );
    const gatewayWrite = async () => {
      const client = NetworkState.load(B.topology, B.state).connect('hospital3', 'gateway', 'hospital1');
      try {
        return await client.submit('PatientRegistry', 'WhoAmI', []).then(
          () => 'accepted',
          (e: unknown) => (e as Error).message,
        );
      } finally {
        client.close();
      }
    };
    expect(expectOk(await a('network.sh', 'suspend', 'hospital3', 'hospital2'))).toMatch(/hospital3 suspended/);
    const refusal = await until('the suspension to reach hospital1', async () => {
      const r = await gatewayWrite();
      return r === 'accepted' ? undefined : r;
    });
    expect(refusal).toMatch(/revoked|access denied|creator/i);

    // Its earlier delivery: still on the ledger, still verified by the patient's agent.
    const report = await agent.verify();
    expect(report.deliveriesChecked).toBe(1);
    expect(report.mismatches).toEqual([]);
  });
});
