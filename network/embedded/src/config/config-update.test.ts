import { common } from '@hyperledger/fabric-protos';
import { orderer as ordererProtos } from '@hyperledger/fabric-protos';
import type { LocalIdentity } from '../node/local-identity';
import { CHANNEL_ID, createTestOrg, TestChannel } from '../testing/channel';
import {
  applicationGroup,
  cloneConfig,
  signConfigUpdate,
  withApplicationOrg,
  withApplicationPolicies,
} from '../testing/config-updates';
import { TestCa } from '../testing/pki';
import { ChannelConfig } from './channel-config';
import {
  computeConfigUpdate,
  ConfigUpdateError,
  configSignaturesAsSignedData,
  proposeConfigUpdate,
} from './config-update';

/** Every element's version by its configtx key (`[Group]  /Channel/Application`, `[Policy] /Channel/...`). */
function versions(group: common.ConfigGroup | undefined, path = '/Channel'): Record<string, number> {
  if (!group) return {};
  const out: Record<string, number> = { [`[Group]  ${path}`]: group.getVersion() };
  for (const [k, v] of group.getValuesMap().entries()) out[`[Value]  ${path}/${k}`] = v.getVersion();
  for (const [k, p] of group.getPoliciesMap().entries()) out[`[Policy] ${path}/${k}`] = p.getVersion();
  for (const [k, g] of group.getGroupsMap().entries()) Object.assign(out, versions(g, `${path}/${k}`));
  return out;
}

/** The configuration with every version zeroed: what an administrator edits, whatever the versions. */
function withoutVersions(config: common.Config): Buffer {
  const c = cloneConfig(config);
  const zero = (g: common.ConfigGroup) => {
    g.setVersion(0);
    for (const [, v] of g.getValuesMap().entries()) v.setVersion(0);
    for (const [, p] of g.getPoliciesMap().entries()) p.setVersion(0);
    for (const [, sub] of g.getGroupsMap().entries()) zero(sub);
  };
  zero(c.getChannelGroup() as common.ConfigGroup);
  c.setSequence(0);
  return Buffer.from(c.serializeBinary());
}

/** The refusal of a change to the Application group the signatures do not authorize. */
const APPLICATION_ADMINS = /^error validating DeltaSet: policy for \[Group\] {2}\/Channel\/Application not satisfied: /;
const THREE_HOSPITALS = "OutOf(2,'Hospital1MSP.peer','Hospital2MSP.peer','Hospital3MSP.peer')";

describe('computeConfigUpdate and proposeConfigUpdate', () => {
  const channel = new TestChannel();
  const hospital3 = createTestOrg(channel.dir, 'hospital3', 'Hospital3MSP');
  const [h1, h2, patients] = [channel.hospital1, channel.hospital2, channel.patients];
  const admins = { h1: h1.admin(), h2: h2.admin(), patients: patients.admin(), orderer: channel.orderer.admin() };
  afterAll(() => channel.remove());

  const current = () => channel.config;
  /** Hospital 3 joins; endorsement and lifecycle policies become two of three hospitals. */
  const addHospital3 = (from: common.Config = current().config) =>
    withApplicationPolicies(withApplicationOrg(from, hospital3, '127.0.0.1:9051'), {
      Endorsement: THREE_HOSPITALS,
      LifecycleEndorsement: THREE_HOSPITALS,
    });
  const propose = (update: common.ConfigUpdate, signers: LocalIdentity[], on: ChannelConfig = current()) =>
    proposeConfigUpdate(on, signConfigUpdate(update, signers));
  const refusal = (update: common.ConfigUpdate, signers: LocalIdentity[], on: ChannelConfig = current()) => {
    try {
      propose(update, signers, on);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigUpdateError);
      return (err as Error).message;
    }
    throw new Error('the update was accepted');
  };

  it('round-trips an added organisation and changed Application policies, with versions as Fabric sets them', () => {
    const updated = addHospital3();
    const update = computeConfigUpdate(CHANNEL_ID, current().config, updated);
    expect(update.getChannelId()).toBe(CHANNEL_ID);
    const next = proposeConfigUpdate(current(), signConfigUpdate(update, [admins.h1, admins.h2]));
    expect(next.getSequence()).toBe(current().sequence + 1);
    // The next config is what the administrator edited ...
    expect(withoutVersions(next)).toEqual(withoutVersions(updated));
    // ... with the changed elements one version on and the new ones at 0.
    const before = versions(current().config.getChannelGroup());
    const after = versions(next.getChannelGroup());
    const changed = Object.fromEntries(Object.entries(after).filter(([k, v]) => before[k] !== v));
    expect(changed).toEqual({
      '[Group]  /Channel/Application': 1,
      '[Policy] /Channel/Application/Endorsement': 1,
      '[Policy] /Channel/Application/LifecycleEndorsement': 1,
      '[Group]  /Channel/Application/Hospital3MSP': 0,
      '[Value]  /Channel/Application/Hospital3MSP/MSP': 0,
      '[Value]  /Channel/Application/Hospital3MSP/AnchorPeers': 0,
      '[Policy] /Channel/Application/Hospital3MSP/Readers': 0,
      '[Policy] /Channel/Application/Hospital3MSP/Writers': 0,
      '[Policy] /Channel/Application/Hospital3MSP/Admins': 0,
      '[Policy] /Channel/Application/Hospital3MSP/Endorsement': 0,
    });
    expect(Object.keys(after).filter((k) => !(k in before) && !k.includes('Hospital3MSP'))).toEqual([]);
    expect(Object.keys(before).filter((k) => !(k in after))).toEqual([]);
    // The nodes can run on it: the new organisation's members are channel members.
    const config = new ChannelConfig(CHANNEL_ID, next);
    expect(config.applicationOrg('Hospital3MSP')?.anchorPeers).toEqual(['127.0.0.1:9051']);
    expect(config.msps.deserialize(hospital3.client().serialized).mspId).toBe('Hospital3MSP');
    expect(() => current().msps.deserialize(hospital3.client().serialized)).toThrow();
    expect(config.policies.signaturePolicy('/Channel/Application/Endorsement').mspIds()).toEqual([
      'Hospital1MSP',
      'Hospital2MSP',
      'Hospital3MSP',
    ]);
  });

  it('computes the read and write sets as configtxlator compute_update does', () => {
    const update = computeConfigUpdate(CHANNEL_ID, current().config, addHospital3());
    const read = update.getReadSet() as common.ConfigGroup;
    const write = update.getWriteSet() as common.ConfigGroup;
    // Only the Application group changes: the channel group is read and written at its version.
    expect([read.getVersion(), write.getVersion(), write.getModPolicy()]).toEqual([0, 0, '']);
    expect([...read.getGroupsMap().keys()]).toEqual(['Application']);
    expect([...write.getGroupsMap().keys()]).toEqual(['Application']);
    expect(read.getValuesMap().getLength() + read.getPoliciesMap().getLength()).toBe(0);
    const readApp = read.getGroupsMap().get('Application') as common.ConfigGroup;
    const writeApp = write.getGroupsMap().get('Application') as common.ConfigGroup;
    // Its members changed: the unchanged ones are listed by version only, in both sets.
    expect([...readApp.getGroupsMap().keys()]).toEqual(['Hospital1MSP', 'Hospital2MSP', 'PatientsMSP']);
    expect([...writeApp.getGroupsMap().keys()]).toEqual([
      'Hospital1MSP',
      'Hospital2MSP',
      'Hospital3MSP',
      'PatientsMSP',
    ]);
    const unchanged = readApp.getGroupsMap().get('Hospital1MSP') as common.ConfigGroup;
    expect(Buffer.from(unchanged.serializeBinary())).toEqual(Buffer.from(new common.ConfigGroup().serializeBinary()));
    expect([...readApp.getPoliciesMap().keys()]).toEqual(['Admins', 'Readers', 'Writers']);
    expect(readApp.getPoliciesMap().get('Admins')?.hasPolicy()).toBe(false);
    expect([...writeApp.getPoliciesMap().keys()]).toEqual([
      'Admins',
      'Endorsement',
      'LifecycleEndorsement',
      'Readers',
      'Writers',
    ]);
    expect([writeApp.getVersion(), writeApp.getModPolicy()]).toEqual([1, 'Admins']);
    expect(writeApp.getPoliciesMap().get('Endorsement')?.getVersion()).toBe(1);
    expect([...readApp.getValuesMap().keys()]).toEqual(['Capabilities']);
    expect(readApp.getValuesMap().get('Capabilities')?.getValue_asU8()).toHaveLength(0);
    const added = writeApp.getGroupsMap().get('Hospital3MSP') as common.ConfigGroup;
    expect([added.getVersion(), added.getModPolicy(), [...added.getValuesMap().keys()]]).toEqual([
      0,
      'Admins',
      ['AnchorPeers', 'MSP'],
    ]);
    // Nothing changed: nothing to compute.
    expect(() => computeConfigUpdate(CHANNEL_ID, current().config, cloneConfig(current().config))).toThrow(
      'no differences detected between original and updated config',
    );
  });

  it('removes an organisation, and chains updates: each is computed from the configuration in force', () => {
    const first = new ChannelConfig(
      CHANNEL_ID,
      propose(computeConfigUpdate(CHANNEL_ID, current().config, addHospital3()), [admins.h1, admins.h2]),
    );
    const withoutPatients = cloneConfig(first.config);
    applicationGroup(withoutPatients).getGroupsMap().del('PatientsMSP');
    const update = computeConfigUpdate(CHANNEL_ID, first.config, withoutPatients);
    // Four organisations now: a majority of Admins is three.
    expect(refusal(update, [admins.h1, admins.h2], first)).toMatch(/requires 3 of the 'Admins' sub-policies/);
    const second = new ChannelConfig(CHANNEL_ID, propose(update, [admins.h1, admins.h2, admins.patients], first));
    expect(second.sequence).toBe(2);
    expect(second.applicationOrgs.map((o) => o.mspId).sort()).toEqual(['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP']);
    expect(versions(second.config.getChannelGroup())['[Group]  /Channel/Application']).toBe(2);
    expect(() => second.msps.deserialize(patients.client().serialized)).toThrow();
    // The same update again: its read set is stale now.
    expect(refusal(update, [admins.h1, admins.h2, admins.patients], second)).toBe(
      'proposed update requires that key [Group]  /Channel/Application be at version 1, but it is currently at version 2',
    );
  });

  describe('authorization: the mod_policy of each changed element', () => {
    const update = () => computeConfigUpdate(CHANNEL_ID, current().config, addHospital3());

    it('needs a MAJORITY of the application organisations’ admins for the Application group: one of three is refused, two accepted', () => {
      expect(refusal(update(), [admins.h1])).toBe(
        "error validating DeltaSet: policy for [Group]  /Channel/Application not satisfied: implicit policy evaluation failed - 1 sub-policies were satisfied, but this policy requires 2 of the 'Admins' sub-policies to be satisfied",
      );
      expect(() => propose(update(), [admins.h1, admins.patients])).not.toThrow();
      expect(() => propose(update(), [admins.h2, admins.patients, admins.h1])).not.toThrow();
    });

    it('refuses clients, peers, the orderer admin, one admin signing twice, outsiders and forged signatures', () => {
      expect(refusal(update(), [h1.client(), h2.client(), patients.client()])).toMatch(APPLICATION_ADMINS);
      expect(refusal(update(), [h1.peer(), h2.peer()])).toMatch(APPLICATION_ADMINS);
      expect(refusal(update(), [admins.h1, admins.orderer])).toMatch(APPLICATION_ADMINS);
      expect(refusal(update(), [admins.h1, admins.h1])).toMatch(APPLICATION_ADMINS);
      // The joining organisation's own admin is nobody yet.
      expect(refusal(update(), [admins.h1, hospital3.admin()])).toMatch(APPLICATION_ADMINS);
      // An admin certificate of the right MSP id from another CA.
      const impostor = TestCa.root('ca.hospital2').identity('Hospital2MSP', 'admin');
      expect(refusal(update(), [admins.h1, impostor])).toMatch(APPLICATION_ADMINS);
      // A valid signature by hospital 2's admin, over another update.
      const env = signConfigUpdate(update(), [admins.h1]);
      const other = signConfigUpdate(
        computeConfigUpdate(CHANNEL_ID, current().config, withApplicationOrg(current().config, hospital3)),
        [admins.h2],
      );
      env.addSignatures(other.getSignaturesList()[0]);
      expect(configSignaturesAsSignedData(env)).toHaveLength(2);
      expect(() => proposeConfigUpdate(current(), env)).toThrow(APPLICATION_ADMINS);
    });

    it('checks the policy of the element changed, not of the signers’ choosing: orderer values need the orderer admins', () => {
      const bigger = cloneConfig(current().config);
      const orderer = bigger.getChannelGroup()?.getGroupsMap().get('Orderer') as common.ConfigGroup;
      const size = ordererProtos.BatchSize.deserializeBinary(
        orderer.getValuesMap().get('BatchSize')?.getValue_asU8() as Uint8Array,
      );
      size.setMaxMessageCount(50);
      orderer.getValuesMap().get('BatchSize')?.setValue(size.serializeBinary());
      const u = computeConfigUpdate(CHANNEL_ID, current().config, bigger);
      expect(refusal(u, [admins.h1, admins.h2, admins.patients])).toBe(
        "error validating DeltaSet: policy for [Value]  /Channel/Orderer/BatchSize not satisfied: implicit policy evaluation failed - 0 sub-policies were satisfied, but this policy requires 1 of the 'Admins' sub-policies to be satisfied",
      );
      const next = new ChannelConfig(CHANNEL_ID, propose(u, [admins.orderer]));
      expect(next.batch.maxMessageCount).toBe(50);
    });

    it('does not authorize an element added under a group the update leaves unchanged: it is dropped', () => {
      // Hospital 3 written under the Application group at its current version, with no signature at all.
      const u = computeConfigUpdate(CHANNEL_ID, current().config, addHospital3());
      const app = u.getWriteSet()?.getGroupsMap().get('Application') as common.ConfigGroup;
      app.setVersion(0);
      for (const name of ['Endorsement', 'LifecycleEndorsement']) app.getPoliciesMap().del(name);
      const next = propose(u, []);
      expect(new ChannelConfig(CHANNEL_ID, next).applicationOrg('Hospital3MSP')).toBeUndefined();
      expect(withoutVersions(next)).toEqual(withoutVersions(current().config));
    });
  });

  describe('refusals', () => {
    /** A policy change only: Application/Endorsement to two of three named hospitals. */
    const policyUpdate = () =>
      computeConfigUpdate(
        CHANNEL_ID,
        current().config,
        withApplicationPolicies(current().config, { Endorsement: "OutOf(1,'Hospital1MSP.peer','Hospital2MSP.peer')" }),
      );
    const endorsementIn = (u: common.ConfigUpdate) =>
      u.getWriteSet()?.getGroupsMap().get('Application')?.getPoliciesMap().get('Endorsement') as common.ConfigPolicy;
    const signers = () => [admins.h1, admins.h2];

    it('a read set whose versions are not the current ones, or that names what does not exist', () => {
      const u = computeConfigUpdate(CHANNEL_ID, current().config, addHospital3());
      u.getReadSet()?.getGroupsMap().get('Application')?.setVersion(3);
      expect(refusal(u, signers())).toBe(
        'proposed update requires that key [Group]  /Channel/Application be at version 3, but it is currently at version 0',
      );
      const ghost = computeConfigUpdate(CHANNEL_ID, current().config, addHospital3());
      ghost.getReadSet()?.getGroupsMap().set('Consortiums', new common.ConfigGroup());
      expect(refusal(ghost, signers())).toBe(
        'existing config does not contain element for [Group]  /Channel/Consortiums but was in the read set',
      );
    });

    it('a changed element not at its version + 1', () => {
      const u = policyUpdate();
      expect(endorsementIn(u).getVersion()).toBe(1);
      endorsementIn(u).setVersion(2);
      expect(refusal(u, signers())).toBe(
        'attempt to set key [Policy] /Channel/Application/Endorsement to version 2, but key is at version 0',
      );
    });

    it('a changed element without a mod_policy', () => {
      const u = policyUpdate();
      endorsementIn(u).setModPolicy('');
      expect(refusal(u, signers())).toBe(
        'invalid mod_policy for element [Policy] /Channel/Application/Endorsement: mod_policy not set',
      );
    });

    it('a new element at a version other than 0', () => {
      const u = computeConfigUpdate(CHANNEL_ID, current().config, addHospital3());
      u.getWriteSet()?.getGroupsMap().get('Application')?.getGroupsMap().get('Hospital3MSP')?.setVersion(1);
      expect(refusal(u, signers())).toBe(
        'attempted to set key [Group]  /Channel/Application/Hospital3MSP to version 1, but key does not exist',
      );
    });

    it('an update that changes nothing', () => {
      const u = policyUpdate();
      u.setWriteSet(u.getReadSet());
      expect(refusal(u, signers())).toBe('delta set was empty -- update would have no effect');
    });

    it('an update for another channel, and bytes that are not an update', () => {
      const u = computeConfigUpdate('other', current().config, addHospital3());
      expect(refusal(u, signers())).toBe("ConfigUpdate for channel 'other' but envelope for channel 'phr'");
      const env = new common.ConfigUpdateEnvelope();
      env.setConfigUpdate(Buffer.from([0x0a, 0x05, 0x01]));
      expect(() => proposeConfigUpdate(current(), env)).toThrow(ConfigUpdateError);
    });

    it('keys with characters configtx does not allow', () => {
      const bad = cloneConfig(current().config);
      const app = applicationGroup(bad);
      app.getGroupsMap().set('Hospital 3', app.getGroupsMap().get('Hospital1MSP') as common.ConfigGroup);
      const u = computeConfigUpdate(CHANNEL_ID, current().config, bad);
      expect(refusal(u, signers())).toBe('illegal characters in key Hospital 3');
    });
  });
});
