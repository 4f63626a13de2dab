import { common, msp as mspProtos } from '@hyperledger/fabric-protos';
import { Msp, type MspDefinition } from '../msp/msp';
import { MspManager, serializeIdentity } from '../msp/msp-manager';
import type { LocalIdentity } from '../node/local-identity';
import { TestCa } from '../testing/pki';
import { parseSignaturePolicy, PolicyError } from './policy-dsl';
import { SignaturePolicy, satisfiesRole, validIdentities, type Principal, type SignedData } from './signature-policy';

const policy = (text: string) => new SignaturePolicy(parseSignaturePolicy(text));
const who = (mspId: string, role: Principal['role'], isAdmin = role === 'admin'): Principal => ({
  mspId,
  role,
  isAdmin,
});

describe('SignaturePolicy (cauthdsl)', () => {
  it('counts satisfied sub-rules against n', () => {
    const p = policy("OutOf(2,'A.peer','B.peer','C.peer')");
    expect(p.satisfiedByIdentities([who('A', 'peer'), who('C', 'peer')])).toBe(true);
    expect(p.satisfiedByIdentities([who('A', 'peer')])).toBe(false);
    expect(p.satisfiedByIdentities([who('A', 'client'), who('B', 'peer')])).toBe(false);
    expect(p.satisfiedByIdentities([])).toBe(false);
  });

  it('lets each identity satisfy one principal only', () => {
    // Two principals of the same org need two identities of it.
    expect(policy("OutOf(2,'A.peer','A.peer')").satisfiedByIdentities([who('A', 'peer')])).toBe(false);
    expect(policy("OutOf(2,'A.peer','A.peer')").satisfiedByIdentities([who('A', 'peer'), who('A', 'peer')])).toBe(true);
    expect(policy("AND('A.member','A.peer')").satisfiedByIdentities([who('A', 'peer')])).toBe(false);
    expect(policy("AND('A.member','A.peer')").satisfiedByIdentities([who('A', 'client'), who('A', 'peer')])).toBe(true);
  });

  it('claims identities greedily in order, as cauthdsl does (no backtracking)', () => {
    // 'A.member' takes the peer first, leaving only the client for 'A.peer'.
    expect(policy("AND('A.member','A.peer')").satisfiedByIdentities([who('A', 'peer'), who('A', 'client')])).toBe(
      false,
    );
  });

  it('gives back the identities a failed sub-rule had claimed', () => {
    // AND takes A's peer, then fails on B: the OR's second branch may still use it.
    const p = policy("OR(AND('A.peer','B.peer'),'A.peer')");
    expect(p.satisfiedByIdentities([who('A', 'peer')])).toBe(true);
    const q = policy("OutOf(2, AND('A.peer','B.peer'), 'A.peer')");
    expect(q.satisfiedByIdentities([who('A', 'peer'), who('B', 'peer')])).toBe(false);
    expect(q.satisfiedByIdentities([who('A', 'peer'), who('B', 'peer'), who('A', 'peer')])).toBe(true);
  });

  it('evaluates nested rules', () => {
    const p = policy("OR(AND('A.peer','B.peer'),'C.admin')");
    expect(p.satisfiedByIdentities([who('A', 'peer'), who('B', 'peer')])).toBe(true);
    expect(p.satisfiedByIdentities([who('C', 'admin')])).toBe(true);
    expect(p.satisfiedByIdentities([who('C', 'client'), who('A', 'peer')])).toBe(false);
  });

  it.each([
    ['member', who('A', 'client'), true],
    ['member', who('A', undefined), true],
    ['member', who('B', 'peer'), false],
    ['admin', who('A', 'admin'), true],
    ['admin', who('A', 'client', true), true],
    ['admin', who('A', 'client'), false],
    ['client', who('A', 'client'), true],
    ['client', who('A', 'admin'), false],
    ['peer', who('A', 'peer'), true],
    ['peer', who('A', 'orderer'), false],
    ['orderer', who('A', 'orderer'), true],
    ['orderer', who('A', 'peer'), false],
  ] as const)('A.%s against %j: %s', (role, identity, expected) => {
    const r = mspProtos.MSPRole.MSPRoleType[role.toUpperCase() as 'MEMBER'];
    expect(satisfiesRole(identity, 'A', r)).toBe(expected);
    expect(policy(`OR('A.${role}')`).satisfiedByIdentities([identity])).toBe(expected);
  });

  it('lists the MSPs it names once each, in order of mention', () => {
    expect(policy("OR(AND('B.peer','A.peer'),'B.admin')").mspIds()).toEqual(['B', 'A']);
  });

  it('refuses envelopes it cannot evaluate', () => {
    const env = parseSignaturePolicy("OR('A.peer')");
    const noRule = common.SignaturePolicyEnvelope.deserializeBinary(env.serializeBinary());
    noRule.clearRule();
    expect(() => new SignaturePolicy(noRule)).toThrow(PolicyError);
    const badIndex = common.SignaturePolicyEnvelope.deserializeBinary(env.serializeBinary());
    badIndex.getRule()?.getNOutOf()?.getRulesList()[0]?.setSignedBy(5);
    expect(() => new SignaturePolicy(badIndex)).toThrow(PolicyError);
    const ouPrincipal = common.SignaturePolicyEnvelope.deserializeBinary(env.serializeBinary());
    ouPrincipal
      .getIdentitiesList()[0]
      ?.setPrincipalClassification(mspProtos.MSPPrincipal.Classification.ORGANIZATION_UNIT);
    expect(() => new SignaturePolicy(ouPrincipal)).toThrow(PolicyError);
    const empty = common.SignaturePolicyEnvelope.deserializeBinary(env.serializeBinary());
    empty.setRule(new common.SignaturePolicy());
    expect(() => new SignaturePolicy(empty)).toThrow(PolicyError);
  });
});

describe('validIdentities and evaluate', () => {
  const caA = TestCa.root('ca.a');
  const caB = TestCa.root('ca.b');
  const def = (mspId: string, ca: TestCa): MspDefinition => ({
    mspId,
    rootCertsPem: [ca.certificatePem],
    intermediateCertsPem: [],
    tlsRootCertsPem: [],
    tlsIntermediateCertsPem: [],
    adminCertsPem: [],
    revocationListDer: [],
    nodeOUs: { client: 'client', peer: 'peer', admin: 'admin', orderer: 'orderer' },
  });
  const msps = new MspManager([new Msp(def('A', caA)), new Msp(def('B', caB))]);
  const data = Buffer.from('proposal response payload');
  const signed = (id: LocalIdentity, message = data): SignedData => ({
    data,
    identity: id.serialized,
    signature: id.sign(message),
  });
  const peerA = caA.identity('A', 'peer');
  const peerB = caB.identity('B', 'peer');
  const majority = policy("OutOf(2,'A.peer','B.peer')");

  it('keeps identities that deserialize, are valid and signed the data', () => {
    const ids = validIdentities([signed(peerA), signed(peerB)], msps);
    expect(ids.map((i) => `${i.mspId}.${i.role}`)).toEqual(['A.peer', 'B.peer']);
    expect(majority.evaluate([signed(peerA), signed(peerB)], msps)).toBe(true);
  });

  it('ignores a second signature by the same identity, even in another PEM spelling', () => {
    const respelled: SignedData = {
      data,
      identity: serializeIdentity('A', peerA.certificatePem.replace(/\n/g, '\r\n')),
      signature: peerA.sign(data),
    };
    expect(validIdentities([signed(peerA), signed(peerA), respelled], msps)).toHaveLength(1);
    expect(majority.evaluate([signed(peerA), signed(peerA)], msps)).toBe(false);
    expect(majority.evaluate([signed(peerA), respelled], msps)).toBe(false);
  });

  it('ignores bad signatures, but a later good signature of the same identity counts', () => {
    const bad = signed(peerB, Buffer.from('something else'));
    expect(validIdentities([signed(peerA), bad], msps)).toHaveLength(1);
    expect(majority.evaluate([signed(peerA), bad], msps)).toBe(false);
    expect(majority.evaluate([signed(peerA), bad, signed(peerB)], msps)).toBe(true);
  });

  it('ignores identities of unknown MSPs, forged CAs, or without a NodeOU', () => {
    const forged = TestCa.root('ca.b').identity('B', 'peer');
    const unknown = caA.identity('C', 'peer');
    const noOu = caB.identity('B', []);
    const garbage: SignedData = { data, identity: Buffer.from('not an identity'), signature: Buffer.alloc(8) };
    const sigs = [signed(peerA), signed(forged), signed(unknown), signed(noOu), garbage];
    expect(validIdentities(sigs, msps).map((i) => i.mspId)).toEqual(['A']);
    expect(majority.evaluate(sigs, msps)).toBe(false);
  });
});
