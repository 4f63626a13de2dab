import { common, msp as mspProtos } from '@hyperledger/fabric-protos';

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  readonly code = 'POLICY_INVALID';
}

const ROLES: Record<string, number> = {
  member: mspProtos.MSPRole.MSPRoleType.MEMBER,
  admin: mspProtos.MSPRole.MSPRoleType.ADMIN,
  client: mspProtos.MSPRole.MSPRoleType.CLIENT,
  peer: mspProtos.MSPRole.MSPRoleType.PEER,
  orderer: mspProtos.MSPRole.MSPRoleType.ORDERER,
};

type Node = { kind: 'principal'; mspId: string; role: number } | { kind: 'outOf'; n: number; rules: Node[] };

/**
 * Fabric's signature policy language (`OutOf(2,'A.peer','B.peer')`, `AND(...)`, `OR(...)`,
 * principals `'MSPID.role'`) as a `common.SignaturePolicyEnvelope`: one identity per principal
 * written, rules referring to them by index, AND and OR as n-out-of (as Fabric's policydsl does).
 *
 * @throws PolicyError when the text is not a policy.
 */
export function parseSignaturePolicy(text: string): common.SignaturePolicyEnvelope {
  let at = 0;
  const src = text.trim();
  const ws = () => {
    while (at < src.length && /\s/.test(src[at] as string)) at++;
  };
  const expect = (ch: string) => {
    ws();
    if (src[at] !== ch) throw new PolicyError(`expected '${ch}' at ${at} in policy ${text}`);
    at++;
  };
  const parse = (): Node => {
    ws();
    const quote = src[at];
    if (quote === "'" || quote === '"') {
      const end = src.indexOf(quote, at + 1);
      if (end < 0) throw new PolicyError(`unterminated principal in policy ${text}`);
      const principal = src.slice(at + 1, end);
      at = end + 1;
      const dot = principal.lastIndexOf('.');
      const role = ROLES[principal.slice(dot + 1).toLowerCase()];
      if (dot <= 0 || role === undefined) throw new PolicyError(`bad principal '${principal}' in policy ${text}`);
      return { kind: 'principal', mspId: principal.slice(0, dot), role };
    }
    const m = /^(OutOf|AND|OR)\s*\(/i.exec(src.slice(at));
    if (!m) throw new PolicyError(`expected OutOf, AND, OR or a principal at ${at} in policy ${text}`);
    const op = (m[1] as string).toLowerCase();
    at += m[0].length;
    let n = -1;
    if (op === 'outof') {
      ws();
      const num = /^\d+/.exec(src.slice(at));
      if (!num) throw new PolicyError(`OutOf needs a number in policy ${text}`);
      n = Number(num[0]);
      at += num[0].length;
      expect(',');
    }
    const rules: Node[] = [parse()];
    ws();
    while (src[at] === ',') {
      at++;
      rules.push(parse());
      ws();
    }
    expect(')');
    if (op === 'and') n = rules.length;
    if (op === 'or') n = 1;
    if (n < 1 || n > rules.length) throw new PolicyError(`OutOf(${n}) over ${rules.length} rules in policy ${text}`);
    return { kind: 'outOf', n, rules };
  };
  const root = parse();
  ws();
  if (at !== src.length) throw new PolicyError(`unexpected text at ${at} in policy ${text}`);

  const identities: mspProtos.MSPPrincipal[] = [];
  const toProto = (node: Node): common.SignaturePolicy => {
    const p = new common.SignaturePolicy();
    if (node.kind === 'principal') {
      const role = new mspProtos.MSPRole();
      role.setMspIdentifier(node.mspId);
      role.setRole(node.role as mspProtos.MSPRole.MSPRoleTypeMap[keyof mspProtos.MSPRole.MSPRoleTypeMap]);
      const principal = new mspProtos.MSPPrincipal();
      principal.setPrincipalClassification(mspProtos.MSPPrincipal.Classification.ROLE);
      principal.setPrincipal(role.serializeBinary());
      p.setSignedBy(identities.push(principal) - 1);
      return p;
    }
    const outOf = new common.SignaturePolicy.NOutOf();
    outOf.setN(node.n);
    outOf.setRulesList(node.rules.map(toProto));
    p.setNOutOf(outOf);
    return p;
  };
  const envelope = new common.SignaturePolicyEnvelope();
  envelope.setVersion(0);
  envelope.setRule(toProto(root));
  envelope.setIdentitiesList(identities);
  return envelope;
}
