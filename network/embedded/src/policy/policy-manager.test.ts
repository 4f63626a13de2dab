import { common } from '@hyperledger/fabric-protos';
import { Msp } from '../msp/msp';
import { MspManager } from '../msp/msp-manager';
import type { LocalIdentity } from '../node/local-identity';
import { TestCa } from '../testing/pki';
import { parseSignaturePolicy, PolicyError } from './policy-dsl';
import { PolicyManager } from './policy-manager';
import type { SignedData } from './signature-policy';

function signature(rule: string): common.ConfigPolicy {
  const p = new common.Policy();
  p.setType(common.Policy.PolicyType.SIGNATURE);
  p.setValue(parseSignaturePolicy(rule).serializeBinary());
  const cp = new common.ConfigPolicy();
  cp.setPolicy(p);
  return cp;
}

function implicit(rule: 'ANY' | 'ALL' | 'MAJORITY', sub: string): common.ConfigPolicy {
  const meta = new common.ImplicitMetaPolicy();
  meta.setRule(common.ImplicitMetaPolicy.Rule[rule]);
  meta.setSubPolicy(sub);
  const p = new common.Policy();
  p.setType(common.Policy.PolicyType.IMPLICIT_META);
  p.setValue(meta.serializeBinary());
  const cp = new common.ConfigPolicy();
  cp.setPolicy(p);
  return cp;
}

function group(policies: Record<string, common.ConfigPolicy>, groups: Record<string, common.ConfigGroup> = {}) {
  const g = new common.ConfigGroup();
  for (const [k, v] of Object.entries(policies)) g.getPoliciesMap().set(k, v);
  for (const [k, v] of Object.entries(groups)) g.getGroupsMap().set(k, v);
  return g;
}

const ORGS = ['Org1', 'Org2', 'Org3'] as const;

describe('PolicyManager', () => {
  const cas = Object.fromEntries(ORGS.map((o) => [o, TestCa.root(`ca.${o}`)])) as Record<(typeof ORGS)[number], TestCa>;
  const msps = new MspManager(
    ORGS.map(
      (o) =>
        new Msp({
          mspId: `${o}MSP`,
          rootCertsPem: [cas[o].certificatePem],
          intermediateCertsPem: [],
          tlsRootCertsPem: [],
          tlsIntermediateCertsPem: [],
          adminCertsPem: [],
          revocationListDer: [],
          nodeOUs: { client: 'client', peer: 'peer', admin: 'admin', orderer: 'orderer' },
        }),
    ),
  );
  const org = (o: (typeof ORGS)[number], withWriters = true) =>
    group({
      Readers: signature(`OR('${o}MSP.member')`),
      ...(withWriters ? { Writers: signature(`OR('${o}MSP.client')`) } : {}),
      Admins: signature(`OR('${o}MSP.admin')`),
    });
  const application = group(
    {
      Readers: implicit('ANY', 'Readers'),
      Writers: implicit('ALL', 'Writers'),
      Admins: implicit('MAJORITY', 'Admins'),
      Endorsement: signature("OutOf(2,'Org1MSP.peer','Org2MSP.peer','Org3MSP.peer')"),
    },
    { Org1: org('Org1'), Org2: org('Org2'), Org3: org('Org3') },
  );
  const root = group(
    {
      Readers: implicit('ANY', 'Readers'),
      Writers: implicit('ANY', 'Writers'),
      Admins: implicit('MAJORITY', 'Admins'),
    },
    {
      Application: application,
      Partial: group({ Writers: implicit('ALL', 'Writers') }, { Org1: org('Org1'), Org3: org('Org3', false) }),
      Empty: group({ Readers: implicit('ANY', 'Readers'), Admins: implicit('MAJORITY', 'Admins') }),
    },
  );
  const policies = new PolicyManager(root, msps);

  const message = Buffer.from('request');
  const sigs = (...ids: LocalIdentity[]): SignedData[] =>
    ids.map((id) => ({ data: message, identity: id.serialized, signature: id.sign(message) }));
  const id = (o: (typeof ORGS)[number], role: string) => cas[o].identity(`${o}MSP`, role);

  it('ANY: one organisation satisfying its sub-policy is enough', () => {
    expect(policies.evaluate('/Channel/Application/Readers', sigs(id('Org2', 'peer')))).toBe(true);
    expect(policies.evaluate('/Channel/Application/Readers', [])).toBe(false);
    // Resolved through the nested implicit policy of Application.
    expect(policies.evaluate('/Channel/Readers', sigs(id('Org3', 'client')))).toBe(true);
  });

  it('ALL: every organisation must satisfy its sub-policy', () => {
    const writers = '/Channel/Application/Writers';
    expect(policies.evaluate(writers, sigs(id('Org1', 'client'), id('Org2', 'client')))).toBe(false);
    expect(policies.evaluate(writers, sigs(id('Org1', 'client'), id('Org2', 'client'), id('Org3', 'client')))).toBe(
      true,
    );
    expect(policies.evaluate(writers, sigs(id('Org1', 'client'), id('Org2', 'client'), id('Org3', 'peer')))).toBe(
      false,
    );
  });

  it('MAJORITY: more than half of the organisations', () => {
    const admins = '/Channel/Application/Admins';
    expect(policies.evaluate(admins, sigs(id('Org1', 'admin')))).toBe(false);
    expect(policies.evaluate(admins, sigs(id('Org1', 'admin'), id('Org3', 'client')))).toBe(false);
    expect(policies.evaluate(admins, sigs(id('Org1', 'admin'), id('Org3', 'admin')))).toBe(true);
  });

  it('counts a sub-group without the sub-policy as unsatisfied', () => {
    expect(policies.evaluate('/Channel/Partial/Writers', sigs(id('Org1', 'client'), id('Org3', 'client')))).toBe(false);
  });

  it('treats a group without sub-groups as satisfied, as Fabric does (threshold 0)', () => {
    expect(policies.evaluate('/Channel/Empty/Readers', [])).toBe(true);
    expect(policies.evaluate('/Channel/Empty/Admins', [])).toBe(true);
  });

  it('evaluates signature policies by path, and checks one known identity', () => {
    const endorsement = '/Channel/Application/Endorsement';
    expect(policies.evaluate(endorsement, sigs(id('Org1', 'peer'), id('Org3', 'peer')))).toBe(true);
    expect(policies.evaluate(endorsement, sigs(id('Org1', 'peer'), id('Org1', 'peer')))).toBe(false);
    expect(policies.signaturePolicy(endorsement)).toBe(policies.signaturePolicy(endorsement));
    const client = msps.deserialize(id('Org2', 'client').serialized);
    expect(policies.satisfiedBy('/Channel/Application/Writers', client)).toBe(false);
    expect(policies.satisfiedBy('/Channel/Application/Readers', client)).toBe(true);
    expect(policies.satisfiedBy('/Channel/Application/Org2/Writers', client)).toBe(true);
  });

  it('refuses unknown paths and asks for signature policies by their type', () => {
    expect(policies.has('/Channel/Application/Writers')).toBe(true);
    expect(policies.has('/Channel/Application/Nope')).toBe(false);
    expect(policies.has('/Other/Application/Writers')).toBe(false);
    expect(policies.has('/Channel/Missing/Writers')).toBe(false);
    expect(() => policies.evaluate('/Channel/Nope', [])).toThrow(PolicyError);
    expect(() => policies.signaturePolicy('/Channel/Application/Readers')).toThrow(/not a signature policy/);
    const odd = new common.Policy();
    odd.setType(common.Policy.PolicyType.MSP);
    const cp = new common.ConfigPolicy();
    cp.setPolicy(odd);
    const withOdd = new PolicyManager(group({ Odd: cp }), msps);
    expect(() => withOdd.evaluate('/Channel/Odd', [])).toThrow(/unsupported type/);
  });
});
