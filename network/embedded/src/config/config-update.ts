import { common } from '@hyperledger/fabric-protos';
import type { ChannelConfig } from './channel-config';
import type { SignedData } from '../policy/signature-policy';

export class ConfigUpdateError extends Error {
  override readonly name = 'ConfigUpdateError';
  readonly code = 'CONFIG_UPDATE_INVALID';
}

type Kind = 'group' | 'value' | 'policy';
type Proto = common.ConfigGroup | common.ConfigValue | common.ConfigPolicy;

/** One element of a configuration, keyed as Fabric's configtx keys it (`[Group]  /Channel/Application`). */
interface Item {
  kind: Kind;
  key: string;
  /** Path of the group holding it, from the root group. */
  path: string[];
  proto: Proto;
}

const PREFIX: Record<Kind, string> = { group: '[Group]  ', value: '[Value]  ', policy: '[Policy] ' };
const CONFIG_ID = /^[a-zA-Z0-9.\-_]+$/;

const versionOf = (i: Item): number => i.proto.getVersion();
const modPolicyOf = (i: Item): string => i.proto.getModPolicy();
const fqKey = (kind: Kind, path: string[], key: string) => `${PREFIX[kind]}/${[...path, key].join('/')}`;

/** Every element of a group tree by its configtx key (`common/configtx/configmap.go mapConfig`). */
function mapConfig(root: common.ConfigGroup | undefined, rootKey: string): Map<string, Item> {
  const out = new Map<string, Item>();
  const recurse = (path: string[], key: string, group: common.ConfigGroup) => {
    if (!CONFIG_ID.test(key)) throw new ConfigUpdateError(`illegal characters in key ${key}`);
    out.set(fqKey('group', path, key), { kind: 'group', key, path, proto: group });
    const here = [...path, key];
    for (const [k, g] of group.getGroupsMap().entries()) recurse(here, k, g);
    for (const [k, v] of group.getValuesMap().entries()) {
      if (!CONFIG_ID.test(k)) throw new ConfigUpdateError(`illegal characters in key ${k}`);
      out.set(fqKey('value', here, k), { kind: 'value', key: k, path: here, proto: v });
    }
    for (const [k, p] of group.getPoliciesMap().entries()) {
      if (!CONFIG_ID.test(k)) throw new ConfigUpdateError(`illegal characters in key ${k}`);
      out.set(fqKey('policy', here, k), { kind: 'policy', key: k, path: here, proto: p });
    }
  };
  if (root) recurse([], rootKey, root);
  return out;
}

/** The group tree the merged element map describes (`configMapToConfig`): members listed by each group. */
function configMapToGroup(map: Map<string, Item>, path: string[], key: string): common.ConfigGroup {
  const item = map.get(fqKey('group', path, key));
  if (!item || item.kind !== 'group') throw new ConfigUpdateError(`missing group at /${[...path, key].join('/')}`);
  const source = item.proto as common.ConfigGroup;
  const group = new common.ConfigGroup();
  group.setVersion(source.getVersion());
  group.setModPolicy(source.getModPolicy());
  const here = [...path, key];
  for (const [k] of source.getGroupsMap().entries()) group.getGroupsMap().set(k, configMapToGroup(map, here, k));
  for (const [k] of source.getValuesMap().entries()) {
    const v = map.get(fqKey('value', here, k));
    if (!v || v.kind !== 'value') throw new ConfigUpdateError(`missing value at /${[...here, k].join('/')}`);
    group
      .getValuesMap()
      .set(k, common.ConfigValue.deserializeBinary((v.proto as common.ConfigValue).serializeBinary()));
  }
  for (const [k] of source.getPoliciesMap().entries()) {
    const p = map.get(fqKey('policy', here, k));
    if (!p || p.kind !== 'policy') throw new ConfigUpdateError(`missing policy at /${[...here, k].join('/')}`);
    group
      .getPoliciesMap()
      .set(k, common.ConfigPolicy.deserializeBinary((p.proto as common.ConfigPolicy).serializeBinary()));
  }
  return group;
}

const bytesEqual = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

interface GroupUpdate {
  read: common.ConfigGroup;
  write: common.ConfigGroup;
  updated: boolean;
}

function versionOnly<T extends common.ConfigGroup | common.ConfigValue | common.ConfigPolicy>(
  make: () => T,
  version: number,
): T {
  const x = make();
  x.setVersion(version);
  return x;
}

/**
 * The read and write sets that turn `original` into `updated`, as configtxlator's compute_update
 * makes them (`internal/configtxlator/update/update.go`): changed elements at version + 1, new ones
 * at 0, and the unchanged members of a changed group listed by version only.
 */
function computeGroupUpdate(original: common.ConfigGroup, updated: common.ConfigGroup): GroupUpdate {
  const readP = new Map<string, common.ConfigPolicy>();
  const writeP = new Map<string, common.ConfigPolicy>();
  const sameP = new Map<string, common.ConfigPolicy>();
  let membersUpdated = false;
  const oP = original.getPoliciesMap();
  const uP = updated.getPoliciesMap();
  for (const [name, o] of oP.entries()) {
    const u = uP.get(name);
    if (!u) {
      membersUpdated = true;
      continue;
    }
    const same =
      o.getModPolicy() === u.getModPolicy() &&
      bytesEqual(
        o.getPolicy()?.serializeBinary() ?? new Uint8Array(),
        u.getPolicy()?.serializeBinary() ?? new Uint8Array(),
      );
    if (same) {
      sameP.set(
        name,
        versionOnly(() => new common.ConfigPolicy(), o.getVersion()),
      );
      continue;
    }
    const w = new common.ConfigPolicy();
    w.setVersion(o.getVersion() + 1);
    w.setModPolicy(u.getModPolicy());
    w.setPolicy(u.getPolicy());
    writeP.set(name, w);
  }
  for (const [name, u] of uP.entries()) {
    if (oP.get(name)) continue;
    membersUpdated = true;
    const w = new common.ConfigPolicy();
    w.setVersion(0);
    w.setModPolicy(u.getModPolicy());
    w.setPolicy(u.getPolicy());
    writeP.set(name, w);
  }

  const readV = new Map<string, common.ConfigValue>();
  const writeV = new Map<string, common.ConfigValue>();
  const sameV = new Map<string, common.ConfigValue>();
  const oV = original.getValuesMap();
  const uV = updated.getValuesMap();
  for (const [name, o] of oV.entries()) {
    const u = uV.get(name);
    if (!u) {
      membersUpdated = true;
      continue;
    }
    if (o.getModPolicy() === u.getModPolicy() && bytesEqual(o.getValue_asU8(), u.getValue_asU8())) {
      sameV.set(
        name,
        versionOnly(() => new common.ConfigValue(), o.getVersion()),
      );
      continue;
    }
    const w = new common.ConfigValue();
    w.setVersion(o.getVersion() + 1);
    w.setModPolicy(u.getModPolicy());
    w.setValue(u.getValue_asU8());
    writeV.set(name, w);
  }
  for (const [name, u] of uV.entries()) {
    if (oV.get(name)) continue;
    membersUpdated = true;
    const w = new common.ConfigValue();
    w.setVersion(0);
    w.setModPolicy(u.getModPolicy());
    w.setValue(u.getValue_asU8());
    writeV.set(name, w);
  }

  const readG = new Map<string, common.ConfigGroup>();
  const writeG = new Map<string, common.ConfigGroup>();
  const sameG = new Map<string, common.ConfigGroup>();
  const oG = original.getGroupsMap();
  const uG = updated.getGroupsMap();
  for (const [name, o] of oG.entries()) {
    const u = uG.get(name);
    if (!u) {
      membersUpdated = true;
      continue;
    }
    const sub = computeGroupUpdate(o, u);
    if (!sub.updated) {
      sameG.set(name, sub.read);
      continue;
    }
    readG.set(name, sub.read);
    writeG.set(name, sub.write);
  }
  for (const [name, u] of uG.entries()) {
    if (oG.get(name)) continue;
    membersUpdated = true;
    const sub = computeGroupUpdate(new common.ConfigGroup(), u);
    const w = new common.ConfigGroup();
    w.setVersion(0);
    w.setModPolicy(u.getModPolicy());
    for (const [k, v] of sub.write.getPoliciesMap().entries()) w.getPoliciesMap().set(k, v);
    for (const [k, v] of sub.write.getValuesMap().entries()) w.getValuesMap().set(k, v);
    for (const [k, v] of sub.write.getGroupsMap().entries()) w.getGroupsMap().set(k, v);
    writeG.set(name, w);
  }

  const build = (
    version: number,
    policies: Map<string, common.ConfigPolicy>,
    values: Map<string, common.ConfigValue>,
    groups: Map<string, common.ConfigGroup>,
    modPolicy?: string,
  ) => {
    const g = new common.ConfigGroup();
    g.setVersion(version);
    if (modPolicy !== undefined) g.setModPolicy(modPolicy);
    for (const [k, v] of policies) g.getPoliciesMap().set(k, v);
    for (const [k, v] of values) g.getValuesMap().set(k, v);
    for (const [k, v] of groups) g.getGroupsMap().set(k, v);
    return g;
  };

  if (!(membersUpdated || original.getModPolicy() !== updated.getModPolicy())) {
    const nothing = [readP, writeP, readV, writeV, readG, writeG].every((m) => m.size === 0);
    if (nothing) {
      const v = original.getVersion();
      return {
        read: build(v, new Map(), new Map(), new Map()),
        write: build(v, new Map(), new Map(), new Map()),
        updated: false,
      };
    }
    return {
      read: build(original.getVersion(), readP, readV, readG),
      write: build(original.getVersion(), writeP, writeV, writeG),
      updated: true,
    };
  }
  for (const [k, v] of sameP) {
    readP.set(k, v);
    writeP.set(k, v);
  }
  for (const [k, v] of sameV) {
    readV.set(k, v);
    writeV.set(k, v);
  }
  for (const [k, v] of sameG) {
    readG.set(k, v);
    writeG.set(k, v);
  }
  return {
    read: build(original.getVersion(), readP, readV, readG),
    write: build(original.getVersion() + 1, writeP, writeV, writeG, updated.getModPolicy()),
    updated: true,
  };
}

/**
 * The ConfigUpdate from one channel configuration to another (what `configtxlator compute_update`
 * prints).
 * @throws ConfigUpdateError when the two are the same.
 */
export function computeConfigUpdate(
  channelId: string,
  original: common.Config,
  updated: common.Config,
): common.ConfigUpdate {
  const o = original.getChannelGroup();
  const u = updated.getChannelGroup();
  if (!o || !u) throw new ConfigUpdateError('a configuration without a channel group');
  const { read, write, updated: changed } = computeGroupUpdate(o, u);
  if (!changed) throw new ConfigUpdateError('no differences detected between original and updated config');
  const update = new common.ConfigUpdate();
  update.setChannelId(channelId);
  update.setReadSet(read);
  update.setWriteSet(write);
  return update;
}

/** The signatures of a ConfigUpdateEnvelope as policy input (`protoutil.ConfigUpdateEnvelopeAsSignedData`). */
export function configSignaturesAsSignedData(env: common.ConfigUpdateEnvelope): SignedData[] {
  const update = env.getConfigUpdate_asU8();
  return env.getSignaturesList().map((s) => {
    const header = s.getSignatureHeader_asU8();
    return {
      data: Buffer.concat([header, update]),
      identity: common.SignatureHeader.deserializeBinary(header).getCreator_asU8(),
      signature: s.getSignature_asU8(),
    };
  });
}

/**
 * Authorizes a config update against the current configuration and gives the next one, as Fabric's
 * configtx validator does (`common/configtx/validator.go proposeConfigUpdate`, `update.go`): the read
 * set must match current versions; every element the update changes must be at its version + 1
 * (new ones at 0) and the signatures must satisfy the mod_policy of what it changes (a new element
 * is authorized through its changed parent group).
 *
 * @throws ConfigUpdateError naming what is wrong, e.g. which policy is not satisfied.
 */
export function proposeConfigUpdate(current: ChannelConfig, env: common.ConfigUpdateEnvelope): common.Config {
  let update: common.ConfigUpdate;
  try {
    update = common.ConfigUpdate.deserializeBinary(env.getConfigUpdate_asU8());
  } catch {
    throw new ConfigUpdateError('the config update does not parse');
  }
  if (update.getChannelId() !== current.channelId) {
    throw new ConfigUpdateError(
      `ConfigUpdate for channel '${update.getChannelId()}' but envelope for channel '${current.channelId}'`,
    );
  }
  const configMap = mapConfig(current.config.getChannelGroup(), 'Channel');
  const readSet = mapConfig(update.getReadSet(), 'Channel');
  for (const [key, item] of readSet) {
    const existing = configMap.get(key);
    if (!existing)
      throw new ConfigUpdateError(`existing config does not contain element for ${key} but was in the read set`);
    if (versionOf(existing) !== versionOf(item)) {
      throw new ConfigUpdateError(
        `proposed update requires that key ${key} be at version ${versionOf(item)}, but it is currently at version ${versionOf(existing)}`,
      );
    }
  }
  const writeSet = mapConfig(update.getWriteSet(), 'Channel');
  const delta = new Map<string, Item>();
  for (const [key, item] of writeSet) {
    const read = readSet.get(key);
    if (read && versionOf(read) === versionOf(item)) continue;
    delta.set(key, item);
  }
  if (delta.size === 0) throw new ConfigUpdateError('delta set was empty -- update would have no effect');
  const signed = configSignaturesAsSignedData(env);
  for (const [key, item] of delta) {
    if (!modPolicyOf(item)) throw new ConfigUpdateError(`invalid mod_policy for element ${key}: mod_policy not set`);
    const existing = configMap.get(key);
    if (!existing) {
      if (versionOf(item) !== 0) {
        throw new ConfigUpdateError(
          `attempted to set key ${key} to version ${versionOf(item)}, but key does not exist`,
        );
      }
      continue;
    }
    if (versionOf(item) !== versionOf(existing) + 1) {
      throw new ConfigUpdateError(
        `attempt to set key ${key} to version ${versionOf(item)}, but key is at version ${versionOf(existing)}`,
      );
    }
    const policyPath = policyPathFor(existing);
    if (!current.policies.has(policyPath)) {
      throw new ConfigUpdateError(`unexpected missing policy ${modPolicyOf(existing)} for item ${key}`);
    }
    if (!current.policies.evaluate(policyPath, signed)) {
      throw new ConfigUpdateError(
        `error validating DeltaSet: policy for ${key} not satisfied: ${current.policies.explain(policyPath, signed)}`,
      );
    }
  }
  const merged = new Map(configMap);
  for (const [key, item] of delta) merged.set(key, item);
  for (const key of writeSet.keys()) {
    if (!merged.has(key))
      throw new ConfigUpdateError(`writeset contained key ${key} which did not appear in proposed config`);
  }
  const config = new common.Config();
  config.setSequence(current.sequence + 1);
  config.setChannelGroup(configMapToGroup(merged, [], 'Channel'));
  return config;
}

/** The absolute path of the policy that may modify an element (`policyForItem`). */
function policyPathFor(item: Item): string {
  const mod = modPolicyOf(item);
  if (mod.startsWith('/')) return mod;
  const base = item.kind === 'group' ? [...item.path, item.key] : item.path;
  return `/${[...base, mod].join('/')}`;
}
