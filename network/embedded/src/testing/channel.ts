// A test channel on disk: organisations' MSP folders and a configtx.yaml shaped as network/src/configtx.ts
// writes it for the embedded engine, and the genesis block and configuration built from them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { common } from '@hyperledger/fabric-protos';
import { stringify } from 'yaml';
import { ChannelConfig } from '../config/channel-config';
import { configFromConfigtx, genesisBlock } from '../config/genesis';
import { createLogger, type Logger } from '../logging';
import type { LocalIdentity } from '../node/local-identity';
import { TestCa } from './pki';

export const CHANNEL_ID = 'phr';
export const PROFILE = 'PhrChannel';
/** The chaincode endorsement policy network/src/topology.ts writes for two hospitals. */
export const MAJORITY_OF_HOSPITALS = "OutOf(2,'Hospital1MSP.peer','Hospital2MSP.peer')";

/** As network/src/network-identities.ts NODE_OUS_YAML. */
const NODE_OUS_YAML = `NodeOUs:
  Enable: true
  ClientOUIdentifier: { Certificate: cacerts/ca.pem, OrganizationalUnitIdentifier: client }
  PeerOUIdentifier: { Certificate: cacerts/ca.pem, OrganizationalUnitIdentifier: peer }
  AdminOUIdentifier: { Certificate: cacerts/ca.pem, OrganizationalUnitIdentifier: admin }
  OrdererOUIdentifier: { Certificate: cacerts/ca.pem, OrganizationalUnitIdentifier: orderer }
`;

export class TestOrg {
  constructor(
    readonly name: string,
    readonly mspId: string,
    readonly ca: TestCa,
    readonly mspDir: string,
  ) {}

  peer(): LocalIdentity {
    return this.ca.identity(this.mspId, 'peer');
  }
  client(): LocalIdentity {
    return this.ca.identity(this.mspId, 'client');
  }
  admin(): LocalIdentity {
    return this.ca.identity(this.mspId, 'admin');
  }
  orderer(): LocalIdentity {
    return this.ca.identity(this.mspId, 'orderer');
  }
}

/** A new organisation with its own root CA and an MSP folder (NodeOUs) under `<dir>/orgs/<name>/msp`. */
export function createTestOrg(dir: string, name: string, mspId: string): TestOrg {
  const ca = TestCa.root(`ca.${name}`);
  const mspDir = join(dir, 'orgs', name, 'msp');
  for (const sub of ['cacerts', 'tlscacerts']) {
    mkdirSync(join(mspDir, sub), { recursive: true });
    writeFileSync(join(mspDir, sub, 'ca.pem'), ca.certificatePem);
  }
  writeFileSync(join(mspDir, 'config.yaml'), NODE_OUS_YAML);
  return new TestOrg(name, mspId, ca, mspDir);
}

export interface TestChannelOptions {
  batchTimeout?: string;
  maxMessageCount?: number;
  absoluteMaxBytes?: string;
  preferredMaxBytes?: string;
  ordererEndpoint?: string;
  /** host:port of each hospital's anchor peer (peer0.<org>.example:7051/8051 otherwise). */
  anchorPeers?: { hospital1?: string; hospital2?: string };
}

const sig = (rule: string) => ({ Type: 'Signature', Rule: rule });
const meta = (rule: string) => ({ Type: 'ImplicitMeta', Rule: rule });

/** Organisations, MSP folders and configtx.yaml in a fresh temporary folder. */
export class TestChannel {
  readonly hospital1: TestOrg;
  readonly hospital2: TestOrg;
  readonly patients: TestOrg;
  readonly orderer: TestOrg;
  readonly configtxFile: string;
  private built: { block: common.Block; config: ChannelConfig } | undefined;

  constructor(
    readonly dir = mkdtempSync(join(tmpdir(), 'phr-embedded-')),
    options: TestChannelOptions = {},
  ) {
    const org = (name: string, mspId: string) => createTestOrg(dir, name, mspId);
    this.hospital1 = org('hospital1', 'Hospital1MSP');
    this.hospital2 = org('hospital2', 'Hospital2MSP');
    this.patients = org('patients', 'PatientsMSP');
    this.orderer = org('orderer', 'OrdererMSP');
    const anchor = (o: TestOrg, port: number) => {
      const given = options.anchorPeers?.[o.name as 'hospital1' | 'hospital2'];
      const [host, p] = given ? given.split(':') : [`peer0.${o.name}.example`, String(port)];
      return { Host: host, Port: Number(p) };
    };
    const hospital = (o: TestOrg, port: number) => ({
      Name: o.mspId,
      ID: o.mspId,
      MSPDir: o.mspDir,
      Policies: {
        Readers: sig(`OR('${o.mspId}.admin','${o.mspId}.peer','${o.mspId}.client')`),
        Writers: sig(`OR('${o.mspId}.admin','${o.mspId}.client')`),
        Admins: sig(`OR('${o.mspId}.admin')`),
        Endorsement: sig(`OR('${o.mspId}.peer')`),
      },
      AnchorPeers: [anchor(o, port)],
    });
    const p = this.patients.mspId;
    const o = this.orderer.mspId;
    const doc = {
      Profiles: {
        [PROFILE]: {
          Policies: { Readers: meta('ANY Readers'), Writers: meta('ANY Writers'), Admins: meta('MAJORITY Admins') },
          Capabilities: { V3_0: true },
          Orderer: {
            OrdererType: 'embedded',
            BatchTimeout: options.batchTimeout ?? '200ms',
            BatchSize: {
              MaxMessageCount: options.maxMessageCount ?? 500,
              AbsoluteMaxBytes: options.absoluteMaxBytes ?? '10 MB',
              PreferredMaxBytes: options.preferredMaxBytes ?? '2 MB',
            },
            Organizations: [
              {
                Name: o,
                ID: o,
                MSPDir: this.orderer.mspDir,
                Policies: {
                  Readers: sig(`OR('${o}.member')`),
                  Writers: sig(`OR('${o}.member')`),
                  Admins: sig(`OR('${o}.admin')`),
                },
                OrdererEndpoints: [options.ordererEndpoint ?? 'orderer0.example:7050'],
              },
            ],
            Policies: {
              Readers: meta('ANY Readers'),
              Writers: meta('ANY Writers'),
              Admins: meta('MAJORITY Admins'),
              BlockValidation: meta('ANY Writers'),
            },
            Capabilities: { V2_0: true },
          },
          Application: {
            Organizations: [
              hospital(this.hospital1, 7051),
              hospital(this.hospital2, 8051),
              {
                Name: p,
                ID: p,
                MSPDir: this.patients.mspDir,
                Policies: {
                  Readers: sig(`OR('${p}.admin','${p}.client')`),
                  Writers: sig(`OR('${p}.admin','${p}.client')`),
                  Admins: sig(`OR('${p}.admin')`),
                  Endorsement: sig(`OR('${p}.peer')`),
                },
              },
            ],
            Policies: {
              Readers: meta('ANY Readers'),
              Writers: meta('ANY Writers'),
              Admins: meta('MAJORITY Admins'),
              LifecycleEndorsement: sig(MAJORITY_OF_HOSPITALS),
              Endorsement: sig(MAJORITY_OF_HOSPITALS),
            },
            Capabilities: { V2_5: true },
          },
        },
      },
    };
    this.configtxFile = join(dir, 'configtx.yaml');
    writeFileSync(this.configtxFile, stringify(doc, { aliasDuplicateObjects: false, lineWidth: 0 }));
  }

  /** The genesis block built from configtx.yaml (once; MSP folders are read then). */
  get genesis(): common.Block {
    return this.build().block;
  }

  get config(): ChannelConfig {
    return this.build().config;
  }

  private build(): { block: common.Block; config: ChannelConfig } {
    if (!this.built) {
      const block = genesisBlock(CHANNEL_ID, configFromConfigtx(this.configtxFile, PROFILE));
      this.built = { block, config: ChannelConfig.fromBlock(block) };
    }
    return this.built;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A logger that writes nothing. */
export const silentLogger = (): Logger => createLogger('test', 'silent');
