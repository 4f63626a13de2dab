import { common, msp as mspProtos } from '@hyperledger/fabric-protos';
import { parseSignaturePolicy, PolicyError } from './policy-dsl';

const ROLE = mspProtos.MSPRole.MSPRoleType;

/** The envelope as a plain tree: principals by "MSP.role number", rules as nested { n, rules } or index. */
function shape(envelope: common.SignaturePolicyEnvelope) {
  const principals = envelope.getIdentitiesList().map((p) => {
    expect(p.getPrincipalClassification()).toBe(mspProtos.MSPPrincipal.Classification.ROLE);
    const role = mspProtos.MSPRole.deserializeBinary(p.getPrincipal_asU8());
    return `${role.getMspIdentifier()}:${role.getRole()}`;
  });
  type Rule = number | { n: number; rules: Rule[] };
  const rule = (r: common.SignaturePolicy): Rule =>
    r.hasSignedBy()
      ? r.getSignedBy()
      : { n: r.getNOutOf()?.getN() ?? -1, rules: (r.getNOutOf()?.getRulesList() ?? []).map(rule) };
  return { version: envelope.getVersion(), principals, rule: rule(envelope.getRule() as common.SignaturePolicy) };
}

describe('parseSignaturePolicy', () => {
  it("parses OutOf(2,'A.peer','B.peer') as Fabric's policydsl writes it", () => {
    expect(shape(parseSignaturePolicy("OutOf(2,'Hospital1MSP.peer','Hospital2MSP.peer')"))).toEqual({
      version: 0,
      principals: [`Hospital1MSP:${ROLE.PEER}`, `Hospital2MSP:${ROLE.PEER}`],
      rule: { n: 2, rules: [0, 1] },
    });
  });

  it('writes AND as all-of and OR as one-of, with every role', () => {
    expect(shape(parseSignaturePolicy("AND('A.member','B.admin','C.client')"))).toEqual({
      version: 0,
      principals: [`A:${ROLE.MEMBER}`, `B:${ROLE.ADMIN}`, `C:${ROLE.CLIENT}`],
      rule: { n: 3, rules: [0, 1, 2] },
    });
    expect(shape(parseSignaturePolicy("OR('A.orderer', 'B.peer')")).rule).toEqual({ n: 1, rules: [0, 1] });
  });

  it('parses nested rules, spaces, double quotes and dotted MSP ids, one identity per principal written', () => {
    const parsed = shape(
      parseSignaturePolicy(` OR( "org.example.peer" , AND('B.peer', OutOf(1, 'C.peer', 'org.example.peer')) ) `),
    );
    expect(parsed.principals).toEqual([
      `org.example:${ROLE.PEER}`,
      `B:${ROLE.PEER}`,
      `C:${ROLE.PEER}`,
      `org.example:${ROLE.PEER}`,
    ]);
    expect(parsed.rule).toEqual({ n: 1, rules: [0, { n: 2, rules: [1, { n: 1, rules: [2, 3] }] }] });
  });

  it.each([
    [''],
    ['A.peer'],
    ["'A'"],
    ["'.peer'"],
    ["'A.boss'"],
    ["'A.peer"],
    ["OR('A.peer'"],
    ["OR('A.peer')x"],
    ["OR('A.peer'),'B.peer'"],
    ['AND()'],
    ["XOR('A.peer')"],
    ["OutOf(x,'A.peer')"],
    ["OutOf(3,'A.peer','B.peer')"],
    ["OutOf(0,'A.peer')"],
    ["OutOf(1 'A.peer')"],
    ["OR('A.peer',)"],
  ])('refuses %j', (text) => {
    expect(() => parseSignaturePolicy(text)).toThrow(PolicyError);
  });

  it('names the refusal with the policy text and a code', () => {
    try {
      parseSignaturePolicy("OutOf(3,'A.peer')");
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(PolicyError);
      expect((err as PolicyError).code).toBe('POLICY_INVALID');
      expect((err as PolicyError).message).toContain("OutOf(3,'A.peer')");
    }
  });
});
