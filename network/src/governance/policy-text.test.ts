// policy-text.ts reads policies with @phr/embedded-fabric, whose signer comes from @phr/ledger-client; that
// package's index also loads fabric-gateway (ES-module-only @noble/curves, not compiled by this project's jest).
jest.mock('@phr/ledger-client', () => jest.requireActual('@phr/ledger-client/ecdsa-signer'));

import { common, msp, peer } from '@hyperledger/fabric-protos';
import { sameSignaturePolicy } from './policy-text';

const TWO_OF_TWO = "OutOf(2,'Hospital1MSP.peer','Hospital2MSP.peer')";

type Role = 'member' | 'admin' | 'client' | 'peer';
const ROLE = { member: 0, admin: 1, client: 2, peer: 3 } as const;

/**
 * `OutOf(n, principals…)` as Fabric's policydsl encodes it, built here field by field (not with the
 * parser under test): one ROLE principal per name written, n_out_of over signed_by indexes.
 */
function envelopeOf(n: number, principals: [string, Role][]): common.SignaturePolicyEnvelope {
  const identities = principals.map(([mspId, role]) => {
    const r = new msp.MSPRole();
    r.setMspIdentifier(mspId);
    r.setRole(ROLE[role]);
    const p = new msp.MSPPrincipal();
    p.setPrincipalClassification(msp.MSPPrincipal.Classification.ROLE);
    p.setPrincipal(r.serializeBinary());
    return p;
  });
  const outOf = new common.SignaturePolicy.NOutOf();
  outOf.setN(n);
  outOf.setRulesList(
    principals.map((_, i) => {
      const s = new common.SignaturePolicy();
      s.setSignedBy(i);
      return s;
    }),
  );
  const rule = new common.SignaturePolicy();
  rule.setNOutOf(outOf);
  const env = new common.SignaturePolicyEnvelope();
  env.setVersion(0);
  env.setRule(rule);
  env.setIdentitiesList(identities);
  return env;
}

/** The base64 ApplicationPolicy `peer lifecycle chaincode querycommitted -O json` prints as validation_parameter. */
function validationParameter(policy: common.SignaturePolicyEnvelope | string): string {
  const app = new peer.ApplicationPolicy();
  if (typeof policy === 'string') app.setChannelConfigPolicyReference(policy);
  else app.setSignaturePolicy(policy);
  return Buffer.from(app.serializeBinary()).toString('base64');
}

const hospitals = (n: number, role: Role = 'peer'): [string, Role][] =>
  Array.from({ length: n }, (_, i) => [`Hospital${i + 1}MSP`, role]);

describe('sameSignaturePolicy', () => {
  it.each([
    TWO_OF_TWO,
    "OutOf(2, 'Hospital1MSP.peer', 'Hospital2MSP.peer')",
    "  OutOf( 2 ,\n\t'Hospital1MSP.peer' ,'Hospital2MSP.peer' )  ",
    'OutOf(2,"Hospital1MSP.peer","Hospital2MSP.peer")',
    "outof(2,'Hospital1MSP.peer','Hospital2MSP.peer')",
    // AND is n out of n, as Fabric writes it
    "AND('Hospital1MSP.peer','Hospital2MSP.peer')",
  ])('takes %j as the same policy as the topology writes it', (text) => {
    expect(sameSignaturePolicy(TWO_OF_TWO, text)).toBe(true);
    expect(sameSignaturePolicy(text, TWO_OF_TWO)).toBe(true);
  });

  it.each([
    ['another k', "OutOf(1,'Hospital1MSP.peer','Hospital2MSP.peer')"],
    ['OR', "OR('Hospital1MSP.peer','Hospital2MSP.peer')"],
    ['another member', "OutOf(2,'Hospital1MSP.peer','Hospital3MSP.peer')"],
    ['one more member', "OutOf(2,'Hospital1MSP.peer','Hospital2MSP.peer','Hospital3MSP.peer')"],
    ['one member less', "OutOf(1,'Hospital1MSP.peer')"],
    ['another role', "OutOf(2,'Hospital1MSP.admin','Hospital2MSP.peer')"],
    ['the patients counted', "OutOf(2,'Hospital1MSP.peer','Hospital2MSP.peer','PatientsMSP.peer')"],
    ['not a policy', "OutOf(2,'Hospital1MSP.peer'"],
    ['an impossible k', "OutOf(3,'Hospital1MSP.peer','Hospital2MSP.peer')"],
  ])('tells it from %s', (_, text) => {
    expect(sameSignaturePolicy(TWO_OF_TWO, text)).toBe(false);
    expect(sameSignaturePolicy(text, TWO_OF_TWO)).toBe(false);
  });

  it("matches a committed definition's base64 validation_parameter of the same policy, and only that", () => {
    const committed = validationParameter(envelopeOf(2, hospitals(2)));
    expect(sameSignaturePolicy(TWO_OF_TWO, committed)).toBe(true);
    expect(sameSignaturePolicy(committed, TWO_OF_TWO)).toBe(true);
    expect(sameSignaturePolicy(committed, committed)).toBe(true);

    const three = "OutOf(2,'Hospital1MSP.peer','Hospital2MSP.peer','Hospital3MSP.peer')";
    expect(sameSignaturePolicy(three, validationParameter(envelopeOf(2, hospitals(3))))).toBe(true);
    expect(sameSignaturePolicy(three, committed)).toBe(false);
    expect(sameSignaturePolicy(TWO_OF_TWO, validationParameter(envelopeOf(1, hospitals(2))))).toBe(false);
    expect(sameSignaturePolicy(TWO_OF_TWO, validationParameter(envelopeOf(2, hospitals(2, 'admin'))))).toBe(false);
  });

  it('is false for a definition that refers to a channel policy instead, and for what is not a policy', () => {
    const reference = validationParameter('/Channel/Application/Endorsement');
    expect(sameSignaturePolicy(TWO_OF_TWO, reference)).toBe(false);
    expect(sameSignaturePolicy(reference, TWO_OF_TWO)).toBe(false);
    expect(sameSignaturePolicy(TWO_OF_TWO, 'undefined')).toBe(false);
    expect(sameSignaturePolicy(TWO_OF_TWO, '')).toBe(false);
    expect(sameSignaturePolicy(TWO_OF_TWO, '%%% not base64 %%%')).toBe(false);
  });

  // A channel config policy reference (or nothing) is no signature policy: never the same as another.
  it('is false for two policies neither of which is a signature policy', () => {
    const endorsement = validationParameter('/Channel/Application/Endorsement');
    const other = validationParameter('/Channel/Application/Other');
    expect(sameSignaturePolicy(endorsement, other)).toBe(false);
  });
});
