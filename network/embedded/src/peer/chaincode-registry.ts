import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logging';
import { parseSignaturePolicy } from '../policy/policy-dsl';
import { SignaturePolicy } from '../policy/signature-policy';
import { parseDuration } from '../config/channel-config';
import { ChaincodeConnection } from './chaincode-connection';
import { readChaincodePackage, type ChaincodePackage } from './chaincode-package';

/** A chaincode definition agreed for the channel (name, version, sequence, endorsement policy). */
export interface ChaincodeDefinition {
  name: string;
  version: string;
  sequence: number;
  endorsementPolicy: string;
}

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
 * The embedded peer's chaincode lifecycle, from files: the channel's definitions
 * (`definitions/<name>.json`, written by the network scripts in place of `peer lifecycle chaincode
 * commit`) and this peer's installed packages and approvals (`<data>/lifecycle/packages/*.tar.gz`
 * and `approvals/<name>.json` = { sequence, packageId }). Re-read when a file changes, so
 * `network-up` can install and define while the peer runs.
 */
export class ChaincodeRegistry {
  private readonly cache = new Map<string, { stamp: string; value: DefinedChaincode }>();
  private packages = new Map<string, ChaincodePackage>();
  private packagesStamp = '';

  constructor(
    private readonly definitionsDir: string,
    private readonly lifecycleDir: string,
    private readonly log: Logger,
  ) {}

  private stamp(files: string[]): string {
    return files
      .map((f) => {
        const s = existsSync(f) ? statSync(f) : undefined;
        return s ? `${f}:${s.mtimeMs}:${s.size}` : `${f}:-`;
      })
      .join('|');
  }

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

  /**
   * The chaincode as defined on the channel, with a connection when this peer can run it.
   * @throws ChaincodeNotDefinedError when the channel has no definition for `name`.
   */
  async get(name: string): Promise<DefinedChaincode> {
    const defFile = join(this.definitionsDir, `${name}.json`);
    const approvalFile = join(this.lifecycleDir, 'approvals', `${name}.json`);
    await this.loadPackages();
    const stamp = `${this.stamp([defFile, approvalFile])}|${this.packagesStamp}`;
    const cached = this.cache.get(name);
    if (cached?.stamp === stamp) return cached.value;
    if (!existsSync(defFile)) {
      throw new ChaincodeNotDefinedError(
        `make sure the chaincode ${name} has been successfully defined on channel and try again: chaincode ${name} not found`,
      );
    }
    const definition = JSON.parse(readFileSync(defFile, 'utf8')) as ChaincodeDefinition;
    const value: DefinedChaincode = {
      definition,
      policy: new SignaturePolicy(parseSignaturePolicy(definition.endorsementPolicy)),
    };
    if (existsSync(approvalFile)) {
      const approval = JSON.parse(readFileSync(approvalFile, 'utf8')) as { sequence: number; packageId: string };
      const pkg = this.packages.get(approval.packageId);
      if (approval.sequence === definition.sequence && pkg) {
        const old = cached?.value.connection;
        if (old && old.endpoint.packageId === pkg.packageId && old.endpoint.address === pkg.connection.address) {
          value.connection = old;
        } else {
          old?.close();
          value.connection = new ChaincodeConnection(
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
        }
      }
    }
    this.cache.set(name, { stamp, value });
    return value;
  }

  close(): void {
    for (const { value } of this.cache.values()) value.connection?.close();
    this.cache.clear();
  }
}
