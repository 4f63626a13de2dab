import { common, msp as mspProtos } from '@hyperledger/fabric-protos';
import type { Identity } from '../msp/msp';
import type { MspManager } from '../msp/msp-manager';
import { PolicyError } from './policy-dsl';

/** One signature to be checked against a policy (`protoutil.SignedData`). */
export interface SignedData {
  data: Uint8Array;
  /** msp.SerializedIdentity bytes */
  identity: Uint8Array;
  signature: Uint8Array;
}

/** What a policy looks at in an identity; a planner can ask about a whole organisation's peers. */
export type Principal = Pick<Identity, 'mspId' | 'role' | 'isAdmin'>;

/** Does this identity satisfy an MSPRole principal? (`msp/mspimpl.go satisfiesPrincipalInternalV143`) */
export function satisfiesRole(identity: Principal, mspId: string, role: number): boolean {
  if (identity.mspId !== mspId) return false;
  const R = mspProtos.MSPRole.MSPRoleType;
  switch (role) {
    case R.MEMBER:
      return true;
    case R.ADMIN:
      return identity.isAdmin;
    case R.CLIENT:
      return identity.role === 'client';
    case R.PEER:
      return identity.role === 'peer';
    case R.ORDERER:
      return identity.role === 'orderer';
    default:
      return false;
  }
}

type Compiled = (identities: Principal[], used: boolean[]) => boolean;

function compile(rule: common.SignaturePolicy, principals: mspProtos.MSPPrincipal[]): Compiled {
  if (rule.hasNOutOf()) {
    const outOf = rule.getNOutOf() as common.SignaturePolicy.NOutOf;
    const n = outOf.getN();
    const subs = outOf.getRulesList().map((r) => compile(r, principals));
    // Each identity may satisfy one principal only: a sub-rule's claims stick only if it passes.
    return (identities, used) => {
      let verified = 0;
      for (const sub of subs) {
        const trial = [...used];
        if (sub(identities, trial)) {
          verified++;
          trial.forEach((v, i) => (used[i] = v));
        }
      }
      return verified >= n;
    };
  }
  if (rule.hasSignedBy()) {
    const principal = principals[rule.getSignedBy()];
    if (!principal) throw new PolicyError(`signed_by ${rule.getSignedBy()} names no identity`);
    if (principal.getPrincipalClassification() !== mspProtos.MSPPrincipal.Classification.ROLE) {
      throw new PolicyError('only ROLE principals are supported by the embedded network');
    }
    const role = mspProtos.MSPRole.deserializeBinary(principal.getPrincipal_asU8());
    const mspId = role.getMspIdentifier();
    const r = role.getRole();
    return (identities, used) => {
      for (let i = 0; i < identities.length; i++) {
        if (used[i]) continue;
        if (satisfiesRole(identities[i] as Principal, mspId, r)) {
          used[i] = true;
          return true;
        }
      }
      return false;
    };
  }
  throw new PolicyError('a signature policy rule is neither n_out_of nor signed_by');
}

/**
 * The identities behind a signature set that deserialize, are valid in their MSP, appear once,
 * and whose signature verifies (`common/policies/policy.go SignatureSetToValidIdentities`).
 */
export function validIdentities(signatures: readonly SignedData[], msps: MspManager): Identity[] {
  const seen = new Set<string>();
  const out: Identity[] = [];
  for (const sd of signatures) {
    let identity: Identity;
    try {
      identity = msps.deserialize(sd.identity);
    } catch {
      continue;
    }
    if (seen.has(identity.key)) continue;
    if (!identity.verify(sd.data, sd.signature)) continue;
    seen.add(identity.key);
    out.push(identity);
  }
  return out;
}

/** A compiled `SignaturePolicyEnvelope` (`common/cauthdsl`). */
export class SignaturePolicy {
  private readonly compiled: Compiled;

  constructor(readonly envelope: common.SignaturePolicyEnvelope) {
    const rule = envelope.getRule();
    if (!rule) throw new PolicyError('a signature policy without a rule');
    this.compiled = compile(rule, envelope.getIdentitiesList());
  }

  /** MSP ids the policy names, in order of first mention. */
  mspIds(): string[] {
    const ids = this.envelope
      .getIdentitiesList()
      .map((p) => mspProtos.MSPRole.deserializeBinary(p.getPrincipal_asU8()).getMspIdentifier());
    return [...new Set(ids)];
  }

  satisfiedByIdentities(identities: Principal[]): boolean {
    return this.compiled(
      identities,
      identities.map(() => false),
    );
  }

  evaluate(signatures: readonly SignedData[], msps: MspManager): boolean {
    return this.satisfiedByIdentities(validIdentities(signatures, msps));
  }
}
