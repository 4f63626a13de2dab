import { common, msp as mspProtos, orderer as ordererProtos, peer as peerProtos } from '@hyperledger/fabric-protos';
import { toPem } from '../crypto/pem';
import { Msp, NODE_ROLES, type MspDefinition, type NodeRole } from '../msp/msp';
import { MspManager } from '../msp/msp-manager';
import { PolicyManager } from '../policy/policy-manager';

export class ChannelConfigError extends Error {
  override readonly name = 'ChannelConfigError';
  readonly code = 'CHANNEL_CONFIG_INVALID';
}

export interface OrgConfig {
  /** The organisation's group name in the configuration. */
  name: string;
  mspId: string;
  msp: Msp;
  /** Orderer organisations: the ordering endpoints (host:port). */
  endpoints: string[];
  /** Application organisations: their anchor peers (host:port). */
  anchorPeers: string[];
}

export interface BatchConfig {
  timeoutMs: number;
  maxMessageCount: number;
  absoluteMaxBytes: number;
  preferredMaxBytes: number;
}

const pemOf = (list: Uint8Array[]): string[] =>
  list.map((b) => {
    const text = Buffer.from(b).toString('utf8');
    return text.includes('-----BEGIN') ? text : toPem(b);
  });

function mspDefinition(config: mspProtos.MSPConfig): MspDefinition {
  const f = mspProtos.FabricMSPConfig.deserializeBinary(config.getConfig_asU8());
  const ous = f.getFabricNodeOus();
  let nodeOUs: Record<NodeRole, string> | undefined;
  if (ous?.getEnable()) {
    const id = {
      client: ous.getClientOuIdentifier(),
      peer: ous.getPeerOuIdentifier(),
      admin: ous.getAdminOuIdentifier(),
      orderer: ous.getOrdererOuIdentifier(),
    };
    nodeOUs = Object.fromEntries(NODE_ROLES.map((r) => [r, id[r]?.getOrganizationalUnitIdentifier() || r])) as Record<
      NodeRole,
      string
    >;
  }
  const def: MspDefinition = {
    mspId: f.getName(),
    rootCertsPem: pemOf(f.getRootCertsList_asU8()),
    intermediateCertsPem: pemOf(f.getIntermediateCertsList_asU8()),
    tlsRootCertsPem: pemOf(f.getTlsRootCertsList_asU8()),
    tlsIntermediateCertsPem: pemOf(f.getTlsIntermediateCertsList_asU8()),
    adminCertsPem: pemOf(f.getAdminsList_asU8()),
    // As Go's x509.ParseCRL, which Fabric's MSP uses: PEM labelled X509 CRL, or DER. Any other PEM
    // is no CRL, and the MSP (so the configuration) is refused rather than the CRL ignored.
    revocationListDer: f.getRevocationListList_asU8().map((b) => {
      const text = Buffer.from(b).toString('utf8');
      const m = /^\s*-----BEGIN X509 CRL-----([\s\S]+?)-----END X509 CRL-----/.exec(text);
      if (m) return Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64');
      if (/^\s*-----BEGIN /.test(text)) {
        throw new ChannelConfigError(`the MSP of ${f.getName()} carries a revocation list that is not an X509 CRL`);
      }
      return b;
    }),
  };
  if (nodeOUs) def.nodeOUs = nodeOUs;
  return def;
}

/** Go duration text as Fabric writes BatchTimeout ("200ms", "2s", "1m30s"). */
export function parseDuration(text: string): number {
  let ms = 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let matched = '';
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const n = Number(m[1]);
    const unit = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms'];
    ms += n * unit;
    matched += m[0];
  }
  if (!matched || matched !== text) throw new ChannelConfigError(`bad duration ${text}`);
  return ms;
}

/** A channel's configuration as the nodes use it: MSPs, policies, orderer and peer endpoints, batching. */
export class ChannelConfig {
  readonly msps: MspManager;
  readonly policies: PolicyManager;
  readonly applicationOrgs: OrgConfig[];
  readonly ordererOrgs: OrgConfig[];
  readonly batch: BatchConfig;
  readonly consensusType: string;

  constructor(
    readonly channelId: string,
    readonly config: common.Config,
  ) {
    const root = config.getChannelGroup();
    const ordererGroup = root?.getGroupsMap().get('Orderer');
    const appGroup = root?.getGroupsMap().get('Application');
    if (!root || !ordererGroup || !appGroup) {
      throw new ChannelConfigError(`the configuration of ${channelId} lacks the Orderer or Application group`);
    }
    const orgs = (g: common.ConfigGroup): OrgConfig[] =>
      [...g.getGroupsMap().entries()].map(([name, org]) => {
        const v = (k: string) => org.getValuesMap().get(k)?.getValue_asU8();
        const mspBytes = v('MSP');
        if (!mspBytes) throw new ChannelConfigError(`organisation ${name} has no MSP`);
        const msp = new Msp(mspDefinition(mspProtos.MSPConfig.deserializeBinary(mspBytes)));
        const endpoints = v('Endpoints');
        const anchors = v('AnchorPeers');
        return {
          name,
          mspId: msp.mspId,
          msp,
          endpoints: endpoints ? common.OrdererAddresses.deserializeBinary(endpoints).getAddressesList() : [],
          anchorPeers: anchors
            ? peerProtos.AnchorPeers.deserializeBinary(anchors)
                .getAnchorPeersList()
                .map((a) => `${a.getHost()}:${a.getPort()}`)
            : [],
        };
      });
    this.ordererOrgs = orgs(ordererGroup);
    this.applicationOrgs = orgs(appGroup);
    this.msps = new MspManager([...this.ordererOrgs, ...this.applicationOrgs].map((o) => o.msp));
    this.policies = new PolicyManager(root, this.msps);
    const ov = (k: string) => ordererGroup.getValuesMap().get(k)?.getValue_asU8();
    const size = ov('BatchSize');
    const timeout = ov('BatchTimeout');
    const consensus = ov('ConsensusType');
    if (!size || !timeout || !consensus) throw new ChannelConfigError('the Orderer group lacks batch settings');
    const bs = ordererProtos.BatchSize.deserializeBinary(size);
    this.batch = {
      timeoutMs: parseDuration(ordererProtos.BatchTimeout.deserializeBinary(timeout).getTimeout()),
      maxMessageCount: bs.getMaxMessageCount(),
      absoluteMaxBytes: bs.getAbsoluteMaxBytes(),
      preferredMaxBytes: bs.getPreferredMaxBytes(),
    };
    this.consensusType = ordererProtos.ConsensusType.deserializeBinary(consensus).getType();
  }

  get sequence(): number {
    return this.config.getSequence();
  }

  /** The configuration carried by a CONFIG block (the genesis block or a later config block). */
  static fromBlock(block: common.Block): ChannelConfig {
    const envBytes = block.getData()?.getDataList_asU8()[0];
    if (!envBytes) throw new ChannelConfigError('the block holds no envelope');
    const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(envBytes).getPayload_asU8());
    const ch = common.ChannelHeader.deserializeBinary(payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array());
    if (ch.getType() !== common.HeaderType.CONFIG) throw new ChannelConfigError('the block is not a config block');
    const config = common.ConfigEnvelope.deserializeBinary(payload.getData_asU8()).getConfig();
    if (!config) throw new ChannelConfigError('the config envelope holds no config');
    return new ChannelConfig(ch.getChannelId(), config);
  }

  /** Every ordering endpoint of the channel. */
  ordererEndpoints(): string[] {
    return this.ordererOrgs.flatMap((o) => o.endpoints);
  }

  /** TLS roots of every organisation: what a node trusts when it dials another node of the channel. */
  tlsRootCertsPem(): string[] {
    return [...this.ordererOrgs, ...this.applicationOrgs].flatMap((o) => [
      ...o.msp.definition.tlsRootCertsPem,
      ...o.msp.definition.tlsIntermediateCertsPem,
    ]);
  }

  applicationOrg(mspId: string): OrgConfig | undefined {
    return this.applicationOrgs.find((o) => o.mspId === mspId);
  }
}
