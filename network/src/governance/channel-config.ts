import { common, msp as mspProtos } from '@hyperledger/fabric-protos';
import { parseSignaturePolicy } from '@phr/embedded-fabric';

/**
 * The channel configuration edits our governance makes (the step Fabric's documentation does with
 * `configtxlator proto_decode` and jq): each takes a configuration and gives an edited copy; the
 * ConfigUpdate between the two is then computed, signed by the members' admins and submitted.
 */

/** The policy that governs membership and every member's definition: a majority of the hospitals' admins. */
export const MEMBERS_ADMINS = '/Channel/Application/Admins';

export class GovernanceError extends Error {
  override readonly name = 'GovernanceError';
  constructor(
    message: string,
    readonly code:
      'NOT_A_MEMBER' | 'ALREADY_A_MEMBER' | 'BAD_CONFIG' | 'REFUSED' | 'STALE' | 'UNREACHABLE' = 'BAD_CONFIG',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const clone = (config: common.Config): common.Config => common.Config.deserializeBinary(config.serializeBinary());

function application(config: common.Config): common.ConfigGroup {
  const g = config.getChannelGroup()?.getGroupsMap().get('Application');
  if (!g) throw new GovernanceError('the channel configuration has no Application group');
  return g;
}

/** The configuration inside a config block (`configtxlator proto_decode … | jq .data.data[0].payload.data.config`). */
export function configFromBlock(block: common.Block): common.Config {
  const [first] = block.getData()?.getDataList_asU8() ?? [];
  if (!first) throw new GovernanceError('the block carries no transaction');
  const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(first).getPayload_asU8());
  const ch = common.ChannelHeader.deserializeBinary(payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array());
  if (ch.getType() !== common.HeaderType.CONFIG) throw new GovernanceError('the block is not a config block');
  const config = common.ConfigEnvelope.deserializeBinary(payload.getData_asU8()).getConfig();
  if (!config) throw new GovernanceError('the config block carries no configuration');
  return config;
}

/** The application organisations of a configuration, by MSP id. */
export function applicationMspIds(config: common.Config): string[] {
  return [...application(config).getGroupsMap().keys()].sort();
}

/** The signature policy `OutOf(k, 'A.role', …)` with k a majority of the MSPs. */
export function majorityRule(mspIds: readonly string[], role: 'peer' | 'admin'): string {
  const k = Math.floor(mspIds.length / 2) + 1;
  return `OutOf(${k},${mspIds.map((m) => `'${m}.${role}'`).join(',')})`;
}

function signaturePolicy(rule: string, modPolicy = 'Admins'): common.ConfigPolicy {
  const p = new common.Policy();
  p.setType(common.Policy.PolicyType.SIGNATURE);
  p.setValue(parseSignaturePolicy(rule).serializeBinary());
  const cp = new common.ConfigPolicy();
  cp.setPolicy(p);
  cp.setModPolicy(modPolicy);
  return cp;
}

/** Replaces a policy's rule, keeping its version (compute_update raises it) and mod_policy. */
function setRule(group: common.ConfigGroup, name: string, rule: string): void {
  const existing = group.getPoliciesMap().get(name);
  const next = signaturePolicy(rule, existing?.getModPolicy() || 'Admins');
  if (existing) next.setVersion(existing.getVersion());
  group.getPoliciesMap().set(name, next);
}

/**
 * The Application policies that count hospitals — Admins (governance), Endorsement and
 * LifecycleEndorsement — as a majority of these hospitals. They are signature policies rather than
 * ImplicitMeta ones because the patients' organisation is an application organisation too and
 * must count in neither.
 */
function setHospitalMajorities(config: common.Config, hospitals: readonly string[]): void {
  const app = application(config);
  setRule(app, 'Admins', majorityRule(hospitals, 'admin'));
  setRule(app, 'Endorsement', majorityRule(hospitals, 'peer'));
  setRule(app, 'LifecycleEndorsement', majorityRule(hospitals, 'peer'));
}

/**
 * Puts each hospital's organisation under the members' governance: its group and its MSP are
 * modified only with a majority of the hospitals' admins, so that no hospital alone changes its
 * trust roots or lifts its own suspension (configtxgen makes them the organisation's own Admins).
 */
export function withMembersGovernance(config: common.Config, hospitals: readonly string[]): common.Config {
  const next = clone(config);
  const app = application(next);
  for (const mspId of hospitals) {
    const org = app.getGroupsMap().get(mspId);
    if (!org) throw new GovernanceError(`${mspId} is not an organisation of the channel`, 'NOT_A_MEMBER');
    org.setModPolicy(MEMBERS_ADMINS);
    const msp = org.getValuesMap().get('MSP');
    if (!msp) throw new GovernanceError(`${mspId} has no MSP in the channel configuration`);
    msp.setModPolicy(MEMBERS_ADMINS);
  }
  setHospitalMajorities(next, hospitals);
  return next;
}

/** Whether every hospital's organisation is already under the members' governance. */
export function isMembersGoverned(config: common.Config, hospitals: readonly string[]): boolean {
  const app = application(config);
  return hospitals.every((mspId) => {
    const org = app.getGroupsMap().get(mspId);
    return org?.getModPolicy() === MEMBERS_ADMINS && org.getValuesMap().get('MSP')?.getModPolicy() === MEMBERS_ADMINS;
  });
}

/**
 * Adds a hospital's organisation (its group as `configtxgen -printOrg` makes it: MSP with its CA and
 * TLS CA certificates and NodeOUs, policies, anchor peer), governed by the members, and moves the
 * Application majorities to include it.
 *
 * @throws GovernanceError ALREADY_A_MEMBER when the channel has it already.
 */
export function withHospital(
  config: common.Config,
  mspId: string,
  orgGroup: common.ConfigGroup,
  hospitals: readonly string[],
): common.Config {
  const next = clone(config);
  const app = application(next);
  if (app.getGroupsMap().has(mspId))
    throw new GovernanceError(`${mspId} is already a member of the channel`, 'ALREADY_A_MEMBER');
  const org = common.ConfigGroup.deserializeBinary(orgGroup.serializeBinary());
  const msp = org.getValuesMap().get('MSP');
  if (!msp) throw new GovernanceError(`the organisation definition of ${mspId} has no MSP`);
  const declared = mspProtos.FabricMSPConfig.deserializeBinary(
    mspProtos.MSPConfig.deserializeBinary(msp.getValue_asU8()).getConfig_asU8(),
  ).getName();
  if (declared !== mspId) throw new GovernanceError(`the organisation definition is for ${declared}, not ${mspId}`);
  org.setModPolicy(MEMBERS_ADMINS);
  msp.setModPolicy(MEMBERS_ADMINS);
  app.getGroupsMap().set(mspId, org);
  setHospitalMajorities(next, [...hospitals, mspId]);
  return next;
}

/** The FabricMSPConfig of an application organisation. */
export function mspConfigOf(config: common.Config, mspId: string): mspProtos.FabricMSPConfig {
  const value = application(config).getGroupsMap().get(mspId)?.getValuesMap().get('MSP');
  if (!value) throw new GovernanceError(`${mspId} is not an organisation of the channel`, 'NOT_A_MEMBER');
  return mspProtos.FabricMSPConfig.deserializeBinary(
    mspProtos.MSPConfig.deserializeBinary(value.getValue_asU8()).getConfig_asU8(),
  );
}

/**
 * Puts a CRL (PEM labelled X509 CRL, or DER, as Fabric's MSP reads it) into an organisation's MSP (replacing an earlier one from the same CA, which a newer
 * CRL lists in full), so that every node refuses the certificates it revokes.
 */
export function withRevocationList(
  config: common.Config,
  mspId: string,
  crl: string | Uint8Array,
  sameIssuer: (crl: Uint8Array) => boolean,
): common.Config {
  const next = clone(config);
  const value = application(next).getGroupsMap().get(mspId)?.getValuesMap().get('MSP');
  if (!value) throw new GovernanceError(`${mspId} is not an organisation of the channel`, 'NOT_A_MEMBER');
  const outer = mspProtos.MSPConfig.deserializeBinary(value.getValue_asU8());
  const fabric = mspProtos.FabricMSPConfig.deserializeBinary(outer.getConfig_asU8());
  const kept = fabric.getRevocationListList_asU8().filter((c) => !sameIssuer(c));
  fabric.setRevocationListList([...kept, typeof crl === 'string' ? Buffer.from(crl) : crl]);
  outer.setConfig(fabric.serializeBinary());
  value.setValue(outer.serializeBinary());
  return next;
}
