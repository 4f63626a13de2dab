// Channel configuration updates as an administrator makes them with Fabric's tools: the updated
// configuration edited by hand (configtxlator proto_decode / jq), the ConfigUpdate between the two
// (`configtxlator compute_update`), admins' signatures (`peer channel signconfigtx`) and the
// CONFIG_UPDATE envelope sent to the orderer (`peer channel update`); and the CONFIG transaction
// the orderer makes of it, for tests that build config blocks themselves.
import { common, peer as peerProtos } from '@hyperledger/fabric-protos';
import { mspConfigFromFolder } from '../config/msp-folder';
import { signedEnvelope } from '../node/envelope';
import type { LocalIdentity } from '../node/local-identity';
import { parseSignaturePolicy } from '../policy/policy-dsl';
import { CHANNEL_ID, type TestOrg } from './channel';

const ADMINS = 'Admins';

/** A deep copy of a configuration. */
export const cloneConfig = (config: common.Config): common.Config =>
  common.Config.deserializeBinary(config.serializeBinary());

/** A signature policy element as configtxgen writes it (mod_policy Admins, version 0). */
export function signaturePolicy(rule: string): common.ConfigPolicy {
  const p = new common.Policy();
  p.setType(common.Policy.PolicyType.SIGNATURE);
  p.setValue(parseSignaturePolicy(rule).serializeBinary());
  const cp = new common.ConfigPolicy();
  cp.setPolicy(p);
  cp.setModPolicy(ADMINS);
  return cp;
}

/**
 * An application organisation's group as `configtxgen -printOrg` prints it: its MSP (read from
 * its MSP folder), Readers, Writers, Admins and Endorsement policies, optionally an anchor peer.
 */
export function applicationOrgGroup(org: TestOrg, anchorPeer?: string): common.ConfigGroup {
  const g = new common.ConfigGroup();
  g.setModPolicy(ADMINS);
  const msp = new common.ConfigValue();
  msp.setModPolicy(ADMINS);
  msp.setValue(mspConfigFromFolder(org.mspId, org.mspDir).serializeBinary());
  g.getValuesMap().set('MSP', msp);
  if (anchorPeer) {
    const [host = '', port = '0'] = anchorPeer.split(':');
    const ap = new peerProtos.AnchorPeer();
    ap.setHost(host);
    ap.setPort(Number(port));
    const anchors = new peerProtos.AnchorPeers();
    anchors.setAnchorPeersList([ap]);
    const v = new common.ConfigValue();
    v.setModPolicy(ADMINS);
    v.setValue(anchors.serializeBinary());
    g.getValuesMap().set('AnchorPeers', v);
  }
  const id = org.mspId;
  const policies: Record<string, string> = {
    Readers: `OR('${id}.admin','${id}.peer','${id}.client')`,
    Writers: `OR('${id}.admin','${id}.client')`,
    Admins: `OR('${id}.admin')`,
    Endorsement: `OR('${id}.peer')`,
  };
  for (const [name, rule] of Object.entries(policies)) g.getPoliciesMap().set(name, signaturePolicy(rule));
  return g;
}

/** The Application group of a configuration (throws when it has none). */
export function applicationGroup(config: common.Config): common.ConfigGroup {
  const g = config.getChannelGroup()?.getGroupsMap().get('Application');
  if (!g) throw new Error('no Application group');
  return g;
}

/** A copy of `config` with `org` added to the Application group. */
export function withApplicationOrg(config: common.Config, org: TestOrg, anchorPeer?: string): common.Config {
  const next = cloneConfig(config);
  applicationGroup(next).getGroupsMap().set(org.mspId, applicationOrgGroup(org, anchorPeer));
  return next;
}

/** A copy of `config` with Application policies replaced by signature policies (name → rule). */
export function withApplicationPolicies(config: common.Config, rules: Record<string, string>): common.Config {
  const next = cloneConfig(config);
  const policies = applicationGroup(next).getPoliciesMap();
  for (const [name, rule] of Object.entries(rules)) {
    const p = signaturePolicy(rule);
    p.setVersion(policies.get(name)?.getVersion() ?? 0);
    policies.set(name, p);
  }
  return next;
}

/** The update signed by each of `signers` (`peer channel signconfigtx`): signature over header ‖ update. */
export function signConfigUpdate(update: common.ConfigUpdate, signers: LocalIdentity[]): common.ConfigUpdateEnvelope {
  const env = new common.ConfigUpdateEnvelope();
  const updateBytes = update.serializeBinary();
  env.setConfigUpdate(updateBytes);
  env.setSignaturesList(
    signers.map((s) => {
      const header = s.signatureHeader().serializeBinary();
      const sig = new common.ConfigSignature();
      sig.setSignatureHeader(header);
      sig.setSignature(s.sign(Buffer.concat([header, updateBytes])));
      return sig;
    }),
  );
  return env;
}

/** A CONFIG_UPDATE envelope carrying `update`, made and signed by `creator` (`peer channel update`). */
export function configUpdateTx(
  update: common.ConfigUpdateEnvelope,
  creator: LocalIdentity,
  channelId = CHANNEL_ID,
): Buffer {
  return signedEnvelope(common.HeaderType.CONFIG_UPDATE, channelId, creator, update.serializeBinary(), { txId: true })
    .envelope;
}

/** A CONFIG transaction as the orderer makes it: the next config and the update it came from, signed by `signer`. */
export function configTx(config: common.Config, lastUpdate: Uint8Array, signer: LocalIdentity, channelId = CHANNEL_ID) {
  const configEnvelope = new common.ConfigEnvelope();
  configEnvelope.setConfig(config);
  configEnvelope.setLastUpdate(common.Envelope.deserializeBinary(lastUpdate));
  return signedEnvelope(common.HeaderType.CONFIG, channelId, signer, configEnvelope.serializeBinary(), {
    txId: true,
    version: 1,
  });
}
