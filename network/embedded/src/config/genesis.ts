import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { common, orderer as ordererProtos, peer as peerProtos } from '@hyperledger/fabric-protos';
import { Timestamp } from 'google-protobuf/google/protobuf/timestamp_pb';
import { parse } from 'yaml';
import { newBlock, setMetadata } from '../ledger/block';
import { parseSignaturePolicy } from '../policy/policy-dsl';
import { mspConfigFromFolder } from './msp-folder';

export class ConfigtxError extends Error {
  override readonly name = 'ConfigtxError';
  readonly code = 'CONFIGTX_INVALID';
}

export interface RawPolicy {
  Type: 'Signature' | 'ImplicitMeta';
  Rule: string;
}
export interface RawOrg {
  Name: string;
  ID: string;
  MSPDir: string;
  Policies: Record<string, RawPolicy>;
  OrdererEndpoints?: string[];
  AnchorPeers?: { Host: string; Port: number }[];
}
interface RawProfile {
  Policies: Record<string, RawPolicy>;
  Capabilities?: Record<string, boolean>;
  Orderer: {
    OrdererType: string;
    BatchTimeout: string;
    BatchSize: { MaxMessageCount: number; AbsoluteMaxBytes: string; PreferredMaxBytes: string };
    Organizations: RawOrg[];
    Policies: Record<string, RawPolicy>;
    Capabilities?: Record<string, boolean>;
  };
  Application: {
    Organizations: RawOrg[];
    Policies: Record<string, RawPolicy>;
    Capabilities?: Record<string, boolean>;
  };
}

const ADMINS = 'Admins';

function bytesSize(text: string | number): number {
  if (typeof text === 'number') return text;
  const m = /^\s*(\d+)\s*(KB|MB|GB)?\s*$/i.exec(text);
  if (!m) throw new ConfigtxError(`bad size ${text}`);
  const unit = { KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[(m[2] ?? '').toUpperCase() as 'KB'] ?? 1;
  return Number(m[1]) * unit;
}

function value(bytes: Uint8Array): common.ConfigValue {
  const v = new common.ConfigValue();
  v.setValue(bytes);
  v.setModPolicy(ADMINS);
  return v;
}

function capabilities(caps: Record<string, boolean> | undefined): common.ConfigValue {
  const c = new common.Capabilities();
  for (const [name, on] of Object.entries(caps ?? {}))
    if (on) c.getCapabilitiesMap().set(name, new common.Capability());
  return value(c.serializeBinary());
}

/** A configtx.yaml policy (Signature or ImplicitMeta) as a ConfigPolicy, mod_policy Admins. */
export function configPolicy(raw: RawPolicy): common.ConfigPolicy {
  const p = new common.Policy();
  if (raw.Type === 'Signature') {
    p.setType(common.Policy.PolicyType.SIGNATURE);
    p.setValue(parseSignaturePolicy(raw.Rule).serializeBinary());
  } else if (raw.Type === 'ImplicitMeta') {
    const [rule, sub] = raw.Rule.trim().split(/\s+/);
    const rules = { ANY: 0, ALL: 1, MAJORITY: 2 } as const;
    const r = rules[(rule ?? '').toUpperCase() as keyof typeof rules];
    if (r === undefined || !sub) throw new ConfigtxError(`bad ImplicitMeta rule ${raw.Rule}`);
    const meta = new common.ImplicitMetaPolicy();
    meta.setRule(r);
    meta.setSubPolicy(sub);
    p.setType(common.Policy.PolicyType.IMPLICIT_META);
    p.setValue(meta.serializeBinary());
  } else {
    const type: unknown = raw.Type; // the YAML may hold any other string
    throw new ConfigtxError(`unknown policy type ${String(type)}`);
  }
  const cp = new common.ConfigPolicy();
  cp.setPolicy(p);
  cp.setModPolicy(ADMINS);
  return cp;
}

function group(
  values: Record<string, common.ConfigValue>,
  policies: Record<string, RawPolicy>,
  groups: Record<string, common.ConfigGroup> = {},
): common.ConfigGroup {
  const g = new common.ConfigGroup();
  g.setModPolicy(ADMINS);
  for (const [k, v] of Object.entries(values)) g.getValuesMap().set(k, v);
  for (const [k, p] of Object.entries(policies)) g.getPoliciesMap().set(k, configPolicy(p));
  for (const [k, c] of Object.entries(groups)) g.getGroupsMap().set(k, c);
  return g;
}

/** An organisation's group as configtxgen makes it from configtx.yaml (`-printOrg`): MSP, policies, endpoints or anchor peers. */
export function organizationGroup(org: RawOrg, kind: 'orderer' | 'application'): common.ConfigGroup {
  const values: Record<string, common.ConfigValue> = {
    MSP: value(mspConfigFromFolder(org.ID, org.MSPDir).serializeBinary()),
  };
  if (kind === 'orderer' && org.OrdererEndpoints?.length) {
    const a = new common.OrdererAddresses();
    a.setAddressesList(org.OrdererEndpoints);
    values.Endpoints = value(a.serializeBinary());
  }
  if (kind === 'application' && org.AnchorPeers?.length) {
    const a = new peerProtos.AnchorPeers();
    a.setAnchorPeersList(
      org.AnchorPeers.map((p) => {
        const ap = new peerProtos.AnchorPeer();
        ap.setHost(p.Host);
        ap.setPort(p.Port);
        return ap;
      }),
    );
    values.AnchorPeers = value(a.serializeBinary());
  }
  return group(values, org.Policies);
}

/**
 * The channel configuration a configtx.yaml profile describes, built the way configtxgen lays it
 * out (groups Orderer and Application, one group per organisation with its MSP, policies and
 * endpoints or anchor peers; every mod_policy Admins).
 *
 * @throws ConfigtxError when the profile is missing or malformed.
 */
export function configFromConfigtx(configtxFile: string, profileName: string): common.Config {
  const doc = parse(readFileSync(configtxFile, 'utf8')) as { Profiles?: Record<string, RawProfile> };
  const profile = doc.Profiles?.[profileName];
  if (!profile?.Orderer || !profile.Application) {
    throw new ConfigtxError(
      `profile ${profileName} with Orderer and Application sections not found in ${configtxFile}`,
    );
  }
  const o = profile.Orderer;
  const batchSize = new ordererProtos.BatchSize();
  batchSize.setMaxMessageCount(o.BatchSize.MaxMessageCount);
  batchSize.setAbsoluteMaxBytes(bytesSize(o.BatchSize.AbsoluteMaxBytes));
  batchSize.setPreferredMaxBytes(bytesSize(o.BatchSize.PreferredMaxBytes));
  const batchTimeout = new ordererProtos.BatchTimeout();
  batchTimeout.setTimeout(o.BatchTimeout);
  const consensus = new ordererProtos.ConsensusType();
  consensus.setType(o.OrdererType);
  consensus.setState(ordererProtos.ConsensusType.State.STATE_NORMAL);

  const ordererGroup = group(
    {
      BatchSize: value(batchSize.serializeBinary()),
      BatchTimeout: value(batchTimeout.serializeBinary()),
      Capabilities: capabilities(o.Capabilities),
      ChannelRestrictions: value(new ordererProtos.ChannelRestrictions().serializeBinary()),
      ConsensusType: value(consensus.serializeBinary()),
    },
    o.Policies,
    Object.fromEntries(o.Organizations.map((org) => [org.Name, organizationGroup(org, 'orderer')])),
  );
  const a = profile.Application;
  const applicationGroup = group(
    { Capabilities: capabilities(a.Capabilities) },
    a.Policies,
    Object.fromEntries(a.Organizations.map((org) => [org.Name, organizationGroup(org, 'application')])),
  );
  const hashing = new common.HashingAlgorithm();
  hashing.setName('SHA256');
  const structure = new common.BlockDataHashingStructure();
  structure.setWidth(0xffffffff);
  const channelGroup = group(
    {
      BlockDataHashingStructure: value(structure.serializeBinary()),
      Capabilities: capabilities(profile.Capabilities),
      HashingAlgorithm: value(hashing.serializeBinary()),
    },
    profile.Policies,
    { Application: applicationGroup, Orderer: ordererGroup },
  );
  const config = new common.Config();
  config.setSequence(0);
  config.setChannelGroup(channelGroup);
  return config;
}

/** A channel's genesis block: block 0, one unsigned CONFIG envelope holding the configuration. */
export function genesisBlock(channelId: string, config: common.Config): common.Block {
  const nonce = randomBytes(24);
  const channelHeader = new common.ChannelHeader();
  channelHeader.setType(common.HeaderType.CONFIG);
  channelHeader.setVersion(1);
  const now = Date.now();
  const ts = new Timestamp();
  ts.setSeconds(Math.floor(now / 1000));
  ts.setNanos((now % 1000) * 1e6);
  channelHeader.setTimestamp(ts);
  channelHeader.setChannelId(channelId);
  channelHeader.setTxId(createHash('sha256').update(nonce).digest('hex'));
  channelHeader.setEpoch(0);
  const signatureHeader = new common.SignatureHeader();
  signatureHeader.setNonce(nonce);
  const header = new common.Header();
  header.setChannelHeader(channelHeader.serializeBinary());
  header.setSignatureHeader(signatureHeader.serializeBinary());
  const configEnvelope = new common.ConfigEnvelope();
  configEnvelope.setConfig(config);
  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(configEnvelope.serializeBinary());
  const envelope = new common.Envelope();
  envelope.setPayload(payload.serializeBinary());

  const block = newBlock(0, new Uint8Array(0), [envelope.serializeBinary()]);
  const lastConfig = new common.LastConfig();
  lastConfig.setIndex(0);
  const ordererMetadata = new common.OrdererBlockMetadata();
  ordererMetadata.setLastConfig(lastConfig);
  const signatures = new common.Metadata();
  signatures.setValue(ordererMetadata.serializeBinary());
  setMetadata(block, common.BlockMetadataIndex.SIGNATURES, signatures.serializeBinary());
  return block;
}
