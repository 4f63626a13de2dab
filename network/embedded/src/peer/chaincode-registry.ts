import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChannelConfig } from '../config/channel-config';
import { parseDuration } from '../config/channel-config';
import type { PeerLedger } from '../ledger/peer-ledger';
import type { Logger } from '../logging';
import { parseSignaturePolicy } from '../policy/policy-dsl';
import { SignaturePolicy } from '../policy/signature-policy';
import { ChaincodeConnection } from './chaincode-connection';
import { readChaincodePackage, type ChaincodePackage } from './chaincode-package';
import {
  committedApproval,
  committedDefinition,
  LIFECYCLE,
  LIFECYCLE_POLICY,
  sameTerms,
  type ChaincodeDefinition,
} from './lifecycle';

export type { ChaincodeDefinition } from './lifecycle';

export interface DefinedChaincode {
  definition: ChaincodeDefinition;
  policy: SignaturePolicy;
  /** Undefined when this peer's organisation has no package installed and approved for it. */
  connection?: ChaincodeConnection;
}

export class ChaincodeNotDefinedError extends Error {
  override readonly name = 'ChaincodeNotDefinedError';
  readonly code = 'CHAINCODE_NOT_DEFINED';
}

/**
 * What the peer runs for each chaincode: the definition committed on the channel (`_lifecycle`
 * state), and the package its own organisation approved for that definition, if installed here
 * (`<data>/lifecycle/packages/*.tar.gz`). The lifecycle system chaincode itself is endorsed under
 * the channel's LifecycleEndorsement policy.
 */
export class ChaincodeRegistry {
  private packages = new Map<string, ChaincodePackage>();
  private packagesStamp = '';
  private readonly policies = new Map<string, SignaturePolicy>();
  private readonly connections = new Map<string, ChaincodeConnection>();

  constructor(
    private readonly ledger: PeerLedger,
    private readonly localMspId: string,
    private readonly config: () => ChannelConfig,
    private readonly lifecycleDir: string,
    private readonly log: Logger,
  ) {}

  private async loadPackages(): Promise<void> {
    const dir = join(this.lifecycleDir, 'packages');
    const files = existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.tar.gz'))
          .sort()
      : [];
    const stamp = files.join('|');
    if (stamp === this.packagesStamp) return;
    const next = new Map<string, ChaincodePackage>();
    for (const f of files) {
      try {
        const pkg = await readChaincodePackage(readFileSync(join(dir, f)));
        next.set(pkg.packageId, pkg);
      } catch (err) {
        this.log.warn({ event: 'package-invalid', file: f, err: String(err) }, 'ignoring an invalid chaincode package');
      }
    }
    this.packages = next;
    this.packagesStamp = stamp;
  }

  /** Installed package ids (what `peer lifecycle chaincode queryinstalled` lists). */
  async installed(): Promise<ChaincodePackage[]> {
    await this.loadPackages();
    return [...this.packages.values()];
  }

  private policy(text: string): SignaturePolicy {
    let p = this.policies.get(text);
    if (!p) {
      p = new SignaturePolicy(parseSignaturePolicy(text));
      this.policies.set(text, p);
    }
    return p;
  }

  /**
   * The chaincode as defined on the channel, with a connection when this peer can run it.
   * @throws ChaincodeNotDefinedError when the channel has no definition for `name`.
   */
  async get(name: string): Promise<DefinedChaincode> {
    if (name === LIFECYCLE) {
      return {
        definition: { name, version: 'syscc', sequence: 1, endorsementPolicy: LIFECYCLE_POLICY },
        policy: this.config().policies.signaturePolicy(LIFECYCLE_POLICY),
      };
    }
    const definition = committedDefinition(this.ledger, name);
    if (!definition) {
      throw new ChaincodeNotDefinedError(
        `make sure the chaincode ${name} has been successfully defined on channel and try again: chaincode ${name} not found`,
      );
    }
    const value: DefinedChaincode = { definition, policy: this.policy(definition.endorsementPolicy) };
    // This organisation's package runs only under the terms it approved (Fabric: "not yet approved by this org").
    const approval = committedApproval(this.ledger, name, definition.sequence, this.localMspId);
    if (!approval || !sameTerms(approval, definition)) return value;
    await this.loadPackages();
    const pkg = this.packages.get(approval.packageId);
    if (!pkg) return value;
    const key = `${name}|${pkg.packageId}|${pkg.connection.address}`;
    let connection = this.connections.get(key);
    if (!connection) {
      for (const [k, c] of this.connections) {
        if (k.startsWith(`${name}|`)) {
          c.close();
          this.connections.delete(k);
        }
      }
      connection = new ChaincodeConnection(
        {
          chaincodeName: name,
          packageId: pkg.packageId,
          address: pkg.connection.address,
          tlsRequired: pkg.connection.tls_required ?? false,
          ...(pkg.connection.root_cert ? { rootCertPem: pkg.connection.root_cert } : {}),
          dialTimeoutMs: pkg.connection.dial_timeout ? parseDuration(pkg.connection.dial_timeout) : 10_000,
        },
        this.log,
      );
      this.connections.set(key, connection);
    }
    value.connection = connection;
    return value;
  }

  close(): void {
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
  }
}
