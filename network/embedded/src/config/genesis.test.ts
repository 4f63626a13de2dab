import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { common, msp as mspProtos, orderer as ordererProtos, peer } from '@hyperledger/fabric-protos';
import { parse, stringify } from 'yaml';
import { blockDataHash, getMetadata } from '../ledger/block';
import { PolicyError } from '../policy/policy-dsl';
import { CHANNEL_ID, PROFILE, TestChannel } from '../testing/channel';
import { configFromConfigtx, ConfigtxError, genesisBlock } from './genesis';

describe('genesis block from configtx.yaml', () => {
  const channel = new TestChannel();
  afterAll(() => channel.remove());

  it('is block 0 holding one unsigned CONFIG envelope with the configuration', () => {
    const block = common.Block.deserializeBinary(channel.genesis.serializeBinary());
    const header = block.getHeader() as common.BlockHeader;
    expect(header.getNumber()).toBe(0);
    expect(header.getPreviousHash_asU8()).toHaveLength(0);
    const data = block.getData()?.getDataList_asU8() ?? [];
    expect(data).toHaveLength(1);
    expect(Buffer.from(header.getDataHash_asU8())).toEqual(blockDataHash(data));
    const env = common.Envelope.deserializeBinary(data[0] as Uint8Array);
    expect(env.getSignature_asU8()).toHaveLength(0);
    const payload = common.Payload.deserializeBinary(env.getPayload_asU8());
    const ch = common.ChannelHeader.deserializeBinary(payload.getHeader()?.getChannelHeader_asU8() as Uint8Array);
    expect(ch.getType()).toBe(common.HeaderType.CONFIG);
    expect(ch.getChannelId()).toBe(CHANNEL_ID);
    expect(ch.getEpoch()).toBe(0);
    expect(Math.abs((ch.getTimestamp()?.getSeconds() ?? 0) - Date.now() / 1000)).toBeLessThan(60);
    const sh = common.SignatureHeader.deserializeBinary(payload.getHeader()?.getSignatureHeader_asU8() as Uint8Array);
    expect(sh.getNonce_asU8()).toHaveLength(24);
    expect(ch.getTxId()).toBe(createHash('sha256').update(sh.getNonce_asU8()).digest('hex'));
    const config = common.ConfigEnvelope.deserializeBinary(payload.getData_asU8()).getConfig();
    expect(config?.getSequence()).toBe(0);
    const md = common.Metadata.deserializeBinary(getMetadata(block, common.BlockMetadataIndex.SIGNATURES));
    expect(common.OrdererBlockMetadata.deserializeBinary(md.getValue_asU8()).getLastConfig()?.getIndex()).toBe(0);
  });

  it('lays the groups out as configtxgen does, every mod_policy Admins', () => {
    const config = configFromConfigtx(channel.configtxFile, PROFILE);
    const root = config.getChannelGroup() as common.ConfigGroup;
    const groupNames = (g: common.ConfigGroup) => [...g.getGroupsMap().keys()].sort();
    expect(groupNames(root)).toEqual(['Application', 'Orderer']);
    const app = root.getGroupsMap().get('Application') as common.ConfigGroup;
    const ord = root.getGroupsMap().get('Orderer') as common.ConfigGroup;
    expect(groupNames(app)).toEqual(['Hospital1MSP', 'Hospital2MSP', 'PatientsMSP']);
    expect(groupNames(ord)).toEqual(['OrdererMSP']);
    expect([...root.getValuesMap().keys()].sort()).toEqual([
      'BlockDataHashingStructure',
      'Capabilities',
      'HashingAlgorithm',
    ]);
    expect([...ord.getValuesMap().keys()].sort()).toEqual([
      'BatchSize',
      'BatchTimeout',
      'Capabilities',
      'ChannelRestrictions',
      'ConsensusType',
    ]);
    const value = (g: common.ConfigGroup, k: string) => g.getValuesMap().get(k)?.getValue_asU8() as Uint8Array;
    expect(common.HashingAlgorithm.deserializeBinary(value(root, 'HashingAlgorithm')).getName()).toBe('SHA256');
    expect([...common.Capabilities.deserializeBinary(value(root, 'Capabilities')).getCapabilitiesMap().keys()]).toEqual(
      ['V3_0'],
    );
    expect([...common.Capabilities.deserializeBinary(value(app, 'Capabilities')).getCapabilitiesMap().keys()]).toEqual([
      'V2_5',
    ]);
    expect(ordererProtos.ConsensusType.deserializeBinary(value(ord, 'ConsensusType')).getType()).toBe('embedded');
    expect(ordererProtos.BatchTimeout.deserializeBinary(value(ord, 'BatchTimeout')).getTimeout()).toBe('200ms');
    const size = ordererProtos.BatchSize.deserializeBinary(value(ord, 'BatchSize'));
    expect([size.getMaxMessageCount(), size.getAbsoluteMaxBytes(), size.getPreferredMaxBytes()]).toEqual([
      500,
      10 * 1024 * 1024,
      2 * 1024 * 1024,
    ]);
    const h1 = app.getGroupsMap().get('Hospital1MSP') as common.ConfigGroup;
    expect([...h1.getValuesMap().keys()].sort()).toEqual(['AnchorPeers', 'MSP']);
    expect([...h1.getPoliciesMap().keys()].sort()).toEqual(['Admins', 'Endorsement', 'Readers', 'Writers']);
    const anchors = peer.AnchorPeers.deserializeBinary(value(h1, 'AnchorPeers')).getAnchorPeersList();
    expect(anchors.map((a) => `${a.getHost()}:${a.getPort()}`)).toEqual(['peer0.hospital1.example:7051']);
    const patients = app.getGroupsMap().get('PatientsMSP') as common.ConfigGroup;
    expect([...patients.getValuesMap().keys()]).toEqual(['MSP']);
    const ordOrg = ord.getGroupsMap().get('OrdererMSP') as common.ConfigGroup;
    expect(common.OrdererAddresses.deserializeBinary(value(ordOrg, 'Endpoints')).getAddressesList()).toEqual([
      'orderer0.example:7050',
    ]);
    const mspConfig = mspProtos.FabricMSPConfig.deserializeBinary(
      mspProtos.MSPConfig.deserializeBinary(value(h1, 'MSP')).getConfig_asU8(),
    );
    expect(mspConfig.getName()).toBe('Hospital1MSP');
    expect(mspConfig.getFabricNodeOus()?.getEnable()).toBe(true);
    const modPolicies: string[] = [];
    const walk = (g: common.ConfigGroup) => {
      modPolicies.push(g.getModPolicy());
      g.getValuesMap().forEach((v) => modPolicies.push(v.getModPolicy()));
      g.getPoliciesMap().forEach((p) => modPolicies.push(p.getModPolicy()));
      g.getGroupsMap().forEach(walk);
    };
    walk(root);
    expect(new Set(modPolicies)).toEqual(new Set(['Admins']));
  });

  it('reads sizes in bytes, KB and MB', () => {
    const doc = parse(readFileSync(channel.configtxFile, 'utf8')) as {
      Profiles: Record<string, { Orderer: { BatchSize: Record<string, unknown> } }>;
    };
    const size = (doc.Profiles[PROFILE] as { Orderer: { BatchSize: Record<string, unknown> } }).Orderer.BatchSize;
    size.AbsoluteMaxBytes = 99_000;
    size.PreferredMaxBytes = '512 KB';
    const file = join(channel.dir, 'sizes.yaml');
    writeFileSync(file, stringify(doc));
    const ord = configFromConfigtx(file, PROFILE)
      .getChannelGroup()
      ?.getGroupsMap()
      .get('Orderer') as common.ConfigGroup;
    const bs = ordererProtos.BatchSize.deserializeBinary(
      ord.getValuesMap().get('BatchSize')?.getValue_asU8() as Uint8Array,
    );
    expect([bs.getAbsoluteMaxBytes(), bs.getPreferredMaxBytes()]).toEqual([99_000, 512 * 1024]);
  });

  it.each([
    [
      'an unknown profile',
      (d: Doc) => ((d.Profiles.Other = d.Profiles[PROFILE]), delete d.Profiles[PROFILE]),
      ConfigtxError,
    ],
    [
      'a profile without Application',
      (d: Doc) => delete (d.Profiles[PROFILE] as Record<string, unknown>).Application,
      ConfigtxError,
    ],
    ['a bad size', (d: Doc) => (ordererOf(d).BatchSize.PreferredMaxBytes = '2 XB'), ConfigtxError],
    [
      'an unknown policy type',
      (d: Doc) => (ordererOf(d).Policies.Readers = { Type: 'Magic', Rule: 'x' }),
      ConfigtxError,
    ],
    [
      'a bad implicit rule',
      (d: Doc) => (ordererOf(d).Policies.Readers = { Type: 'ImplicitMeta', Rule: 'SOME Readers' }),
      ConfigtxError,
    ],
    [
      'an implicit rule without sub-policy',
      (d: Doc) => (ordererOf(d).Policies.Readers = { Type: 'ImplicitMeta', Rule: 'ANY' }),
      ConfigtxError,
    ],
    [
      'a bad signature rule',
      (d: Doc) => (ordererOf(d).Policies.Readers = { Type: 'Signature', Rule: "OR('X')" }),
      PolicyError,
    ],
  ])('refuses %s', (_what, change, error) => {
    const doc = parse(readFileSync(channel.configtxFile, 'utf8')) as Doc;
    change(doc);
    const file = join(channel.dir, 'bad.yaml');
    writeFileSync(file, stringify(doc));
    expect(() => configFromConfigtx(file, PROFILE)).toThrow(error);
  });

  it('gives each genesis block a fresh transaction id', () => {
    const config = configFromConfigtx(channel.configtxFile, PROFILE);
    const txId = (b: common.Block) =>
      common.ChannelHeader.deserializeBinary(
        common.Payload.deserializeBinary(
          common.Envelope.deserializeBinary(b.getData()?.getDataList_asU8()[0] as Uint8Array).getPayload_asU8(),
        )
          .getHeader()
          ?.getChannelHeader_asU8() as Uint8Array,
      ).getTxId();
    expect(txId(genesisBlock('phr', config))).not.toBe(txId(genesisBlock('phr', config)));
  });
});

interface Doc {
  Profiles: Record<string, unknown>;
}
function ordererOf(d: Doc) {
  return (d.Profiles[PROFILE] as { Orderer: { BatchSize: Record<string, unknown>; Policies: Record<string, unknown> } })
    .Orderer;
}
