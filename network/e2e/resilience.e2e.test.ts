/**
 * Conformance, continued: what the ledger keeps when nodes die. Processes are stopped through their
 * pid files (each runs in its own process group) and brought back with `network.sh up`, as an
 * operator would. Tests only one engine can run say so in their name and are reported, not hidden.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, randomUUID, generateKeyPairSync } from 'node:crypto';
import { GatewayError } from '@hyperledger/fabric-gateway';
import { common, peer } from '@hyperledger/fabric-protos';
import { newPseudonym } from '@phr/common';
import { configFromConfigtx } from '@phr/embedded-fabric';
import { script, state, until } from './harness';
import { blockAt, chainInfo, engine, headerHash, rawGateway, transactionsOf, type RawGateway } from './fabric';

const C = peer.TxValidationCode;
const root = () => randomBytes(32).toString('hex');
const utf8 = (b: Uint8Array) => Buffer.from(b).toString('utf8');

function pidOf(name: string): number | undefined {
  const f = join(state().dir, 'pids', `${name}.pid`);
  return existsSync(f) ? Number(readFileSync(f, 'utf8')) : undefined;
}
function kill(name: string, signal: NodeJS.Signals): void {
  const pid = pidOf(name);
  if (pid === undefined) throw new Error(`${name} has no pid file`);
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
async function waitDead(name: string): Promise<void> {
  const pid = pidOf(name);
  if (pid !== undefined) await until(`${name} to stop`, async () => (alive(pid) ? undefined : true), 15_000);
}
const runningOrderers = () =>
  state()
    .topology.orderers.nodes.map((n) => n.name)
    .filter((n) => pidOf(n) !== undefined);
const fabricOnly = () => (engine() === 'fabric' ? it : it.skip);

describe('conformance: what the network keeps when nodes die', () => {
  const open: RawGateway[] = [];
  const gw = (org: string, identity: string, hospital: string) => {
    const g = rawGateway(state().identity(org, identity), hospital);
    open.push(g);
    return g;
  };
  const pseudonym = newPseudonym();
  const record = (g: RawGateway, endorsingOrganizations?: string[]) =>
    g.network.getContract('phr', 'Commitments').newProposal('RecordDelivery', {
      arguments: [`res-${randomUUID()}`, pseudonym, root(), '3', '1', '[]'],
      ...(endorsingOrganizations ? { endorsingOrganizations } : {}),
    });

  beforeAll(async () => {
    await script('enroll.sh', 'patients', 'res-patient', 'patient');
    const patient = gw('patients', 'res-patient', 'hospital1');
    const key = generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    await patient.network.getContract('phr', 'PatientRegistry').submitTransaction('Register', pseudonym, key, 'X25519');
  });

  afterAll(() => open.forEach((g) => g.close()));

  it('with every orderer down, endorsement still works and Submit fails fast with UNAVAILABLE', async () => {
    const orderers = runningOrderers();
    expect(orderers.length).toBeGreaterThan(0);
    for (const o of orderers) kill(o, 'SIGTERM');
    for (const o of orderers) await waitDead(o);
    try {
      const h1 = gw('hospital1', 'gateway', 'hospital1');
      const tx = await record(h1).endorse();
      const started = Date.now();
      let err: unknown;
      try {
        await tx.submit();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).code).toBe(14); // UNAVAILABLE
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await script('network.sh', 'up');
    }
    const h1 = gw('hospital1', 'gateway', 'hospital1');
    const status = await until('the orderers to be back', async () => {
      try {
        return await (await (await record(h1).endorse()).submit()).getStatus();
      } catch {
        return undefined;
      }
    });
    expect(status.code).toBe(C.VALID);
  });

  it('a peer that was down catches up from the orderer', async () => {
    kill('peer0.hospital2', 'SIGTERM');
    await waitDead('peer0.hospital2');
    const h1 = gw('hospital1', 'gateway', 'hospital1');
    const missed: string[] = [];
    try {
      // Without hospital2 no majority can endorse: one hospital's endorsement still makes blocks.
      for (let i = 0; i < 3; i++) {
        const tx = await record(h1, ['Hospital1MSP']).endorse();
        expect((await (await tx.submit()).getStatus()).code).toBe(C.ENDORSEMENT_POLICY_FAILURE);
        missed.push(tx.getTransactionId());
      }
    } finally {
      await script('network.sh', 'up');
    }
    const h2 = gw('hospital2', 'gateway', 'hospital2');
    const target = (await chainInfo(h1.network)).height;
    await until('hospital2 to catch up', async () =>
      (await chainInfo(h2.network)).height >= target ? true : undefined,
    );
    for (let n = target - 3; n < target; n++) {
      expect(headerHash((await blockAt(h2.network, n)).getHeader()!)).toEqual(
        headerHash((await blockAt(h1.network, n)).getHeader()!),
      );
    }
    const onH2 = (await Promise.all([target - 3, target - 2, target - 1].map((n) => blockAt(h2.network, n)))).flatMap(
      transactionsOf,
    );
    for (const txId of missed) expect(onH2).toContainEqual({ txId, code: C.ENDORSEMENT_POLICY_FAILURE });
    // And it endorses again: a majority transaction commits.
    expect((await (await (await record(h1).endorse()).submit()).getStatus()).code).toBe(C.VALID);
  });

  it('survives kill -9 of every process: state, history, blocks and CA registrations are kept', async () => {
    const h1 = gw('hospital1', 'gateway', 'hospital1');
    const id = `res-${randomUUID()}`;
    const r = root();
    await h1.network
      .getContract('phr', 'Commitments')
      .submitTransaction('RecordDelivery', id, pseudonym, r, '3', '1', '[]');
    const before = await chainInfo(h1.network);
    const names = [
      ...state().topology.hospitals.flatMap((h) => [`gateway.${h.name}`, `chaincode.${h.name}`, `peer0.${h.name}`]),
      ...runningOrderers(),
      ...['orderer', 'patients', ...state().topology.hospitals.map((h) => h.name)].map((o) => `ca.${o}`),
    ];
    for (const n of names) if (pidOf(n) !== undefined) kill(n, 'SIGKILL');
    for (const n of names) await waitDead(n);
    expect(await script('network.sh', 'up')).toMatch(/Network is up\./);

    const again = gw('hospital2', 'gateway', 'hospital2');
    const after = await chainInfo(again.network);
    expect(after.height).toBeGreaterThanOrEqual(before.height);
    expect(headerHash((await blockAt(again.network, before.height - 1)).getHeader()!)).toEqual(before.current);
    const rec = JSON.parse(
      utf8(await again.network.getContract('phr', 'Commitments').evaluateTransaction('ReadDelivery', id)),
    );
    expect(rec).toMatchObject({ deliveryId: id, merkleRoot: r, status: 'waiting' });
    // CA registrations survived: an identity registered before is refused a second registration.
    await expect(script('enroll.sh', 'patients', 'res-patient', 'patient')).resolves.toMatch(/already enrolled/);
    const reg = JSON.parse(await script('register-patient.sh')) as { enrollmentId: string };
    await expect(script('register-patient.sh', reg.enrollmentId)).rejects.toThrow();
    // The chain goes on from where it was.
    const h1again = gw('hospital1', 'gateway', 'hospital1');
    const status = await (await (await record(h1again).endorse()).submit()).getStatus();
    expect(status.code).toBe(C.VALID);
    expect(Number(status.blockNumber)).toBeGreaterThanOrEqual(before.height);
  });

  fabricOnly()('[Fabric only: Raft] keeps ordering with one of three orderers down', async () => {
    const [first] = runningOrderers();
    if (!first) throw new Error('no orderer');
    kill(first, 'SIGTERM');
    await waitDead(first);
    try {
      const h1 = gw('hospital1', 'gateway', 'hospital1');
      const status = await until('a commit with one orderer down', async () => {
        try {
          return await (await (await record(h1).endorse()).submit()).getStatus();
        } catch {
          return undefined;
        }
      });
      expect(status.code).toBe(C.VALID);
    } finally {
      await script('network.sh', 'up');
    }
  });

  fabricOnly()(
    '[Fabric only: configtxgen] the embedded genesis tool builds the channel configuration configtxgen built',
    async () => {
      const genesis = common.Block.deserializeBinary(readFileSync(join(state().dir, 'channel', 'genesis.block')));
      const env = common.Envelope.deserializeBinary(genesis.getData()!.getDataList_asU8()[0]!);
      const theirs = common.ConfigEnvelope.deserializeBinary(
        common.Payload.deserializeBinary(env.getPayload_asU8()).getData_asU8(),
      ).getConfig()!;
      const ours = configFromConfigtx(join(state().dir, 'channel', 'configtx.yaml'), 'PhrChannel');
      // Consensus metadata (Raft consenters and options) is the one part the embedded tool leaves out.
      for (const c of [theirs, ours])
        c.getChannelGroup()!.getGroupsMap().get('Orderer')!.getValuesMap().del('ConsensusType');
      // Both through the wire, so that map entries compare in the same (sorted) order.
      expect(common.Config.deserializeBinary(ours.serializeBinary()).toObject()).toEqual(
        common.Config.deserializeBinary(theirs.serializeBinary()).toObject(),
      );
    },
  );
});
