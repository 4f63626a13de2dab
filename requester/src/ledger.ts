import type { DeliveryRecord, PatientRecord } from '@phr/common';
import { LedgerClient, type LedgerClientOptions } from '@phr/ledger-client';

/**
 * The two reads a requester needs to judge an answer: who the patient is, and what each delivery
 * committed. Both answer `undefined` for "the ledger has none"; any other failure throws.
 */
export interface RequesterLedger {
  readPatient(pseudonym: string): Promise<PatientRecord | undefined>;
  readDelivery(deliveryId: string): Promise<DeliveryRecord | undefined>;
}

/** The ledger through a hospital peer's gateway service, under the requester's own identity. */
export class FabricRequesterLedger implements RequesterLedger {
  private constructor(private readonly client: LedgerClient) {}

  static connect(options: LedgerClientOptions): FabricRequesterLedger {
    return new FabricRequesterLedger(LedgerClient.connect(options));
  }

  readPatient(pseudonym: string): Promise<PatientRecord | undefined> {
    return this.client.evaluateRecord<PatientRecord>('PatientRegistry', 'ReadPatient', [pseudonym]);
  }

  readDelivery(deliveryId: string): Promise<DeliveryRecord | undefined> {
    return this.client.evaluateRecord<DeliveryRecord>('Commitments', 'ReadDelivery', [deliveryId]);
  }

  close(): void {
    this.client.close();
  }
}

/** Counts the reads that reach the wrapped ledger: the benchmark and tests hold the verifier to one per root. */
export class CountingLedger implements RequesterLedger {
  patientReads = 0;
  deliveryReads = 0;

  constructor(private readonly inner: RequesterLedger) {}

  get reads(): number {
    return this.patientReads + this.deliveryReads;
  }

  readPatient(pseudonym: string): Promise<PatientRecord | undefined> {
    this.patientReads++;
    return this.inner.readPatient(pseudonym);
  }

  readDelivery(deliveryId: string): Promise<DeliveryRecord | undefined> {
    this.deliveryReads++;
    return this.inner.readDelivery(deliveryId);
  }
}

/** A ledger held in memory (tests, benchmark): records as the chaincode would return them. */
export class MemoryRequesterLedger implements RequesterLedger {
  readonly patients = new Map<string, PatientRecord>();
  readonly deliveries = new Map<string, DeliveryRecord>();

  readPatient(pseudonym: string): Promise<PatientRecord | undefined> {
    return Promise.resolve(this.patients.get(pseudonym));
  }

  readDelivery(deliveryId: string): Promise<DeliveryRecord | undefined> {
    return Promise.resolve(this.deliveries.get(deliveryId));
  }
}
