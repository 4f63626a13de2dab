import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PATIENTS_MSP_ID } from '@phr/common';
import { readReceipt } from '@phr/gateway';
import { GatewayHarness } from '@phr/test-support/gateway';
import { defaultConnectors, type AgentConnectors } from '../../src/connectors';
import { Agent } from '../../src/agent';
import { initAgent } from '../../src/setup';
import type { NetworkProfile } from '../../src/profile/network-profile';
import { ChaincodeAgentLedger } from './chaincode-agent-ledger';
import { CsrSigningCa } from './csr-signing-ca';
import { TEST_KEYSTORE } from '@phr/test-support';

export const PASSPHRASE = 'correct horse battery staple';

/**
 * A real gateway (HTTPS, mutual TLS, SQLite) with the real chaincode on the in-memory ledger,
 * and patients' agents in their own temp homes that reach it over HTTPS like on a phone. Only
 * the CA and the ledger transport are in-process, because no Fabric network runs here.
 */
export class AgentHarness {
  readonly doorman: CsrSigningCa;
  readonly ledgers: ChaincodeAgentLedger[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'phr-agent-'));
  private counter = 0;

  private constructor(readonly gw: GatewayHarness) {
    this.doorman = new CsrSigningCa(gw.patientsCa);
    // Consents are judged by the ledger's clock and the agent's: let the in-memory ledger run on real time.
    gw.ledger.world.clock = Math.floor(Date.now() / 1000);
  }

  static async create(): Promise<AgentHarness> {
    return new AgentHarness(await GatewayHarness.create());
  }

  get profile(): NetworkProfile {
    return {
      v: 1,
      channel: 'phr',
      chaincode: 'phr',
      patientsCa: {
        url: 'https://127.0.0.1:1',
        caName: 'ca-patients',
        mspId: PATIENTS_MSP_ID,
        tlsRootCertPem: this.gw.patientsCa.certificatePem,
      },
      hospitals: [
        {
          name: 'hospital1',
          mspId: this.gw.config.hospital.mspId,
          displayName: 'Hospital 1',
          gatewayUrl: this.gw.url,
          caRootCertPem: this.gw.hospitalCa.certificatePem,
          peer: { address: '127.0.0.1:1', tlsRootCertPem: this.gw.hospitalCa.certificatePem },
        },
      ],
    };
  }

  /** Connectors: the test doorman, the shared in-memory chaincode, the real HTTPS gateway transport. */
  get connectors(): AgentConnectors {
    return {
      enroller: () => this.doorman,
      ledger: (_profile, identity) => {
        const l = new ChaincodeAgentLedger(this.gw.ledger.world, identity);
        this.ledgers.push(l);
        return l;
      },
      gateway: defaultConnectors.gateway,
    };
  }

  /** Registers at the doorman, runs init in a fresh home, opens the agent. */
  async newAgent(): Promise<{ agent: Agent; home: string; pseudonym: string; enrollmentId: string }> {
    this.counter += 1;
    const enrollmentId = `patient-${process.pid}-${this.counter}`;
    this.doorman.register(enrollmentId, `secret-${this.counter}`);
    const home = join(this.dir, `home-${this.counter}`);
    const { pseudonym } = await initAgent({
      home,
      profile: this.profile,
      passphrase: PASSPHRASE,
      keystore: TEST_KEYSTORE,
      enrollmentId,
      enrollmentSecret: `secret-${this.counter}`,
      connectors: this.connectors,
    });
    const agent = await this.open(home);
    return { agent, home, pseudonym, enrollmentId };
  }

  open(home: string): Promise<Agent> {
    return Agent.open(home, PASSPHRASE, { connectors: this.connectors });
  }

  /** The hospital desk: the agent shows a link code, the admin links the MRN with it. */
  async link(agent: Agent, mrn: { system: string; value: string }): Promise<void> {
    const { code } = await agent.linkCode('hospital1');
    const res = await this.gw.request(this.gw.clients.admin, 'POST', '/identity/links', { identifier: mrn, code });
    if (res.status !== 201 && res.status !== 200) throw new Error(`link: ${res.status} ${res.text}`);
  }

  /** An EHR posts a bundle; resolves once the gateway's outbox committed it. */
  async post(bundle: unknown): Promise<string> {
    const res = await this.gw.request(this.gw.clients.ehr, 'POST', '/fhir', bundle, {
      'content-type': 'application/fhir+json',
    });
    if (res.status !== 200) throw new Error(`post: ${res.status} ${res.text}`);
    await this.gw.gateway.outbox.idle();
    const receipt = readReceipt(res.json);
    if (!receipt) throw new Error(`no receipt in ${res.text.slice(0, 300)}`);
    return receipt.deliveryId;
  }

  async close(): Promise<void> {
    await this.gw.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
