// The embedded network signs with @phr/ledger-client's lowS; its index also loads fabric-gateway, whose
// ES-module-only @noble/curves this project's jest transform does not compile. Only the signer is needed.
jest.mock('@phr/ledger-client', () => jest.requireActual('@phr/ledger-client/ecdsa-signer'));

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { common } from '@hyperledger/fabric-protos';
import { computeConfigUpdate, genesisBlock, LocalIdentity } from '@phr/embedded-fabric';
import {
  applicationOrgGroup,
  CHANNEL_ID,
  createTestOrg,
  freePort,
  keyPem,
  TestChannel,
} from '@phr/embedded-fabric/testing';
import {
  applicationMspIds,
  configFromBlock,
  GovernanceError,
  isMembersGoverned,
  withHospital,
  withMembersGovernance,
} from './channel-config';
import {
  configSigners,
  fetchBlock,
  signConfigUpdate,
  submitConfigUpdate,
  updateEnvelope,
  type OrdererEndpoint,
} from './config-transactions';

/** The embedded orderer's process entry, as the network scripts run it (built by `tsc -b` before the unit tests). */
const ORDERER_MAIN = join(__dirname, '..', '..', 'embedded', 'dist', 'orderer', 'main.js');
const FOUNDERS = ['Hospital1MSP', 'Hospital2MSP'];

/** Writes a signing identity as an MSP folder (signcerts/, keystore/*_sk). */
function mspFolder(dir: string, certificatePem: string, privateKeyPem: string): string {
  mkdirSync(join(dir, 'signcerts'), { recursive: true });
  mkdirSync(join(dir, 'keystore'), { recursive: true });
  writeFileSync(join(dir, 'signcerts', 'cert.pem'), certificatePem);
  writeFileSync(join(dir, 'keystore', 'key_sk'), privateKeyPem);
  return dir;
}

/** Starts the orderer on the channel's governed genesis block; resolves once it logs that it started. */
async function startOrderer(
  channel: TestChannel,
  genesis: common.Block,
): Promise<{ child: ChildProcess; port: number }> {
  const dir = join(channel.dir, 'orderer0');
  const ca = channel.orderer.ca;
  const signer = ca.issue({ cn: 'orderer0', ous: ['orderer'] });
  const tls = ca.issue({ cn: 'orderer0', ous: ['orderer'], hosts: ['127.0.0.1', 'localhost'] });
  mkdirSync(join(dir, 'tls'), { recursive: true });
  writeFileSync(join(dir, 'tls', 'server.crt'), tls.certificatePem);
  writeFileSync(join(dir, 'tls', 'server.key'), keyPem(tls.key));
  writeFileSync(join(dir, 'genesis.block'), genesis.serializeBinary());
  const [port, ops] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      ORDERER_MAIN,
      ...['--id', 'orderer0', '--msp-id', channel.orderer.mspId],
      ...['--msp-dir', mspFolder(join(dir, 'msp'), signer.certificatePem, keyPem(signer.key))],
      ...['--tls-cert', join(dir, 'tls', 'server.crt'), '--tls-key', join(dir, 'tls', 'server.key')],
      ...['--listen', `127.0.0.1:${port}`, '--operations', `127.0.0.1:${ops}`],
      ...['--data', join(dir, 'data'), '--genesis-block', join(dir, 'genesis.block')],
    ],
    { env: { ...process.env, PHR_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      logs.push(line);
      if (line.includes('"event":"started"')) resolve();
    });
    child.stderr?.on('data', (b: Buffer) => logs.push(b.toString()));
    child.once('exit', (code) => reject(new Error(`the orderer exited (${code}):\n${logs.join('\n')}`)));
  });
  return { child, port };
}

describe('submitConfigUpdate and fetchBlock against an embedded orderer', () => {
  const channel = new TestChannel(undefined, { batchTimeout: '100ms' });
  const hospital3 = createTestOrg(channel.dir, 'hospital3', 'Hospital3MSP');
  const [h1, h2, h3] = [channel.hospital1.admin(), channel.hospital2.admin(), hospital3.admin()];
  const genesis = genesisBlock(CHANNEL_ID, withMembersGovernance(channel.config.config, FOUNDERS));
  let child: ChildProcess | undefined;
  let orderer: OrdererEndpoint;

  beforeAll(async () => {
    const started = await startOrderer(channel, genesis);
    child = started.child;
    orderer = { address: `127.0.0.1:${started.port}`, tlsRootCertPem: channel.orderer.ca.certificatePem };
  }, 15_000);
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    channel.remove();
  });

  const error = async (p: Promise<unknown>): Promise<GovernanceError> => {
    try {
      await p;
    } catch (err) {
      expect(err).toBeInstanceOf(GovernanceError);
      return err as GovernanceError;
    }
    throw new Error('no error');
  };
  /** Hospital 3 joining: the update from the genesis configuration, signed by `signers`. */
  const joinHospital3 = (signers: LocalIdentity[]) => {
    const current = configFromBlock(genesis);
    const updated = withHospital(current, 'Hospital3MSP', applicationOrgGroup(hospital3), FOUNDERS);
    let envelope = updateEnvelope(computeConfigUpdate(CHANNEL_ID, current, updated));
    for (const s of signers) envelope = signConfigUpdate(envelope, s);
    return envelope;
  };

  it("fetches the channel's config block and newest block as a member's admin", async () => {
    const config = await fetchBlock(h1, orderer, CHANNEL_ID, 'config', 3000);
    expect(config.getHeader()?.getNumber()).toBe(0);
    expect(isMembersGoverned(configFromBlock(config), FOUNDERS)).toBe(true);
    expect((await fetchBlock(h2, orderer, CHANNEL_ID, 'newest', 3000)).getHeader()?.getNumber()).toBe(0);
    expect(Buffer.from((await fetchBlock(h2, orderer, CHANNEL_ID, 0, 3000)).serializeBinary())).toEqual(
      Buffer.from(genesis.serializeBinary()),
    );
  });

  it('is told NOT_A_MEMBER when its organisation is not in the channel', async () => {
    expect((await error(fetchBlock(h3, orderer, CHANNEL_ID, 'config', 3000))).code).toBe('NOT_A_MEMBER');
  });

  it('has the update refused (REFUSED, with the reason) without the majority, and ordered with it', async () => {
    const refused = await error(submitConfigUpdate(joinHospital3([h1]), h1, orderer, 3000));
    expect(refused.code).toBe('REFUSED');
    expect(refused.message).toMatch(/^got unexpected status: BAD_REQUEST -- /);
    expect(refused.message).toMatch(/policy for \[Group\] {2}\/Channel\/Application not satisfied/);

    const envelope = joinHospital3([h1, h2]);
    await submitConfigUpdate(envelope, h2, orderer, 3000);
    // block 1 is the config block: it blocks until ready, so no polling
    const block = await fetchBlock(h1, orderer, CHANNEL_ID, 1, 3000);
    const config = configFromBlock(block);
    expect(applicationMspIds(config)).toEqual(['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP', 'PatientsMSP']);
    expect(isMembersGoverned(config, [...FOUNDERS, 'Hospital3MSP'])).toBe(true);
    // the block records who approved it (`phr-governance config approvals`)
    const [first] = block.getData()?.getDataList_asU8() ?? [];
    const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(first!).getPayload_asU8());
    const lastUpdate = common.ConfigEnvelope.deserializeBinary(payload.getData_asU8()).getLastUpdate();
    expect(configSigners(lastUpdate!.serializeBinary()).map((s) => s.mspId)).toEqual(FOUNDERS);

    expect((await fetchBlock(h3, orderer, CHANNEL_ID, 'config', 3000)).getHeader()?.getNumber()).toBe(1);
    // the same update again is stale: hospital 3 is a member already
    expect((await error(submitConfigUpdate(envelope, h1, orderer, 3000))).code).toBe('REFUSED');
  });

  it('is told UNREACHABLE when no orderer listens there', async () => {
    const nowhere = { ...orderer, address: `127.0.0.1:${await freePort()}` };
    const started = Date.now();
    expect((await error(submitConfigUpdate(joinHospital3([h1, h2]), h1, nowhere, 1500))).code).toBe('UNREACHABLE');
    expect((await error(fetchBlock(h1, nowhere, CHANNEL_ID, 'newest', 1500))).code).toBe('UNREACHABLE');
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('refuses an orderer whose TLS certificate its CA did not issue', async () => {
    const stranger = { ...orderer, tlsRootCertPem: channel.hospital1.ca.certificatePem };
    expect((await error(fetchBlock(h1, stranger, CHANNEL_ID, 'newest', 1500))).code).toBe('UNREACHABLE');
  });
});
