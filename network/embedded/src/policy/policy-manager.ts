import { common } from '@hyperledger/fabric-protos';
import type { Identity } from '../msp/msp';
import type { MspManager } from '../msp/msp-manager';
import { PolicyError } from './policy-dsl';
import { SignaturePolicy, validIdentities, type SignedData } from './signature-policy';

const IMPLICIT = { ANY: 0, ALL: 1, MAJORITY: 2 } as const;

/**
 * The policies of a channel configuration by path (`/Channel/Application/Writers`): signature
 * policies compiled once, implicit-meta policies resolved over the sub-groups' policies of the
 * same name (`common/policies/implicitmeta.go`).
 */
export class PolicyManager {
  private readonly signature = new Map<string, SignaturePolicy>();

  constructor(
    private readonly root: common.ConfigGroup,
    private readonly msps: MspManager,
    private readonly rootName = 'Channel',
  ) {}

  private group(segments: string[]): common.ConfigGroup | undefined {
    if (segments[0] !== this.rootName) return undefined;
    let g: common.ConfigGroup | undefined = this.root;
    for (const s of segments.slice(1)) g = g?.getGroupsMap().get(s);
    return g;
  }

  private policy(path: string): { proto: common.Policy; group: common.ConfigGroup } {
    const segments = path.split('/').filter(Boolean);
    const name = segments.pop();
    const group = name ? this.group(segments) : undefined;
    const proto = name ? group?.getPoliciesMap().get(name)?.getPolicy() : undefined;
    if (!proto || !group) throw new PolicyError(`policy ${path} is not defined`);
    return { proto, group };
  }

  has(path: string): boolean {
    try {
      this.policy(path);
      return true;
    } catch {
      return false;
    }
  }

  /** A signature policy by path, e.g. `/Channel/Application/Endorsement`. */
  signaturePolicy(path: string): SignaturePolicy {
    const cached = this.signature.get(path);
    if (cached) return cached;
    const { proto } = this.policy(path);
    if (proto.getType() !== common.Policy.PolicyType.SIGNATURE) {
      throw new PolicyError(`policy ${path} is not a signature policy`);
    }
    const compiled = new SignaturePolicy(common.SignaturePolicyEnvelope.deserializeBinary(proto.getValue_asU8()));
    this.signature.set(path, compiled);
    return compiled;
  }

  /** Do these signatures satisfy the policy at `path`? Invalid or duplicate signers are ignored. */
  evaluate(path: string, signatures: readonly SignedData[]): boolean {
    return this.satisfied(path, validIdentities(signatures, this.msps));
  }

  /**
   * Why these signatures do not satisfy the policy at `path`, in Fabric's words (`signature set did
   * not satisfy policy`, or how many of an implicit policy's sub-policies were met).
   */
  explain(path: string, signatures: readonly SignedData[]): string {
    const identities = validIdentities(signatures, this.msps);
    const { proto, group } = this.policy(path);
    if (proto.getType() !== common.Policy.PolicyType.IMPLICIT_META) return 'signature set did not satisfy policy';
    const meta = common.ImplicitMetaPolicy.deserializeBinary(proto.getValue_asU8());
    const sub = meta.getSubPolicy();
    const base = path.split('/').slice(0, -1).join('/');
    const children = [...group.getGroupsMap().keys()].map((name) => `${base}/${name}/${sub}`);
    const met = children.filter((c) => this.has(c) && this.satisfied(c, identities)).length;
    const needed =
      meta.getRule() === IMPLICIT.ANY
        ? 1
        : meta.getRule() === IMPLICIT.ALL
          ? children.length
          : Math.floor(children.length / 2) + 1;
    return `implicit policy evaluation failed - ${met} sub-policies were satisfied, but this policy requires ${needed} of the '${sub}' sub-policies to be satisfied`;
  }

  /** Does this already-verified identity alone satisfy the policy at `path`? */
  satisfiedBy(path: string, identity: Identity): boolean {
    return this.satisfied(path, [identity]);
  }

  private satisfied(path: string, identities: Identity[]): boolean {
    const { proto, group } = this.policy(path);
    if (proto.getType() === common.Policy.PolicyType.SIGNATURE) {
      return this.signaturePolicy(path).satisfiedByIdentities(identities);
    }
    if (proto.getType() !== common.Policy.PolicyType.IMPLICIT_META) {
      throw new PolicyError(`policy ${path} has an unsupported type ${proto.getType()}`);
    }
    const meta = common.ImplicitMetaPolicy.deserializeBinary(proto.getValue_asU8());
    const sub = meta.getSubPolicy();
    const base = path.split('/').slice(0, -1).join('/');
    const children = [...group.getGroupsMap().entries()].map(([name]) => `${base}/${name}/${sub}`);
    // With no sub-groups the threshold is 0 whatever the rule, as in Fabric.
    const threshold =
      children.length === 0
        ? 0
        : meta.getRule() === IMPLICIT.ANY
          ? 1
          : meta.getRule() === IMPLICIT.ALL
            ? children.length
            : Math.floor(children.length / 2) + 1;
    let met = 0;
    for (const child of children) {
      if (this.has(child) && this.satisfied(child, identities)) met++;
      if (met >= threshold) return true;
    }
    return met >= threshold;
  }
}
