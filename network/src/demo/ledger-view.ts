import type { ConsentRecord, DeliveryHistoryEntry, DeliveryRecord, PatientRecord } from '@phr/common';
import type { LedgerClient } from '@phr/ledger-client';
import type { NetworkState } from '../network-state';

/**
 * The ledger as another hospital's peer holds it: the demo checks each claim there, not on the
 * peer the transaction went through, so every check also shows that the ledger is replicated.
 * Reads only, under that hospital's admin identity.
 */
export class LedgerView {
  private readonly client: LedgerClient;

  constructor(
    state: NetworkState,
    readonly hospital: string,
    identity = 'orgadmin',
  ) {
    this.client = state.connect(hospital, identity, hospital);
  }

  patient(pseudonym: string): Promise<PatientRecord | undefined> {
    return this.client.evaluateRecord<PatientRecord>('PatientRegistry', 'ReadPatient', [pseudonym]);
  }

  delivery(deliveryId: string): Promise<DeliveryRecord | undefined> {
    return this.client.evaluateRecord<DeliveryRecord>('Commitments', 'ReadDelivery', [deliveryId]);
  }

  /** Oldest first (Fabric's key history comes newest first). */
  async deliveryHistory(deliveryId: string): Promise<DeliveryHistoryEntry[]> {
    const entries = JSON.parse(
      await this.client.evaluate('Commitments', 'DeliveryHistory', [deliveryId]),
    ) as DeliveryHistoryEntry[];
    return entries.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
  }

  consent(consentId: string): Promise<ConsentRecord | undefined> {
    return this.client.evaluateRecord<ConsentRecord>('Consent', 'ReadConsent', [consentId]);
  }

  close(): void {
    this.client.close();
  }
}
