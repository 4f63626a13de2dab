// @peculiar/x509 needs the reflect polyfill before it loads (as network/src/ca-cli.ts does)
import 'reflect-metadata';
// The embedded network signs with @phr/ledger-client's lowS; its index also loads fabric-gateway, whose
// ES-module-only @noble/curves this project's jest transform does not compile. Only the signer is needed.
jest.mock('@phr/ledger-client', () => jest.requireActual('@phr/ledger-client/ecdsa-signer'));
import { common, msp as mspProtos } from '@hyperledger/fabric-protos';
import { X509Crl } from '@peculiar/x509';
import {
  ChannelConfig,
  computeConfigUpdate,
  ConfigUpdateError,
  genesisBlock,
  LocalIdentity,
  organizationGroup,
  proposeConfigUpdate,
  type RawOrg,
} from '@phr/embedded-fabric';
import { CHANNEL_ID, createTestOrg, keyPem, TestCa, TestChannel, type TestOrg } from '@phr/embedded-fabric/testing';
import {
  applicationMspIds,
  configFromBlock,
  GovernanceError,
  isMembersGoverned,
  majorityRule,
  MEMBERS_ADMINS,
  mspConfigOf,
  withHospital,
  withMembersGovernance,
  withRevocationList,
} from './channel-config';
import { signConfigUpdate, updateEnvelope } from './config-transactions';
import { crlIssuedBy } from './revocation';

const H1 = 'Hospital1MSP';
const H2 = 'Hospital2MSP';
const H3 = 'Hospital3MSP';
const FOUNDERS = [H1, H2];

const ROLE_NAMES: Record<number, string> = { 0: 'member', 1: 'admin', 2: 'client', 3: 'peer', 4: 'orderer' };

/** A signature policy decoded back to Fabric's policy language, independently of the encoder. */
function policyText(cp: common.ConfigPolicy | undefined): string {
  const p = cp?.getPolicy();
  if (!p) return '<none>';
  if (p.getType() !== common.Policy.PolicyType.SIGNATURE) return `<type ${p.getType()}>`;
  const env = common.SignaturePolicyEnvelope.deserializeBinary(p.getValue_asU8());
  const principals = env.getIdentitiesList().map((id) => {
    const role = mspProtos.MSPRole.deserializeBinary(id.getPrincipal_asU8());
    return `'${role.getMspIdentifier()}.${ROLE_NAMES[role.getRole()] ?? role.getRole()}'`;
  });
  const rule = (r: common.SignaturePolicy | undefined): string => {
    if (!r) return '<none>';
    if (r.hasNOutOf()) {
      const n = r.getNOutOf() as common.SignaturePolicy.NOutOf;
      return `OutOf(${n.getN()},${n.getRulesList().map(rule).join(',')})`;
    }
    return principals[r.getSignedBy()] ?? `<identity ${r.getSignedBy()}>`;
  };
  return rule(env.getRule());
}

const appGroup = (config: common.Config): common.ConfigGroup => {
  const g = config.getChannelGroup()?.getGroupsMap().get('Application');
  if (!g) throw new Error('no Application group');
  return g;
};
const orgGroup = (config: common.Config, mspId: string) => appGroup(config).getGroupsMap().get(mspId);
const appPolicy = (config: common.Config, name: string) => appGroup(config).getPoliciesMap().get(name);

/** The ConfigUpdateEnvelope inside a CONFIG_UPDATE envelope, as the orderer hands it to its validator. */
function configUpdateEnvelopeOf(envelope: Uint8Array): common.ConfigUpdateEnvelope {
  const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(envelope).getPayload_asU8());
  return common.ConfigUpdateEnvelope.deserializeBinary(payload.getData_asU8());
}

/**
 * The whole governance path as the network scripts run it: the ConfigUpdate from `current` to
 * `updated` (configtxlator compute_update), the unsigned envelope, each admin's signature
 * (peer channel signconfigtx) and the orderer's validation (proposeConfigUpdate).
 */
function propose(current: ChannelConfig, updated: common.Config, signers: LocalIdentity[]): ChannelConfig {
  let envelope = updateEnvelope(computeConfigUpdate(CHANNEL_ID, current.config, updated));
  for (const s of signers) envelope = signConfigUpdate(envelope, s);
  return new ChannelConfig(CHANNEL_ID, proposeConfigUpdate(current, configUpdateEnvelopeOf(envelope)));
}

/** The validator's refusal message (fails the test when the update is accepted). */
function refusal(current: ChannelConfig, updated: common.Config, signers: LocalIdentity[]): string {
  try {
    propose(current, updated, signers);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigUpdateError);
    return (err as Error).message;
  }
  throw new Error('the update was accepted');
}

/** The validator's refusal of a change to the Application group (its mod_policy, the members' majority). */
const APPLICATION_REFUSED = /^error validating DeltaSet: policy for \[Group\] {2}\/Channel\/Application not satisfied/;

/** A DER CRL as PEM, labelled as openssl and `phr-ca gencrl` write it (and as Fabric's x509.ParseCRL requires). */
const crlPem = (der: Buffer): string =>
  `-----BEGIN X509 CRL-----\n${(der.toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END X509 CRL-----\n`;

/** configtxgen -printOrg for a hospital created as network/src/configtx.ts describes hospitals. */
function hospitalDefinition(org: TestOrg, anchorPort = 9051): common.ConfigGroup {
  const id = org.mspId;
  const sig = (rule: string) => ({ Type: 'Signature' as const, Rule: rule });
  const raw: RawOrg = {
    Name: id,
    ID: id,
    MSPDir: org.mspDir,
    Policies: {
      Readers: sig(`OR('${id}.admin','${id}.peer','${id}.client')`),
      Writers: sig(`OR('${id}.admin','${id}.client')`),
      Admins: sig(`OR('${id}.admin')`),
      Endorsement: sig(`OR('${id}.peer')`),
    },
    AnchorPeers: [{ Host: `peer0.${org.name}.example`, Port: anchorPort }],
  };
  return organizationGroup(raw, 'application');
}

describe('channel governance of the hospitals (withMembersGovernance, withHospital, withRevocationList)', () => {
  const channel = new TestChannel();
  const hospital3 = createTestOrg(channel.dir, 'hospital3', H3);
  const admin = {
    h1: channel.hospital1.admin(),
    h2: channel.hospital2.admin(),
    h3: hospital3.admin(),
    patients: channel.patients.admin(),
    orderer: channel.orderer.admin(),
  };
  afterAll(() => channel.remove());

  /** The channel as configtxgen makes it: each hospital's group and MSP governed by its own admins. */
  const initial = () => channel.config;

  let governedMemo: ChannelConfig | undefined;
  /** The channel once both founders' admins have put it under the members' governance. */
  const governed = (): ChannelConfig =>
    (governedMemo ??= propose(initial(), withMembersGovernance(initial().config, FOUNDERS), [admin.h1, admin.h2]));

  let threeMemo: ChannelConfig | undefined;
  /** The governed channel once hospital 3 has been admitted by both founders. */
  const withThree = (): ChannelConfig =>
    (threeMemo ??= propose(governed(), withHospital(governed().config, H3, hospitalDefinition(hospital3), FOUNDERS), [
      admin.h1,
      admin.h2,
    ]));

  describe('reading a configuration', () => {
    it('takes the configuration out of a config block and lists the application organisations', () => {
      const config = configFromBlock(channel.genesis);
      expect(Buffer.from(config.serializeBinary())).toEqual(Buffer.from(initial().config.serializeBinary()));
      expect(applicationMspIds(config)).toEqual([H1, H2, 'PatientsMSP']);
      const block = genesisBlock(CHANNEL_ID, withMembersGovernance(config, FOUNDERS));
      expect(isMembersGoverned(configFromBlock(block), FOUNDERS)).toBe(true);
    });

    it('refuses a block that is not a config block, or carries nothing', () => {
      const ch = new common.ChannelHeader();
      ch.setType(common.HeaderType.ENDORSER_TRANSACTION);
      ch.setChannelId(CHANNEL_ID);
      const header = new common.Header();
      header.setChannelHeader(ch.serializeBinary());
      const payload = new common.Payload();
      payload.setHeader(header);
      const env = new common.Envelope();
      env.setPayload(payload.serializeBinary());
      const data = new common.BlockData();
      data.setDataList([env.serializeBinary()]);
      const block = new common.Block();
      block.setData(data);
      expect(() => configFromBlock(block)).toThrow(GovernanceError);
      expect(() => configFromBlock(block)).toThrow(/not a config block/);
      expect(() => configFromBlock(new common.Block())).toThrow(/no transaction/);
    });

    it('writes majority rules of hospitals', () => {
      expect(majorityRule([H1], 'admin')).toBe(`OutOf(1,'${H1}.admin')`);
      expect(majorityRule([H1, H2], 'peer')).toBe(`OutOf(2,'${H1}.peer','${H2}.peer')`);
      expect(majorityRule([H1, H2, H3], 'admin')).toBe(`OutOf(2,'${H1}.admin','${H2}.admin','${H3}.admin')`);
      expect(majorityRule(['AMSP', 'BMSP', 'CMSP', 'DMSP'], 'peer')).toMatch(/^OutOf\(3,/);
    });
  });

  describe('withMembersGovernance', () => {
    it('is not in force in a channel configtxgen made, and is once applied', () => {
      expect(isMembersGoverned(initial().config, FOUNDERS)).toBe(false);
      const next = withMembersGovernance(initial().config, FOUNDERS);
      expect(isMembersGoverned(next, FOUNDERS)).toBe(true);
      expect(isMembersGoverned(next, [...FOUNDERS, 'PatientsMSP'])).toBe(false);
      // the original is left as it was
      expect(isMembersGoverned(initial().config, FOUNDERS)).toBe(false);
      for (const mspId of FOUNDERS) {
        expect(orgGroup(next, mspId)?.getModPolicy()).toBe(MEMBERS_ADMINS);
        expect(orgGroup(next, mspId)?.getValuesMap().get('MSP')?.getModPolicy()).toBe(MEMBERS_ADMINS);
        // the organisation's own policies stay its own
        expect(policyText(orgGroup(next, mspId)?.getPoliciesMap().get('Admins'))).toBe(`OutOf(1,'${mspId}.admin')`);
      }
      // the patients' organisation keeps configtxgen's default and counts in no majority
      expect(orgGroup(next, 'PatientsMSP')?.getModPolicy()).toBe('Admins');
      expect(policyText(appPolicy(next, 'Admins'))).toBe(`OutOf(2,'${H1}.admin','${H2}.admin')`);
      expect(policyText(appPolicy(next, 'Endorsement'))).toBe(`OutOf(2,'${H1}.peer','${H2}.peer')`);
      expect(policyText(appPolicy(next, 'LifecycleEndorsement'))).toBe(`OutOf(2,'${H1}.peer','${H2}.peer')`);
      expect(appPolicy(next, 'Admins')?.getModPolicy()).toBe('Admins');
    });

    it('refuses a hospital the channel does not have', () => {
      expect(() => withMembersGovernance(initial().config, [...FOUNDERS, H3])).toThrow(GovernanceError);
      try {
        withMembersGovernance(initial().config, [H3]);
      } catch (err) {
        expect((err as GovernanceError).code).toBe('NOT_A_MEMBER');
      }
      expect.assertions(2);
    });

    it('needs each founder to put its own organisation under the members (configtxgen defaults)', () => {
      const next = withMembersGovernance(initial().config, FOUNDERS);
      // hospital 1 and the patients are a majority of the application organisations, but hospital 2's group is its own
      expect(refusal(initial(), next, [admin.h1, admin.patients])).toMatch(/\/Channel\/Application\/Hospital2MSP/);
      expect(refusal(initial(), next, [admin.h1])).toMatch(/\/Channel\/Application/);
      const accepted = governed();
      expect(accepted.sequence).toBe(initial().sequence + 1);
      expect(isMembersGoverned(accepted.config, FOUNDERS)).toBe(true);
      expect(policyText(appPolicy(accepted.config, 'Admins'))).toBe(`OutOf(2,'${H1}.admin','${H2}.admin')`);
    });

    it("before it one hospital's admin alone changes its MSP; after it only a majority of the hospitals does", async () => {
      const crl = crlPem(await channel.hospital1.ca.crl([channel.hospital1.ca.issue({ cn: 'lost' }).serial]));
      const editMsp = (from: ChannelConfig) => withRevocationList(from.config, H1, crl, (p) => crlIssuedBy(p, crl));

      // configtxgen's default: the organisation's own Admins
      expect(propose(initial(), editMsp(initial()), [admin.h1]).sequence).toBe(initial().sequence + 1);
      expect(refusal(initial(), editMsp(initial()), [admin.h2])).toMatch(/\/Channel\/Application\/Hospital1MSP\/MSP/);

      // the members' governance: the hospitals' majority, never counting the patients
      expect(refusal(governed(), editMsp(governed()), [admin.h1])).toMatch(/\/Channel\/Application\/Hospital1MSP\/MSP/);
      expect(refusal(governed(), editMsp(governed()), [admin.h1, admin.patients])).toMatch(/Hospital1MSP\/MSP/);
      expect(refusal(governed(), editMsp(governed()), [admin.h1, admin.orderer])).toMatch(/Hospital1MSP\/MSP/);
      // the same admin twice, or two admins of one hospital, are one hospital
      expect(refusal(governed(), editMsp(governed()), [admin.h1, admin.h1])).toMatch(/Hospital1MSP\/MSP/);
      expect(refusal(governed(), editMsp(governed()), [admin.h1, channel.hospital1.admin()])).toMatch(
        /Hospital1MSP\/MSP/,
      );
      const next = propose(governed(), editMsp(governed()), [admin.h2, admin.h1]);
      expect(mspConfigOf(next.config, H1).getRevocationListList_asU8()).toHaveLength(1);
    });
  });

  describe('withHospital', () => {
    it('adds the hospital governed by the members and moves the majorities to include it', () => {
      const next = withHospital(governed().config, H3, hospitalDefinition(hospital3), FOUNDERS);
      expect(applicationMspIds(next)).toEqual([H1, H2, H3, 'PatientsMSP']);
      expect(orgGroup(next, H3)?.getModPolicy()).toBe(MEMBERS_ADMINS);
      expect(orgGroup(next, H3)?.getValuesMap().get('MSP')?.getModPolicy()).toBe(MEMBERS_ADMINS);
      expect(mspConfigOf(next, H3).getName()).toBe(H3);
      expect(isMembersGoverned(next, [...FOUNDERS, H3])).toBe(true);
      // the edited policies keep their versions (compute_update raises them)
      // (Admins became a signature policy under the members' governance: version 1; the endorsement
      // policies were this majority already: version 0)
      expect(appPolicy(governed().config, 'Admins')?.getVersion()).toBe(1);
      for (const name of ['Admins', 'Endorsement', 'LifecycleEndorsement']) {
        const version = appPolicy(governed().config, name)?.getVersion() ?? -1;
        expect(appPolicy(next, name)?.getVersion()).toBe(version);
        expect(appPolicy(withThree().config, name)?.getVersion()).toBe(version + 1);
      }
      // the given group is not modified
      expect(hospitalDefinition(hospital3).getModPolicy()).toBe('Admins');
      // the original configuration is not modified
      expect(applicationMspIds(governed().config)).toEqual([H1, H2, 'PatientsMSP']);
    });

    it('is refused with one hospital admin, or one with the patients or the orderer, and accepted with both', () => {
      const next = withHospital(governed().config, H3, hospitalDefinition(hospital3), FOUNDERS);
      expect(refusal(governed(), next, [admin.h1])).toMatch(APPLICATION_REFUSED);
      expect(refusal(governed(), next, [admin.h2])).toMatch(APPLICATION_REFUSED);
      expect(refusal(governed(), next, [admin.h1, admin.patients])).toMatch(APPLICATION_REFUSED);
      expect(refusal(governed(), next, [admin.patients, admin.orderer])).toMatch(APPLICATION_REFUSED);
      // the joining hospital's own admin does not count before it is a member
      expect(refusal(governed(), next, [admin.h1, admin.h3])).toMatch(APPLICATION_REFUSED);

      const after = withThree();
      expect(after.sequence).toBe(governed().sequence + 1);
      const cfg = after.config;
      expect(applicationMspIds(cfg)).toEqual([H1, H2, H3, 'PatientsMSP']);
      expect(orgGroup(cfg, H3)?.getModPolicy()).toBe(MEMBERS_ADMINS);
      expect(orgGroup(cfg, H3)?.getValuesMap().get('MSP')?.getModPolicy()).toBe(MEMBERS_ADMINS);
      expect(policyText(orgGroup(cfg, H3)?.getPoliciesMap().get('Admins'))).toBe(`OutOf(1,'${H3}.admin')`);
      expect(policyText(appPolicy(cfg, 'Admins'))).toBe(`OutOf(2,'${H1}.admin','${H2}.admin','${H3}.admin')`);
      expect(policyText(appPolicy(cfg, 'Endorsement'))).toBe(`OutOf(2,'${H1}.peer','${H2}.peer','${H3}.peer')`);
      expect(policyText(appPolicy(cfg, 'LifecycleEndorsement'))).toBe(
        `OutOf(2,'${H1}.peer','${H2}.peer','${H3}.peer')`,
      );
      // the nodes can run on it: hospital 3's identities are valid in the channel, its anchor peer known
      expect(after.msps.deserialize(hospital3.peer().serialized).mspId).toBe(H3);
      expect(after.applicationOrg(H3)?.anchorPeers).toEqual(['peer0.hospital3.example:9051']);
    });

    it("counts the new hospital's admin afterwards: two of three hospitals are a majority", async () => {
      const three = withThree();
      const crl = crlPem(await channel.hospital2.ca.crl([channel.hospital2.ca.issue({ cn: 'gateway' }).serial]));
      const suspend = withRevocationList(three.config, H2, crl, (p) => crlIssuedBy(p, crl));
      expect(refusal(three, suspend, [admin.h1])).toMatch(/Hospital2MSP\/MSP/);
      expect(refusal(three, suspend, [admin.h1, admin.patients])).toMatch(/Hospital2MSP\/MSP/);
      expect(propose(three, suspend, [admin.h1, admin.h3]).sequence).toBe(three.sequence + 1);
      // and a fourth hospital needs two of the three
      const hospital4 = createTestOrg(channel.dir, 'hospital4', 'Hospital4MSP');
      const four = withHospital(three.config, 'Hospital4MSP', hospitalDefinition(hospital4), [H1, H2, H3]);
      expect(policyText(appPolicy(four, 'Admins'))).toBe(
        `OutOf(3,'${H1}.admin','${H2}.admin','${H3}.admin','Hospital4MSP.admin')`,
      );
      expect(refusal(three, four, [admin.h3])).toMatch(APPLICATION_REFUSED);
      expect(propose(three, four, [admin.h3, admin.h2]).config.getSequence()).toBe(three.sequence + 1);
    });

    it('refuses an existing member, and a definition of another MSP or without an MSP', () => {
      const code = (fn: () => unknown) => {
        try {
          fn();
        } catch (err) {
          expect(err).toBeInstanceOf(GovernanceError);
          return (err as GovernanceError).code;
        }
        throw new Error('accepted');
      };
      expect(code(() => withHospital(governed().config, H2, hospitalDefinition(channel.hospital2), FOUNDERS))).toBe(
        'ALREADY_A_MEMBER',
      );
      expect(code(() => withHospital(governed().config, 'PatientsMSP', hospitalDefinition(hospital3), []))).toBe(
        'ALREADY_A_MEMBER',
      );
      expect(() => withHospital(governed().config, 'Hospital9MSP', hospitalDefinition(hospital3), FOUNDERS)).toThrow(
        /for Hospital3MSP, not Hospital9MSP/,
      );
      const noMsp = hospitalDefinition(hospital3);
      noMsp.getValuesMap().del('MSP');
      expect(code(() => withHospital(governed().config, H3, noMsp, FOUNDERS))).toBe('BAD_CONFIG');
      expect(code(() => withHospital(withThree().config, H3, hospitalDefinition(hospital3), [...FOUNDERS, H3]))).toBe(
        'ALREADY_A_MEMBER',
      );
    });
  });

  describe('withRevocationList', () => {
    it('puts the CRL in the MSP, replaces one from the same CA, keeps one from another CA', async () => {
      const ca = channel.hospital2.ca;
      const [a, b] = [ca.issue({ cn: 'gw-a' }), ca.issue({ cn: 'gw-b' })];
      const first = crlPem(await ca.crl([a.serial]));
      const second = crlPem(await ca.crl([a.serial, b.serial]));
      const otherCa = TestCa.root('ca.tls.hospital2');
      const other = crlPem(await otherCa.crl([otherCa.issue({ cn: 'tls' }).serial]));
      const add = (config: common.Config, pem: string) =>
        withRevocationList(config, H2, pem, (p) => crlIssuedBy(p, pem));
      const lists = (config: common.Config) =>
        mspConfigOf(config, H2)
          .getRevocationListList_asU8()
          .map((c) => Buffer.from(c).toString('utf8'));

      expect(lists(governed().config)).toEqual([]);
      const one = add(governed().config, first);
      expect(lists(one)).toEqual([first]);
      expect(lists(governed().config)).toEqual([]);
      const replaced = add(one, second);
      expect(lists(replaced)).toEqual([second]);
      const both = add(replaced, other);
      expect(lists(both)).toEqual([second, other]);
      // a newer CRL of hospital 2's CA replaces its own, not the other CA's
      const third = crlPem(await ca.crl([b.serial]));
      expect(lists(add(both, third))).toEqual([other, third]);
      // the rest of the MSP is untouched
      const before = mspConfigOf(governed().config, H2);
      const after = mspConfigOf(both, H2);
      after.setRevocationListList([]);
      expect(Buffer.from(after.serializeBinary())).toEqual(Buffer.from(before.serializeBinary()));
      expect(orgGroup(both, H2)?.getValuesMap().get('MSP')?.getModPolicy()).toBe(MEMBERS_ADMINS);
      expect(() => withRevocationList(governed().config, H3, first, () => false)).toThrow(/Hospital3MSP/);
    });

    it('once applied, the channel refuses the revoked certificate and counts no signature made with it', async () => {
      const ca = channel.hospital2.ca;
      const issued = ca.issue({ cn: 'admin-revoked', ous: ['admin'] });
      const revoked = new LocalIdentity(H2, issued.certificatePem, keyPem(issued.key));
      const valid = channel.hospital2.admin();
      // another CA's CRL listing hospital 2's certificate is not hospital 2's CA speaking
      const stranger = TestCa.root('ca.stranger');
      const strangerCrl = crlPem(await stranger.crl([issued.serial]));
      const crl = crlPem(await ca.crl([issued.serial]));

      const three = withThree();
      expect(three.msps.deserialize(revoked.serialized).mspId).toBe(H2);
      const withStranger = withRevocationList(three.config, H2, strangerCrl, (p) => crlIssuedBy(p, strangerCrl));
      expect(new ChannelConfig(CHANNEL_ID, withStranger).msps.deserialize(revoked.serialized).mspId).toBe(H2);
      const updated = withRevocationList(withStranger, H2, crl, (p) => crlIssuedBy(p, crl));
      expect(mspConfigOf(updated, H2).getRevocationListList_asU8()).toHaveLength(2);

      // the suspension itself needs the majority
      expect(refusal(three, updated, [admin.h1])).toMatch(/Hospital2MSP\/MSP/);
      const next = propose(three, updated, [admin.h1, admin.h3]);

      expect(() => next.msps.deserialize(revoked.serialized)).toThrow(/revoked/);
      expect(next.msps.deserialize(valid.serialized).mspId).toBe(H2);
      // a majority that leans on the revoked admin is no majority
      const edit = withRevocationList(next.config, H1, crl, () => false);
      expect(refusal(next, edit, [admin.h1, revoked])).toMatch(/Hospital1MSP\/MSP/);
      expect(propose(next, edit, [admin.h1, valid]).sequence).toBe(next.sequence + 1);
    });

    // A PEM CRL not labelled X509 CRL ('-----BEGIN CRL-----', as @peculiar/x509 writes it) is refused with
    // the configuration, as Fabric's x509.ParseCRL refuses it — never kept and silently ignored.
    it('a CRL labelled "BEGIN CRL" revokes, or makes the configuration invalid; it is never ignored', async () => {
      const ca = channel.hospital2.ca;
      const issued = ca.issue({ cn: 'gateway-revoked', ous: ['client'] });
      const revoked = new LocalIdentity(H2, issued.certificatePem, keyPem(issued.key));
      const pem = new X509Crl(await ca.crl([issued.serial])).toString('pem');
      expect(pem).toMatch(/^-----BEGIN CRL-----/);
      const updated = withRevocationList(governed().config, H2, pem, (p) => crlIssuedBy(p, pem));
      let refused = false;
      try {
        new ChannelConfig(CHANNEL_ID, updated).msps.deserialize(revoked.serialized);
      } catch {
        refused = true;
      }
      expect(refused).toBe(true);
    });
  });

  describe('crlIssuedBy', () => {
    it('tells CRLs of one CA from those of another', async () => {
      const ca = channel.hospital1.ca;
      const a = crlPem(await ca.crl([]));
      const b = crlPem(await ca.crl([ca.issue({ cn: 'x' }).serial]));
      const c = crlPem(await channel.hospital2.ca.crl([]));
      expect(crlIssuedBy(a, b)).toBe(true);
      expect(crlIssuedBy(a, c)).toBe(false);
      expect(crlIssuedBy('not a CRL', a)).toBe(false);
      expect(crlIssuedBy(a, '')).toBe(false);
    });
  });
});
