import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { HospitalRecord } from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import { DirectoryContract } from '@phr/chaincode';
import { forNewPatient, isPatientBundleFile, loadBundle, mrnOf, smallBundle, syntheaFiles } from '@phr/test-support';
import { makeCa, type Issued, type TestCa } from '@phr/test-support';
import { Agent } from '../src/agent';
import type { AgentConnectors } from '../src/connectors';
import type { AgentLedger } from '../src/ledger/agent-ledger';
import type { Logger } from '../src/logger';
import type { HospitalProfile } from '../src/profile/network-profile';
import type { GatewayTransport, WakeupRegistration } from '../src/transport/gateway-transport';
import { AgentHarness, PASSPHRASE } from './support/agent-harness';

jest.setTimeout(120_000);

const H3 = 'Hospital3MSP';
const H3_URL = 'https://gw.hospital3.example:8443/';
const directory = new DirectoryContract();

/** Hospital 3's gateway as the agent reaches it: an empty mailbox that counts what it is asked. */
class FakeGateway implements GatewayTransport {
  readonly fetches: { after: number; waitMs: number }[] = [];
  readonly wakeups: WakeupRegistration[] = [];
  linkCodes = 0;
  async fetchMail(after: number, waitMs: number) {
    this.fetches.push({ after, waitMs });
    return { messages: [], next: after };
  }
  async ack(): Promise<void> {}
  async registerWakeup(registration: WakeupRegistration) {
    this.wakeups.push(registration);
    return { effectiveChannel: registration.channel };
  }
  async issueLinkCode() {
    this.linkCodes += 1;
    return { code: 'H3CDE-LINK', expiresAt: '2099-01-01T00:00:00.000Z' };
  }
  async replyPull() {
    return { status: 'accepted' };
  }
  // the life-cycle calls are not part of these tests
  putBackup(): never {
    throw new Error('not used here');
  }
  getBackup(): never {
    throw new Error('not used here');
  }
  listBackups(): never {
    throw new Error('not used here');
  }
  requestRebuild(): never {
    throw new Error('not used here');
  }
  requestErasure(): never {
    throw new Error('not used here');
  }
  postResearchExtract(): never {
    throw new Error('not used here');
  }
  async close(): Promise<void> {}
}

interface Captured {
  level: 'warn' | 'info';
  obj: object;
  msg: string;
}

function capture(): { log: Logger; lines: Captured[] } {
  const lines: Captured[] = [];
  return {
    lines,
    log: {
      debug() {},
      error() {},
      info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
      warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    },
  };
}

let h: AgentHarness;
let h3Ca: TestCa;
let h3Admin: Issued;
let h3Gateway: Issued;

beforeAll(async () => {
  h = await AgentHarness.create();
  h3Ca = await makeCa(H3);
  h3Admin = await h3Ca.issue('admin', { attrs: { 'phr.role': 'admin' } });
  h3Gateway = await h3Ca.issue('gateway', { attrs: { 'phr.role': 'hospital-gateway' } });
});
afterAll(async () => {
  await h.close();
});

/** Hospital 3 joined the network and its admin put it in the directory, through the real chaincode. */
async function registerHospital3(): Promise<void> {
  await h.gw.ledger.world.invoke(
    directory,
    'RegisterHospital',
    ['Hospital Three', H3_URL, h3Gateway.certificatePem, h3Ca.certificatePem],
    { mspId: H3, certificatePem: h3Admin.certificatePem },
  );
}

/**
 * The harness's connectors, with hospital 3's gateway faked and the ledger's directory answer
 * replaced when `listHospitals` is given.
 */
function connectorsWith(
  h3Gateway: FakeGateway,
  listHospitals?: AgentLedger['listHospitals'],
): AgentConnectors & { gatewaysMade: string[] } {
  const base = h.connectors;
  const gatewaysMade: string[] = [];
  return {
    gatewaysMade,
    enroller: base.enroller,
    ledger: (profile, identity) => {
      const ledger = base.ledger(profile, identity);
      return listHospitals ? Object.assign(ledger, { listHospitals }) : ledger;
    },
    gateway: (hospital: HospitalProfile, pseudonym, identity) => {
      gatewaysMade.push(hospital.name);
      return hospital.mspId === H3 ? h3Gateway : base.gateway(hospital, pseudonym, identity);
    },
  };
}

async function newHome(): Promise<string> {
  const { agent, home } = await h.newAgent();
  await agent.close();
  return home;
}

function profileOnDisk(home: string): { hospitals: HospitalProfile[] } & Record<string, unknown> {
  return JSON.parse(readFileSync(join(home, 'profile.json'), 'utf8')) as { hospitals: HospitalProfile[] };
}

describe("hospitals that join later, from the ledger's directory", () => {
  it('adds a new hospital on sync, drains its gateway in the same sync, and still knows it after a restart', async () => {
    const home = await newHome();
    const before = profileOnDisk(home);
    await registerHospital3();
    // Hospital 1 also registers itself, with another URL: the agent keeps what it was initialised with.
    await h.gw.ledger.world.invoke(
      directory,
      'RegisterHospital',
      [
        'Hospital One (moved)',
        'https://moved.hospital1.example/fhir',
        h.gw.clients.gatewayIdentity.certificatePem,
        h.gw.hospitalCa.certificatePem,
      ],
      { mspId: h.gw.config.hospital.mspId, certificatePem: h.gw.clients.admin.certificatePem },
    );

    const fake = new FakeGateway();
    const connectors = connectorsWith(fake);
    const { log, lines } = capture();
    const agent = await Agent.open(home, PASSPHRASE, { connectors, log });
    expect(agent.profile.hospitals.map((x) => x.name)).toEqual(['hospital1']);

    const report = await agent.sync();
    expect(report.unreachable).toEqual([]);
    expect(agent.profile.hospitals.map((x) => [x.name, x.mspId])).toEqual([
      ['hospital1', 'Hospital1MSP'],
      ['hospital3', H3],
    ]);
    const learned = agent.profile.hospitals[1] as HospitalProfile;
    expect(learned).toMatchObject({
      displayName: 'Hospital Three',
      gatewayUrl: H3_URL,
      caRootCertPem: h3Ca.certificatePem.trim() + '\n',
    });
    expect(learned.peer).toBeUndefined();
    // Its mailbox was drained in this very sync, after its wake-up registration.
    expect(fake.wakeups).toEqual([{ channel: 'local' }]);
    expect(fake.fetches).toEqual([{ after: 0, waitMs: 0 }]);
    expect(lines).toContainEqual({
      level: 'info',
      obj: { hospital: 'hospital3', mspId: H3 },
      msg: 'hospital learned from the directory',
    });

    // Hospital 1 is exactly as the device was initialised: same URL, same CA, same peer.
    expect(agent.profile.hospitals[0]).toEqual(h.profile.hospitals[0]);

    // A link code for the new hospital, by its profile name or its MSP ID.
    expect(await agent.linkCode('hospital3')).toEqual({ code: 'H3CDE-LINK', expiresAt: '2099-01-01T00:00:00.000Z' });
    await agent.linkCode(H3);
    expect(fake.linkCodes).toBe(2);

    // A second sync learns nothing new and does not register the wake-up again.
    await agent.sync();
    expect(agent.profile.hospitals).toHaveLength(2);
    expect(fake.wakeups).toHaveLength(1);
    expect(fake.fetches).toHaveLength(2);
    await agent.close();

    // On disk: the same file with hospital 3 appended, replaced whole, owner-only.
    const after = profileOnDisk(home);
    expect(after).toEqual({ ...before, hospitals: [...before.hospitals, learned] });
    expect((statSync(join(home, 'profile.json')).mode & 0o777).toString(8)).toBe('600');

    // After a restart, known before any sync.
    const reopened = await Agent.open(home, PASSPHRASE, { connectors: connectorsWith(new FakeGateway()) });
    expect(reopened.profile.hospitals.map((x) => x.name)).toEqual(['hospital1', 'hospital3']);
    expect((await reopened.status()).hospitals).toEqual([
      { name: 'hospital1', mspId: 'Hospital1MSP' },
      { name: 'hospital3', mspId: H3 },
    ]);
    await reopened.close();
  });

  it('finds a hospital that joined since the last sync when the patient asks for its link code', async () => {
    const home = await newHome();
    await registerHospital3();
    const fake = new FakeGateway();
    const agent = await Agent.open(home, PASSPHRASE, { connectors: connectorsWith(fake) });
    expect(await agent.linkCode('hospital3')).toMatchObject({ code: 'H3CDE-LINK' });
    expect(profileOnDisk(home).hospitals.map((x) => x.name)).toEqual(['hospital1', 'hospital3']);
    await expect(agent.linkCode('hospital9')).rejects.toMatchObject({ code: 'INVALID_PROFILE' });
    await agent.close();
  });

  it('ignores a directory entry it cannot use, logging why without its contents', async () => {
    const home = await newHome();
    const before = readFileSync(join(home, 'profile.json'), 'utf8');
    const real = await h3Ca.issue('gateway', { attrs: { 'phr.role': 'hospital-gateway' } });
    const entry = (mspId: string, over: Partial<HospitalRecord>): HospitalRecord => ({
      docType: 'hospital',
      mspId,
      displayName: `Hospital ${mspId}`,
      gatewayUrl: 'https://gw.example:8443/',
      signingCertificate: real.certificatePem,
      caCertificate: h3Ca.certificatePem,
      updatedAt: '2026-06-01T00:00:00.000Z',
      ...over,
    });
    const records = [
      entry('PlainHttpMSP', { gatewayUrl: 'http://gw.example/' }),
      entry('LeafAsCaMSP', { caCertificate: real.certificatePem }),
      entry('ForeignSignerMSP', { signingCertificate: h.gw.clients.gatewayIdentity.certificatePem }),
    ];
    const fake = new FakeGateway();
    const { log, lines } = capture();
    const connectors = connectorsWith(fake, async () => records);
    const agent = await Agent.open(home, PASSPHRASE, { connectors, log });
    const report = await agent.sync();
    expect(report.unreachable).toEqual([]);
    expect(agent.profile.hospitals.map((x) => x.name)).toEqual(['hospital1']);
    expect(connectors.gatewaysMade).toEqual(['hospital1']);
    expect(readFileSync(join(home, 'profile.json'), 'utf8')).toBe(before);
    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings).toEqual([
      {
        level: 'warn',
        obj: { mspId: 'PlainHttpMSP', reason: 'the gateway URL is not https' },
        msg: 'directory entry ignored',
      },
      {
        level: 'warn',
        obj: { mspId: 'LeafAsCaMSP', reason: 'the CA certificate is not a CA certificate' },
        msg: 'directory entry ignored',
      },
      {
        level: 'warn',
        obj: { mspId: 'ForeignSignerMSP', reason: "the gateway signing certificate was not issued by the entry's CA" },
        msg: 'directory entry ignored',
      },
    ]);
    expect(JSON.stringify(lines)).not.toContain('BEGIN CERTIFICATE');
    expect(JSON.stringify(lines)).not.toContain('gw.example');
    // Said once, not on every sync.
    await agent.sync();
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(3);
    await agent.close();
  });

  it('syncs with the hospitals it knows when the directory cannot be read', async () => {
    const { agent: first, home } = await h.newAgent();
    const bundle = smallBundle(forNewPatient(loadBundle(syntheaFiles().find(isPatientBundleFile)!), 'dir-down'), 4);
    await h.link(first, mrnOf(bundle));
    await first.close();
    const deliveryId = await h.post(bundle);

    const { log, lines } = capture();
    const failing = async (): Promise<HospitalRecord[]> => {
      throw new LedgerError('UNAVAILABLE', 'ledger unavailable: test outage');
    };
    const agent = await Agent.open(home, PASSPHRASE, { connectors: connectorsWith(new FakeGateway(), failing), log });
    const report = await agent.sync();
    expect(report.deliveries).toEqual([{ deliveryId, hospital: 'hospital1', result: 'stored' }]);
    expect(agent.profile.hospitals.map((x) => x.name)).toEqual(['hospital1']);
    expect(lines).toContainEqual({
      level: 'warn',
      obj: { err: 'UNAVAILABLE: ledger unavailable: test outage' },
      msg: "could not read the ledger's directory of hospitals; using the known ones",
    });
    await agent.close();
  });
});
