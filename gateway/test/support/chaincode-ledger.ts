import { randomBytes } from 'node:crypto';
import { MAX_LEDGER_PAGE_SIZE, readAllPages } from '@phr/common';
import type {
  AccessEventRecord,
  AccessRequest,
  ConsentEvaluation,
  ConsentGrantPayload,
  ConsentRecord,
  DeliveryRecord,
  Page,
  PatientRecord,
} from '@phr/common';
import { CHAINCODE_CODES, LedgerError, type ChaincodeCode } from '@phr/ledger-client';
import { AccessLogContract } from '../../../chaincode/src/access-log';
import { CommitmentsContract } from '../../../chaincode/src/commitments';
import { ConsentContract } from '../../../chaincode/src/consent';
import { PatientRegistryContract } from '../../../chaincode/src/patient-registry';
import { FakeLedger } from '../../../chaincode/src/testing/fake-ledger';
import { deliveryArgs } from '../../src/ledger/fabric-ledger';
import {
  type CommitResult,
  type DeliveryCommitment,
  type LedgerPort,
  type PreparedCommit,
} from '../../src/ledger/ledger-port';
import type { GatewayAccessEvent, PullLedger } from '../../src/pull/pull-ledger';

export interface Identity {
  mspId: string;
  certificatePem: string;
}

/**
 * The real chaincode contracts on chaincode's in-memory ledger (Fabric's transaction semantics,
 * real certificates), for gateway tests that must run where no Fabric network can. It can be
 * switched off to play a ledger outage, and it refuses a transaction id it has seen, as Fabric does.
 */
export class ChaincodeLedger implements LedgerPort, PullLedger {
  readonly mode = 'fabric';
  readonly world = new FakeLedger();
  readonly registry = new PatientRegistryContract();
  readonly commitments = new CommitmentsContract();
  readonly consent = new ConsentContract();
  readonly accessLog = new AccessLogContract();
  /** Ledger reads the gateway made (listConsents counts one, listAccessEvents one per page). */
  reads = 0;
  available = true;
  submissions = 0;
  private readonly spent = new Set<string>();

  constructor(private readonly gateway: Identity) {}

  async registerPatient(patient: Identity, pseudonym: string, encryptionPublicKey: string): Promise<PatientRecord> {
    return this.world.call<PatientRecord>(
      this.registry,
      'Register',
      [pseudonym, encryptionPublicKey, 'X25519'],
      patient,
    );
  }

  prepareDelivery(): Promise<PreparedCommit> {
    return Promise.resolve({ transactionId: randomBytes(32).toString('hex') });
  }

  async submit(prepared: PreparedCommit, c: DeliveryCommitment): Promise<CommitResult> {
    this.up();
    if (this.spent.has(prepared.transactionId)) {
      throw new LedgerError('LEDGER_ERROR', `duplicate transaction found [${prepared.transactionId}]`);
    }
    this.submissions += 1;
    // Fabric's contract runtime turns string arguments into the declared parameter types; the
    // in-memory ledger calls the function directly, so the numbers are converted here.
    const args = deliveryArgs(c).map((a, i) => (i === 3 || i === 4 ? Number(a) : a));
    await this.run(() => this.world.invoke(this.commitments, 'RecordDelivery', args, this.gateway));
    this.spent.add(prepared.transactionId);
    return { transactionId: prepared.transactionId, blockNumber: BigInt(this.submissions) };
  }

  async readDelivery(deliveryId: string): Promise<DeliveryRecord | undefined> {
    this.up();
    return this.readOrUndefined<DeliveryRecord>(() =>
      this.world.invoke(this.commitments, 'ReadDelivery', [deliveryId], this.gateway),
    );
  }

  async evaluateConsent(pseudonym: string, request: AccessRequest): Promise<ConsentEvaluation> {
    this.up();
    return JSON.parse(
      await this.run(() =>
        this.world.invoke(this.consent, 'EvaluateConsent', [pseudonym, JSON.stringify(request)], this.gateway),
      ),
    ) as ConsentEvaluation;
  }

  async recordAccess(event: GatewayAccessEvent): Promise<AccessEventRecord> {
    this.up();
    return JSON.parse(
      await this.run(() => this.world.invoke(this.accessLog, 'RecordAccess', [JSON.stringify(event)], this.gateway)),
    ) as AccessEventRecord;
  }

  async readPatient(pseudonym: string): Promise<PatientRecord | undefined> {
    this.up();
    return this.readOrUndefined<PatientRecord>(() =>
      this.world.invoke(this.registry, 'ReadPatient', [pseudonym], this.gateway),
    );
  }

  async listConsents(pseudonym: string): Promise<ConsentRecord[]> {
    this.up();
    this.reads += 1;
    return JSON.parse(
      await this.run(() => this.world.invoke(this.consent, 'ListConsents', [pseudonym], this.gateway)),
    ) as ConsentRecord[];
  }

  async listAccessEvents(pseudonym: string, from: string, to: string): Promise<AccessEventRecord[]> {
    this.up();
    return readAllPages(async (bookmark) => {
      this.reads += 1;
      return JSON.parse(
        await this.run(() =>
          this.world.invoke(
            this.accessLog,
            'ListAccessEvents',
            [pseudonym, from, to, MAX_LEDGER_PAGE_SIZE, bookmark],
            this.gateway,
          ),
        ),
      ) as Page<AccessEventRecord>;
    });
  }

  /** Relayed as the gateway identity, as FabricLedger submits it. */
  async grantSignedConsent(payload: ConsentGrantPayload, signature: string): Promise<ConsentRecord> {
    this.up();
    return JSON.parse(
      await this.run(() =>
        this.world.invoke(this.consent, 'GrantSignedConsent', [JSON.stringify(payload), signature], this.gateway),
      ),
    ) as ConsentRecord;
  }

  close(): void {}

  private up(): void {
    if (!this.available) throw new LedgerError('UNAVAILABLE', 'ledger unavailable: test outage');
  }

  private async readOrUndefined<T>(fn: () => Promise<string>): Promise<T | undefined> {
    try {
      return JSON.parse(await this.run(fn)) as T;
    } catch (err) {
      if (err instanceof LedgerError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }

  private async run(fn: () => Promise<string>): Promise<string> {
    try {
      return await fn();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const code = CHAINCODE_CODES.find((c) => message.includes(`${c}:`));
      throw new LedgerError((code ?? 'LEDGER_ERROR') as ChaincodeCode, message, undefined, { cause: err });
    }
  }
}
