import type { peer } from '@hyperledger/fabric-protos';
import type { ChannelConfig } from '../config/channel-config';
import type { PeerLedger } from '../ledger/peer-ledger';
import type { Identity } from '../msp/msp';
import { parseSignaturePolicy, PolicyError } from '../policy/policy-dsl';
import { peerResponse } from './transaction-envelope';
import type { TxSimulator } from './tx-simulator';

/** The namespace and name of the chaincode lifecycle system chaincode. */
export const LIFECYCLE = '_lifecycle';
/** The channel policy a chaincode definition needs, as organisations' approvals and as endorsement. */
export const LIFECYCLE_POLICY = '/Channel/Application/LifecycleEndorsement';

/** A chaincode definition agreed on the channel. */
export interface ChaincodeDefinition {
  name: string;
  version: string;
  sequence: number;
  /** Fabric's signature policy language, e.g. OutOf(2,'A.peer','B.peer','C.peer'). */
  endorsementPolicy: string;
}

/** One organisation's approval of a definition, with the package its own peers will run. */
export interface Approval extends ChaincodeDefinition {
  mspId: string;
  packageId: string;
}

export const definitionKey = (name: string) => `definition/${name}`;
export const approvalPrefix = (name: string, sequence: number) => `approval/${name}/${sequence}/`;
export const approvalKey = (name: string, sequence: number, mspId: string) =>
  `${approvalPrefix(name, sequence)}${mspId}`;
/** An approval key's parts, or undefined for any other `_lifecycle` key. */
export function parseApprovalKey(key: string): { name: string; sequence: number; mspId: string } | undefined {
  const m = /^approval\/([^/]+)\/(\d+)\/([^/]+)$/.exec(key);
  return m ? { name: m[1] as string, sequence: Number(m[2]), mspId: m[3] as string } : undefined;
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The committed definition of a chaincode, read from the ledger's `_lifecycle` namespace. */
export function committedDefinition(ledger: PeerLedger, name: string): ChaincodeDefinition | undefined {
  const v = ledger.getState(LIFECYCLE, definitionKey(name));
  return v ? (JSON.parse(Buffer.from(v.value).toString('utf8')) as ChaincodeDefinition) : undefined;
}

export function committedApproval(
  ledger: PeerLedger,
  name: string,
  sequence: number,
  mspId: string,
): Approval | undefined {
  const v = ledger.getState(LIFECYCLE, approvalKey(name, sequence, mspId));
  return v ? (JSON.parse(Buffer.from(v.value).toString('utf8')) as Approval) : undefined;
}

/** Are these the same definition terms (name, version, sequence, endorsement policy)? */
export function sameTerms(a: ChaincodeDefinition, b: ChaincodeDefinition): boolean {
  return (
    a.name === b.name &&
    a.version === b.version &&
    a.sequence === b.sequence &&
    a.endorsementPolicy === b.endorsementPolicy
  );
}

/**
 * The chaincode lifecycle as a system chaincode of the embedded peer, with Fabric's rules
 * (`core/chaincode/lifecycle`): each organisation's admin approves a definition for its own
 * organisation (with the package its peers run), endorsed by its own peer; a definition is
 * committed at the next sequence once the approving organisations satisfy the channel's
 * LifecycleEndorsement policy, and the commit itself is endorsed as that policy requires. Unlike
 * Fabric, approvals are public `_lifecycle` state, not private to each organisation.
 */
export class Lifecycle {
  constructor(
    private readonly config: () => ChannelConfig,
    private readonly localMspId: string,
  ) {}

  invoke(args: Uint8Array[], creator: Identity, sim: TxSimulator): peer.Response {
    const [fn = '', ...rest] = args.map((a) => Buffer.from(a).toString('utf8'));
    try {
      switch (fn) {
        case 'ApproveChaincodeDefinitionForMyOrg':
          return this.approve(rest, creator, sim);
        case 'CommitChaincodeDefinition':
          return this.commit(rest, creator, sim);
        case 'QueryChaincodeDefinition':
          return this.query(rest, sim);
        case 'CheckCommitReadiness':
          return peerResponse(200, '', json(this.readiness(this.terms(rest), sim)));
        default:
          return peerResponse(500, `invalid invocation: unknown function '${fn}'`);
      }
    } catch (err) {
      return peerResponse(500, err instanceof Error ? err.message : String(err));
    }
  }

  private terms(args: string[]): ChaincodeDefinition {
    const [name = '', version = '', sequence = '', endorsementPolicy = ''] = args;
    if (!NAME.test(name)) throw new Error(`invalid chaincode name '${name}'`);
    if (!/^[A-Za-z0-9_.+-]{1,64}$/.test(version)) throw new Error(`invalid chaincode version '${version}'`);
    const seq = Number(sequence);
    if (!Number.isInteger(seq) || seq < 1) throw new Error(`invalid sequence '${sequence}'`);
    try {
      parseSignaturePolicy(endorsementPolicy);
    } catch (err) {
      throw new Error(`invalid endorsement policy: ${err instanceof PolicyError ? err.message : String(err)}`, {
        cause: err,
      });
    }
    return { name, version, sequence: seq, endorsementPolicy };
  }

  private current(sim: TxSimulator, name: string): ChaincodeDefinition | undefined {
    const v = sim.read(definitionKey(name));
    return v ? (JSON.parse(Buffer.from(v).toString('utf8')) as ChaincodeDefinition) : undefined;
  }

  private approve(args: string[], creator: Identity, sim: TxSimulator): peer.Response {
    const terms = this.terms(args);
    const packageId = args[4] ?? '';
    if (!packageId) throw new Error('a package id is required');
    if (creator.mspId !== this.localMspId || !creator.isAdmin) {
      return peerResponse(
        500,
        `access denied: an approval for ${creator.mspId} must come from an admin of ${this.localMspId}, endorsed by its own peer`,
      );
    }
    const defined = this.current(sim, terms.name);
    const current = defined?.sequence ?? 0;
    if (terms.sequence !== current + 1 && terms.sequence !== current) {
      throw new Error(`requested sequence is ${terms.sequence}, but new definition must be sequence ${current + 1}`);
    }
    // The committed sequence may be approved again (e.g. for another package), with its own terms only.
    if (defined && terms.sequence === current && !sameTerms(defined, terms)) {
      throw new Error(
        `attempted to redefine the current committed sequence (${current}) for namespace ${terms.name} with different parameters`,
      );
    }
    const approval: Approval = { ...terms, mspId: creator.mspId, packageId };
    sim.put(approvalKey(terms.name, terms.sequence, creator.mspId), json(approval));
    return peerResponse(200, '', json(approval));
  }

  /** Which organisations approved exactly these terms. */
  private readiness(terms: ChaincodeDefinition, sim: TxSimulator): { approvals: Record<string, boolean> } {
    const approvals: Record<string, boolean> = {};
    for (const org of this.config().applicationOrgs) approvals[org.mspId] = false;
    const prefix = approvalPrefix(terms.name, terms.sequence);
    for (const row of sim.scan(prefix, `${prefix}\u{10FFFF}`)) {
      // The organisation is the one the key names: validation checked its peer endorsed the write.
      const org = parseApprovalKey(row.key)?.mspId;
      if (org === undefined || !Object.hasOwn(approvals, org)) continue;
      // What one organisation wrote must not stop the others' readiness from being computed.
      let a: Approval | undefined;
      try {
        a = JSON.parse(Buffer.from(row.value).toString('utf8')) as Approval;
      } catch {
        a = undefined;
      }
      approvals[org] = !!a && a.mspId === org && sameTerms(a, terms);
    }
    return { approvals };
  }

  private commit(args: string[], creator: Identity, sim: TxSimulator): peer.Response {
    const terms = this.terms(args);
    if (!creator.isAdmin) return peerResponse(500, `access denied: only an organisation admin may commit a definition`);
    const current = this.current(sim, terms.name)?.sequence ?? 0;
    if (terms.sequence !== current + 1) {
      throw new Error(`requested sequence is ${terms.sequence}, but new definition must be sequence ${current + 1}`);
    }
    const { approvals } = this.readiness(terms, sim);
    const approving = Object.entries(approvals)
      .filter(([, ok]) => ok)
      .map(([mspId]) => ({ mspId, role: 'peer' as const, isAdmin: false }));
    const policy = this.config().policies.signaturePolicy(LIFECYCLE_POLICY);
    if (!policy.satisfiedByIdentities(approving)) {
      const missing = Object.entries(approvals)
        .filter(([, ok]) => !ok)
        .map(([m]) => m);
      throw new Error(
        `chaincode definition not agreed to by this channel's LifecycleEndorsement policy: approved by ${approving.map((a) => a.mspId).join(', ') || 'nobody'}; not by ${missing.join(', ')}`,
      );
    }
    sim.put(definitionKey(terms.name), json(terms));
    return peerResponse(200, '', json(terms));
  }

  private query(args: string[], sim: TxSimulator): peer.Response {
    const name = args[0] ?? '';
    const def = this.current(sim, name);
    return def ? peerResponse(200, '', json(def)) : peerResponse(404, `namespace ${name} is not defined`);
  }
}
