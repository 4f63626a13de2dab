import { join } from 'node:path';
import { common, peer } from '@hyperledger/fabric-protos';
import type { ChannelConfig } from '../config/channel-config';
import { computeConfigUpdate, proposeConfigUpdate } from '../config/config-update';
import { currentConfig } from '../config/last-config';
import { getMetadata } from '../ledger/block';
import { PeerLedger } from '../ledger/peer-ledger';
import { StateLock } from '../ledger/state-lock';
import type { LocalIdentity } from '../node/local-identity';
import { CHANNEL_ID, createTestOrg, MAJORITY_OF_HOSPITALS, silentLogger, TestChannel } from '../testing/channel';
import {
  applicationGroup,
  applicationOrgGroup,
  configTx,
  configUpdateTx,
  signConfigUpdate,
  withApplicationOrg,
} from '../testing/config-updates';
import { commitGenesis, lifecycleWrites } from '../testing/packages';
import { endorsedEnvelope, ordererBlock, proposal, rwset } from '../testing/transactions';
import { BlockValidator } from './block-validator';
import { ChaincodeRegistry } from './chaincode-registry';
import { Committer } from './committer';

const C = peer.TxValidationCode;

/**
 * Config blocks as the peer's committer sees them: the update re-authorized against the
 * configuration in force, the carried configuration checked against what it produces, and the
 * new configuration in force from the next block on.
 */
describe('BlockValidator and Committer with config blocks', () => {
  const channel = new TestChannel();
  const [h1, h2] = [channel.hospital1, channel.hospital2];
  const hospital3 = createTestOrg(channel.dir, 'hospital3', 'Hospital3MSP');
  const hospital4 = createTestOrg(channel.dir, 'hospital4', 'Hospital4MSP');
  const orderer = channel.orderer.orderer();
  const admins = [h1.admin(), h2.admin()];
  const [peer1, peer2] = [h1.peer(), h2.peer()];
  let ledger: PeerLedger;
  let config: ChannelConfig;
  let committer: Committer;
  let registry: ChaincodeRegistry;
  const applied: ChannelConfig[] = [];

  beforeAll(() => {
    ledger = new PeerLedger(join(channel.dir, 'ledger.db'));
    const phr = { name: 'phr', version: '1.0', sequence: 1, endorsementPolicy: MAJORITY_OF_HOSPITALS };
    commitGenesis(ledger, channel.genesis, lifecycleWrites({ definitions: [phr] }));
    config = channel.config;
    const log = silentLogger();
    registry = new ChaincodeRegistry(ledger, 'Hospital1MSP', () => config, join(channel.dir, 'lifecycle'), log);
    committer = new Committer(ledger, new StateLock(), new BlockValidator(ledger, () => config, registry), log);
    committer.onConfig((next) => {
      config = next;
      applied.push(next);
    });
  });
  afterAll(() => {
    registry.close();
    ledger.close();
    channel.remove();
  });

  /** The CONFIG_UPDATE adding hospital 3, computed from the configuration in force, signed by `signers`. */
  const addHospital3 = (signers: LocalIdentity[] = admins) => {
    const update = computeConfigUpdate(CHANNEL_ID, config.config, withApplicationOrg(config.config, hospital3));
    const env = signConfigUpdate(update, signers);
    return { env, tx: configUpdateTx(env, h1.admin()) };
  };
  /** What an orderer makes of an update: the config tx carrying the configuration it produces. */
  const ordered = (u: ReturnType<typeof addHospital3>, next = proposeConfigUpdate(config, u.env)) =>
    configTx(next, u.tx, orderer);
  /** A client's transaction on `phr`, endorsed by both hospitals. */
  const clientTx = (creator: LocalIdentity) => {
    const p = proposal(creator);
    return endorsedEnvelope(p, {
      results: rwset('phr', { writes: [{ key: `k-${p.txId}`, value: 'v' }] }),
      endorsers: [peer1, peer2],
    });
  };
  /** Orders the envelopes in the next block (LAST_CONFIG = itself when `isConfig`) and commits it. */
  const commit = async (envelopes: Uint8Array[], isConfig = false) => {
    const number = ledger.height();
    const block = ordererBlock(
      number,
      ledger.headerHash(number - 1) as Uint8Array,
      envelopes,
      orderer,
      isConfig ? number : currentConfig(ledger.height(), (n) => ledger.block(n)).index,
    );
    await committer.commit(block.serializeBinary());
    const stored = common.Block.deserializeBinary(ledger.block(number) as Uint8Array);
    return [...getMetadata(stored, common.BlockMetadataIndex.TRANSACTIONS_FILTER)];
  };
  /** Commits the block and checks it changed nothing: same configuration, no config event. */
  const changesNothing = async (envelopes: Uint8Array[]) => {
    const before = config;
    const events = applied.length;
    const codes = await commit(envelopes, true);
    expect(config).toBe(before);
    expect(applied).toHaveLength(events);
    return codes;
  };

  it('a new organisation’s client is no member before the update', async () => {
    expect(await commit([clientTx(hospital3.client())])).toEqual([C.BAD_CREATOR_SIGNATURE]);
  });

  it('INVALID_CONFIG_TRANSACTION for a tampered config block: the carried config is not what the update produces', async () => {
    const u = addHospital3();
    const honest = proposeConfigUpdate(config, u.env);
    // Hospital 4 slipped in beside the authorized hospital 3.
    const extra = common.Config.deserializeBinary(honest.serializeBinary());
    applicationGroup(extra).getGroupsMap().set('Hospital4MSP', applicationOrgGroup(hospital4));
    // The authorized change, with the Application admins policy quietly loosened.
    const looser = common.Config.deserializeBinary(honest.serializeBinary());
    const admin = applicationGroup(looser).getPoliciesMap().get('Admins') as common.ConfigPolicy;
    const meta = common.ImplicitMetaPolicy.deserializeBinary(admin.getPolicy()?.getValue_asU8() as Uint8Array);
    meta.setRule(common.ImplicitMetaPolicy.Rule.ANY);
    admin.getPolicy()?.setValue(meta.serializeBinary());
    // The right content at the wrong sequence.
    const sequence = common.Config.deserializeBinary(honest.serializeBinary());
    sequence.setSequence(7);
    for (const next of [extra, looser, sequence]) {
      const { envelope, txId } = ordered(u, next);
      expect(await changesNothing([envelope])).toEqual([C.INVALID_CONFIG_TRANSACTION]);
      expect(ledger.txStatus(txId)?.code).toBe(C.INVALID_CONFIG_TRANSACTION);
    }
    expect(config.applicationOrg('Hospital4MSP')).toBeUndefined();
    expect(config.applicationOrg('Hospital3MSP')).toBeUndefined();
    // The last config block is still the genesis block, for a restarting peer too.
    expect(currentConfig(ledger.height(), (n) => ledger.block(n)).index).toBe(0);
  });

  it('INVALID_CONFIG_TRANSACTION for an update the channel’s policies do not authorize, even as the orderer carries it', async () => {
    const oneAdmin = addHospital3([h1.admin()]);
    // A faulty orderer orders it anyway, with the configuration it would produce.
    const next = common.Config.deserializeBinary(config.config.serializeBinary());
    next.setSequence(config.sequence + 1);
    applicationGroup(next).getGroupsMap().set('Hospital3MSP', applicationOrgGroup(hospital3));
    applicationGroup(next).setVersion(1);
    expect(await changesNothing([ordered(oneAdmin, next).envelope])).toEqual([C.INVALID_CONFIG_TRANSACTION]);
    // Nor a config transaction carrying no update at all.
    expect(await changesNothing([configTx(next, new common.Envelope().serializeBinary(), orderer).envelope])).toEqual([
      C.INVALID_CONFIG_TRANSACTION,
    ]);
    expect(currentConfig(ledger.height(), (n) => ledger.block(n)).index).toBe(0);
  });

  it('BAD_CREATOR_SIGNATURE for a config transaction not made by an orderer of the channel', async () => {
    const u = addHospital3();
    const byAdmin = configTx(proposeConfigUpdate(config, u.env), u.tx, h1.admin());
    expect(await changesNothing([byAdmin.envelope])).toEqual([C.BAD_CREATOR_SIGNATURE]);
  });

  it('INVALID_CONFIG_TRANSACTION for a config transaction that is not alone in its block; the others are judged as usual', async () => {
    const u = addHospital3();
    const codes = await changesNothing([clientTx(h1.client()), ordered(u).envelope]);
    expect(codes).toEqual([C.VALID, C.INVALID_CONFIG_TRANSACTION]);
    expect(await changesNothing([ordered(u).envelope, ordered(addHospital3()).envelope])).toEqual([
      C.INVALID_CONFIG_TRANSACTION,
      C.INVALID_CONFIG_TRANSACTION,
    ]);
    // Those blocks name themselves as LAST_CONFIG: a restarting peer still takes the genesis config.
    expect(currentConfig(ledger.height(), (n) => ledger.block(n)).index).toBe(0);
  });

  it('commits a valid config block: the new configuration is in force from the next block, and for a restart', async () => {
    const u = addHospital3();
    const { envelope, txId } = ordered(u);
    const before = config;
    expect(await commit([envelope], true)).toEqual([C.VALID]);
    expect(ledger.txStatus(txId)?.code).toBe(C.VALID);
    expect(applied).toHaveLength(1);
    expect(config).not.toBe(before);
    expect(config.sequence).toBe(1);
    expect(config.applicationOrg('Hospital3MSP')).toBeDefined();
    // Hospital 3's client is a member now; hospital 4's still is not.
    expect(await commit([clientTx(hospital3.client()), clientTx(hospital4.client())])).toEqual([
      C.VALID,
      C.BAD_CREATOR_SIGNATURE,
    ]);
    // What a restarting peer reads: the config block named by the last block's LAST_CONFIG.
    const restarted = currentConfig(ledger.height(), (n) => ledger.block(n));
    expect(restarted.index).toBe(ledger.height() - 2);
    expect(Buffer.from(restarted.config.config.serializeBinary())).toEqual(
      Buffer.from(config.config.serializeBinary()),
    );
    // The same update again: its read set is stale now.
    expect(await changesNothing([ordered(u, proposeConfigUpdate(before, u.env)).envelope])).toEqual([
      C.INVALID_CONFIG_TRANSACTION,
    ]);
  });
});
