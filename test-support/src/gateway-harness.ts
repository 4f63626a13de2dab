import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Agent } from 'undici';
import { Client } from 'fhir-kit-client';
import {
  generateEncryptionKeyPair,
  newPseudonym,
  openEnvelope,
  PATIENTS_MSP_ID,
  type DeliveryPayload,
  type EncryptionKeyPair,
  type SealedEnvelope,
} from '@phr/common';
import { parseConfig, startGateway, type GatewayConfig, type RunningGateway } from '@phr/gateway';
import { ChaincodeLedger } from './chaincode-ledger';
import { makeCa, type Issued, type TestCa } from './pki';

export const HOSPITAL_MSP = 'Hospital1MSP';

export interface TestPatient {
  pseudonym: string;
  identity: Issued;
  keys: EncryptionKeyPair;
}

/** The OperationOutcome every error answer carries. */
export interface OutcomeBody {
  resourceType: string;
  issue: { severity: string; code: string; diagnostics?: string; expression?: string[] }[];
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/**
 * A real gateway (HTTPS, mutual TLS, SQLite files in a temp folder) on a free port, with test
 * CAs shaped like Fabric CAs and the real chaincode on an in-memory ledger.
 */
export class GatewayHarness {
  gateway!: RunningGateway;
  readonly ledger: ChaincodeLedger;
  readonly logFile: string;
  private readonly agents = new Map<Issued, Agent>();

  private constructor(
    readonly dir: string,
    readonly config: GatewayConfig,
    readonly hospitalCa: TestCa,
    readonly patientsCa: TestCa,
    readonly otherCa: TestCa,
    readonly clients: Record<'ehr' | 'admin' | 'clinician' | 'gatewayIdentity' | 'otherEhr' | 'noRole', Issued>,
    gatewayIdentity: Issued,
  ) {
    this.ledger = new ChaincodeLedger({ mspId: HOSPITAL_MSP, certificatePem: gatewayIdentity.certificatePem });
    this.logFile = join(dir, 'gateway.log');
  }

  static async create(
    options: {
      maxBundleBytes?: number;
      maxEntries?: number;
      maxCcdaBytes?: number;
      /** The `http` section of the config (timeouts, connection limits). */
      http?: Record<string, number>;
      threads?: number;
      /** limits.maxBackupBytes and limits.backupVersionsKept (issue 15). */
      maxBackupBytes?: number;
      backupVersionsKept?: number;
      /** The `retention` section of the config (issue 15). */
      retention?: { rebuildDays?: number; standardizedDbDays?: number; basis?: string };
      /** outbox.batchSize and outbox.batchWindowMs (deliveries sharing ledger transactions). */
      outbox?: { batchSize?: number; eagerTransactions?: number; batchWindowMs?: number };
    } = {},
  ): Promise<GatewayHarness> {
    const dir = mkdtempSync(join(tmpdir(), 'phr-gw-'));
    const hospitalCa = await makeCa(HOSPITAL_MSP);
    const patientsCa = await makeCa(PATIENTS_MSP_ID);
    const otherCa = await makeCa('Hospital2MSP');
    const tls = await hospitalCa.issue('gateway.hospital1', { hosts: ['127.0.0.1', 'localhost'] });
    const gatewayIdentity = await hospitalCa.issue('gateway', { attrs: { 'phr.role': 'hospital-gateway' } });
    const clients = {
      ehr: await hospitalCa.issue('ehr', { attrs: { 'phr.role': 'ehr' } }),
      admin: await hospitalCa.issue('registrar', { attrs: { 'phr.role': 'admin' } }),
      clinician: await hospitalCa.issue('dr-who', { attrs: { 'phr.role': 'clinician' } }),
      gatewayIdentity,
      otherEhr: await otherCa.issue('ehr', { attrs: { 'phr.role': 'ehr' } }),
      noRole: await hospitalCa.issue('plain', {}),
    };
    const write = (name: string, text: string) => {
      const f = join(dir, name);
      writeFileSync(f, text);
      return f;
    };
    const config = parseConfig(
      {
        hospital: { name: 'hospital1', mspId: HOSPITAL_MSP, displayName: 'Hospital 1' },
        listen: { host: '127.0.0.1', port: 0 },
        tls: { certFile: write('tls.crt', tls.certificatePem), keyFile: write('tls.key', tls.privateKeyPem) },
        identity: {
          certFile: write('gw.crt', gatewayIdentity.certificatePem),
          keyFile: write('gw.key', gatewayIdentity.privateKeyPem),
        },
        trustedIssuers: [
          { mspId: HOSPITAL_MSP, caFile: write('hospital-ca.pem', hospitalCa.certificatePem) },
          { mspId: PATIENTS_MSP_ID, caFile: write('patients-ca.pem', patientsCa.certificatePem) },
        ],
        dataDir: join(dir, 'data'),
        ledger: {
          mode: 'fabric',
          peer: { address: 'unused:1', tlsCaFile: 'hospital-ca.pem' },
          channel: 'phr',
          chaincode: 'phr',
        },
        limits: {
          maxBundleBytes: options.maxBundleBytes ?? 32 * 1024 * 1024,
          maxEntries: options.maxEntries ?? 5000,
          maxDepth: 64,
          maxCcdaBytes: options.maxCcdaBytes ?? 8 * 1024 * 1024,
          ...(options.maxBackupBytes ? { maxBackupBytes: options.maxBackupBytes } : {}),
          ...(options.backupVersionsKept ? { backupVersionsKept: options.backupVersionsKept } : {}),
        },
        ...(options.retention ? { retention: options.retention } : {}),
        outbox: { retryMinMs: 50, retryMaxMs: 200, ...options.outbox },
        ...(options.http ? { http: options.http } : {}),
        ...(options.threads ? { ingest: { threads: options.threads } } : {}),
        logLevel: 'info',
      },
      dir,
    );
    const h = new GatewayHarness(dir, config, hospitalCa, patientsCa, otherCa, clients, gatewayIdentity);
    await h.start();
    return h;
  }

  /** Starts (or restarts) the gateway process parts on the same data folder. */
  async start(): Promise<void> {
    const logger = pino({ level: 'info' }, pino.destination({ dest: this.logFile, sync: true, append: true }));
    this.gateway = await startGateway(this.config, { ledger: this.ledger, logger });
  }

  async restart(): Promise<void> {
    await this.gateway.close();
    for (const a of this.agents.values()) await a.close();
    this.agents.clear();
    await this.start();
  }

  get url(): string {
    return this.gateway.url;
  }

  /** Decrypts a delivery from the patient's mailbox with the patient's key, as the agent will. */
  openDelivery(patient: TestPatient, deliveryId: string): DeliveryPayload {
    const message = this.gateway.mailbox
      .pending(patient.pseudonym, { limit: 100 })
      .find((m) => m.messageId === deliveryId);
    if (!message) throw new Error(`no mail for ${deliveryId}`);
    const plain = openEnvelope(JSON.parse(message.body ?? '') as SealedEnvelope, patient.keys.privateKeyPem, {
      deliveryId,
      pseudonym: patient.pseudonym,
      sender: HOSPITAL_MSP,
    });
    return JSON.parse(plain.toString('utf8')) as DeliveryPayload;
  }

  /** A patient enrolled at the patients' CA and registered on the ledger with its own keys. */
  async newPatient(name: string): Promise<TestPatient> {
    const identity = await this.patientsCa.issue(name, { attrs: { 'phr.role': 'patient' } });
    const keys = generateEncryptionKeyPair('X25519');
    const pseudonym = newPseudonym();
    await this.ledger.registerPatient(
      { mspId: PATIENTS_MSP_ID, certificatePem: identity.certificatePem },
      pseudonym,
      keys.publicKeyPem,
    );
    return { pseudonym, identity, keys };
  }

  dispatcher(client?: Issued): Agent {
    const key = client ?? NO_CLIENT;
    let a = this.agents.get(key);
    if (!a) {
      a = new Agent({
        connect: {
          ca: this.hospitalCa.certificatePem,
          ...(client ? { cert: client.certificatePem, key: client.privateKeyPem } : {}),
        },
      });
      this.agents.set(key, a);
    }
    return a;
  }

  /** fhir-kit-client as an EHR would use it, with its client certificate. */
  fhir(client: Issued = this.clients.ehr): Client {
    return new Client({ baseUrl: `${this.url}/fhir`, requestOptions: { dispatcher: this.dispatcher(client) } });
  }

  async request(
    client: Issued | undefined,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<HttpAnswer> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined
        ? { body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) }
        : {}),
      dispatcher: this.dispatcher(client),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  /** The registration desk: the patient's agent asks for a code, the admin links the MRN with it. */
  async link(patient: TestPatient, mrn: { system: string; value: string }): Promise<void> {
    const code = await this.request(patient.identity, 'POST', '/identity/link-codes', { pseudonym: patient.pseudonym });
    if (code.status !== 201) throw new Error(`link code: ${code.status} ${code.text}`);
    const link = await this.request(this.clients.admin, 'POST', '/identity/links', {
      identifier: mrn,
      code: (code.json as { code: string }).code,
    });
    if (link.status !== 201 && link.status !== 200) throw new Error(`link: ${link.status} ${link.text}`);
  }

  async close(): Promise<void> {
    await this.gateway.close();
    for (const a of this.agents.values()) await a.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const NO_CLIENT: Issued = { certificatePem: '', privateKeyPem: '' };
