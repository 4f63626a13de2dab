import { LedgerClient, LedgerError } from '@phr/ledger-client';
import type { NetworkState } from '../network-state';

/** A chaincode definition: what each organisation approves and the channel commits. */
export interface DefinitionTerms {
  name: string;
  version: string;
  sequence: number;
  endorsementPolicy: string;
}

const LIFECYCLE = '_lifecycle';

/**
 * The embedded network's chaincode lifecycle through its peers' Gateway service, as an
 * organisation's admin (the counterpart of `peer lifecycle chaincode approveformyorg / commit /
 * querycommitted / checkcommitreadiness` on Fabric, which speak Fabric's own `_lifecycle` protobufs).
 */
export class EmbeddedLifecycle {
  private constructor(
    private readonly client: LedgerClient,
    private readonly mspId: string,
  ) {}

  /** As `org`'s admin (`orgadmin`), through `org`'s own peer. */
  static connect(state: NetworkState, org: string): EmbeddedLifecycle {
    return new EmbeddedLifecycle(
      LedgerClient.connect({
        peer: state.peer(org),
        identity: state.identity(org, 'orgadmin'),
        channel: state.topology.channel,
        chaincode: LIFECYCLE,
      }),
      state.mspIdOf(org),
    );
  }

  private args(t: DefinitionTerms): string[] {
    return [t.name, t.version, String(t.sequence), t.endorsementPolicy];
  }

  /** This organisation approves the terms with the package its peers will run (endorsed by its own peer). */
  async approve(terms: DefinitionTerms, packageId: string): Promise<void> {
    await this.client.submit('', 'ApproveChaincodeDefinitionForMyOrg', [...this.args(terms), packageId], {
      endorsingOrganizations: [this.mspId],
    });
  }

  /** Commits the definition; the peers refuse unless the approvals satisfy LifecycleEndorsement. */
  async commit(terms: DefinitionTerms): Promise<void> {
    await this.client.submit('', 'CommitChaincodeDefinition', this.args(terms));
  }

  /** The committed definition, or undefined when the channel has none for `name`. */
  async committed(name: string): Promise<DefinitionTerms | undefined> {
    try {
      return JSON.parse(await this.client.evaluate('', 'QueryChaincodeDefinition', [name])) as DefinitionTerms;
    } catch (err) {
      if (err instanceof LedgerError && /\b404\b|not defined/.test(err.message)) return undefined;
      throw err;
    }
  }

  /** Which organisations approved exactly these terms. */
  async readiness(terms: DefinitionTerms): Promise<Record<string, boolean>> {
    const r = JSON.parse(await this.client.evaluate('', 'CheckCommitReadiness', this.args(terms))) as {
      approvals: Record<string, boolean>;
    };
    return r.approvals;
  }

  close(): void {
    this.client.close();
  }
}
