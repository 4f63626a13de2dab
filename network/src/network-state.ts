import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LedgerClient, type LedgerIdentity, type PeerEndpoint } from '@phr/ledger-client';
import type { Engine } from './configtx';
import { loadTopology, type Topology } from './topology';

/** Where `make network-up` keeps everything it generates (override with PHR_STATE). */
export function defaultStateDir(): string {
  return process.env.PHR_STATE ?? resolve(__dirname, '..', '.state');
}

export function defaultTopologyFile(): string {
  return process.env.PHR_TOPOLOGY ?? resolve(__dirname, '..', 'topology.yaml');
}

/** A running network as the scripts left it: topology plus the state folder's crypto material. */
export class NetworkState {
  constructor(
    readonly topology: Topology,
    readonly dir: string,
  ) {}

  static load(topologyFile = defaultTopologyFile(), dir = defaultStateDir()): NetworkState {
    return new NetworkState(loadTopology(topologyFile), dir);
  }

  /** The engine `network-up` chose for this state folder (engine.env), or undefined before the first up. */
  engine(): Engine | undefined {
    const file = join(this.dir, 'engine.env');
    if (!existsSync(file)) return undefined;
    const m = /^PHR_ENGINE=(\S+)$/m.exec(readFileSync(file, 'utf8'));
    return m?.[1] === 'fabric' || m?.[1] === 'embedded' ? m[1] : undefined;
  }

  /**
   * The engine and its version, for reports and benchmark results: the embedded network's own
   * version, or what Fabric's `peer version` prints for the binaries this network runs.
   */
  engineDescription(): { engine: Engine | 'unknown'; version: string } {
    const engine = this.engine();
    if (engine === 'embedded') {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return { engine, version: (require('@phr/embedded-fabric') as { EMBEDDED_VERSION: string }).EMBEDDED_VERSION };
    }
    if (engine === 'fabric') {
      const env = join(this.dir, 'fabric.env');
      const bin = existsSync(env)
        ? /^FABRIC_BIN=(.*)$/m.exec(readFileSync(env, 'utf8'))?.[1]?.replace(/\\(.)/g, '$1')
        : undefined;
      try {
        const out = bin ? execFileSync(join(bin, 'peer'), ['version'], { encoding: 'utf8' }) : '';
        const v = / Version: (\S+)/.exec(out)?.[1];
        return { engine, version: v ? `Hyperledger Fabric ${v}` : 'Hyperledger Fabric (version unknown)' };
      } catch {
        return { engine, version: 'Hyperledger Fabric (version unknown)' };
      }
    }
    return { engine: 'unknown', version: 'unknown' };
  }

  mspIdOf(org: string): string {
    if (org === 'patients') return this.topology.patients.mspId;
    if (org === 'orderer') return this.topology.orderers.mspId;
    const h = this.topology.hospitals.find((x) => x.name === org);
    if (!h) throw new Error(`unknown organisation ${org}`);
    return h.mspId;
  }

  identityDir(org: string, name: string): string {
    return join(this.dir, 'orgs', org, 'identities', name);
  }

  /** An identity enrolled by the network scripts or by enroll.sh. */
  identity(org: string, name: string): LedgerIdentity {
    const msp = join(this.identityDir(org, name), 'msp');
    const keys = readdirSync(join(msp, 'keystore'));
    const key = keys.find((k) => k.endsWith('_sk')) ?? keys[0];
    if (!key) throw new Error(`no private key for ${org}/${name}`);
    return {
      mspId: this.mspIdOf(org),
      certificatePem: readFileSync(join(msp, 'signcerts', 'cert.pem'), 'utf8'),
      privateKeyPem: readFileSync(join(msp, 'keystore', key), 'utf8'),
    };
  }

  /**
   * A ledger client for an enrolled identity. By default a hospital's identities use its own peer;
   * others (patients) use the first hospital's.
   */
  connect(org: string, identity: string, peer?: string): LedgerClient {
    const hospitals = this.topology.hospitals.map((h) => h.name);
    const via = peer ?? (hospitals.includes(org) ? org : hospitals[0]);
    if (!via) throw new Error('the topology has no hospital peer');
    return LedgerClient.connect({
      peer: this.peer(via),
      identity: this.identity(org, identity),
      channel: this.topology.channel,
      chaincode: this.topology.chaincode.name,
    });
  }

  /** The gateway endpoint of a hospital's peer, trusted through that hospital's CA. */
  peer(hospital: string): PeerEndpoint {
    const h = this.topology.hospitals.find((x) => x.name === hospital);
    if (!h) throw new Error(`unknown hospital ${hospital}`);
    return {
      address: `${h.peer.host}:${h.peer.port}`,
      tlsRootCertPem: readFileSync(join(this.dir, 'orgs', hospital, 'msp', 'cacerts', 'ca.pem'), 'utf8'),
    };
  }
}
