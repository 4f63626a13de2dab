import {
  MAX_LEDGER_PAGE_SIZE,
  readAllPages,
  type AccessEventRecord,
  type ConsentRecord,
  type CreditAccountRecord,
  type CreditEntryRecord,
  type DeliveryRecord,
  type DeliveryRejectionReason,
  type EncryptionAlgorithm,
  type HospitalRecord,
  type IdentityRef,
  type Page,
  type ParticipationRecord,
  type PatientRecord,
  type ResearchOfferRecord,
} from '@phr/common';
import { LedgerClient, type LedgerIdentity, type PeerEndpoint } from '@phr/ledger-client';
import type { AgentLedger, ConsentGrant, GuardianAccessEvent, OwnAccessEvent, ResearchOptOut } from './agent-ledger';

/**
 * The agent's ledger through a hospital peer's gateway service. The patient's key signs every
 * proposal in this process (fabric-gateway's private-key signer); the peer only sees signatures.
 */
export class FabricAgentLedger implements AgentLedger {
  private constructor(private readonly client: LedgerClient) {}

  static connect(options: { peer: PeerEndpoint; identity: LedgerIdentity; channel: string; chaincode: string }) {
    return new FabricAgentLedger(LedgerClient.connect(options));
  }

  async whoAmI(): Promise<IdentityRef & { pseudonym?: string }> {
    return JSON.parse(await this.client.evaluate('PatientRegistry', 'WhoAmI')) as IdentityRef & { pseudonym?: string };
  }

  async register(pseudonym: string, publicKey: string, algorithm: EncryptionAlgorithm): Promise<PatientRecord> {
    return this.submit<PatientRecord>('PatientRegistry', 'Register', [pseudonym, publicKey, algorithm]);
  }

  async readPatient(pseudonym: string): Promise<PatientRecord> {
    return JSON.parse(await this.client.evaluate('PatientRegistry', 'ReadPatient', [pseudonym])) as PatientRecord;
  }

  readDelivery(deliveryId: string): Promise<DeliveryRecord | undefined> {
    return this.client.evaluateRecord<DeliveryRecord>('Commitments', 'ReadDelivery', [deliveryId]);
  }

  acknowledgeDelivery(deliveryId: string): Promise<DeliveryRecord> {
    return this.submit<DeliveryRecord>('Commitments', 'AcknowledgeDelivery', [deliveryId]);
  }

  rejectDelivery(deliveryId: string, reason: DeliveryRejectionReason): Promise<DeliveryRecord> {
    return this.submit<DeliveryRecord>('Commitments', 'RejectDelivery', [deliveryId, reason]);
  }

  recordAccess(event: OwnAccessEvent): Promise<AccessEventRecord> {
    return this.submit<AccessEventRecord>('AccessLog', 'RecordAccess', [JSON.stringify(event)]);
  }

  recordGuardianAccess(event: GuardianAccessEvent): Promise<AccessEventRecord> {
    return this.submit<AccessEventRecord>('AccessLog', 'RecordAccess', [JSON.stringify(event)]);
  }

  setRecoveryKey(pseudonym: string, recoveryPublicKey: string): Promise<PatientRecord> {
    return this.submit<PatientRecord>('PatientRegistry', 'SetRecoveryKey', [pseudonym, recoveryPublicKey]);
  }

  setGuardians(pseudonym: string, guardians: string[]): Promise<PatientRecord> {
    return this.submit<PatientRecord>('PatientRegistry', 'SetGuardians', [pseudonym, JSON.stringify(guardians)]);
  }

  rotateKeys(
    pseudonym: string,
    encryptionPublicKey: string,
    algorithm: EncryptionAlgorithm,
    recoverySignature = '',
  ): Promise<PatientRecord> {
    return this.submit<PatientRecord>('PatientRegistry', 'RotateKeys', [
      pseudonym,
      encryptionPublicKey,
      algorithm,
      recoverySignature,
    ]);
  }

  markBackedUp(deliveryId: string): Promise<DeliveryRecord> {
    return this.submit<DeliveryRecord>('Commitments', 'MarkBackedUp', [deliveryId]);
  }

  erasePatient(pseudonym: string): Promise<PatientRecord> {
    return this.submit<PatientRecord>('PatientRegistry', 'Erase', [pseudonym]);
  }

  listDeliveries(pseudonym: string): Promise<DeliveryRecord[]> {
    return readAllPages(
      async (bookmark) =>
        JSON.parse(
          await this.client.evaluate('Commitments', 'ListDeliveries', [
            pseudonym,
            String(MAX_LEDGER_PAGE_SIZE),
            bookmark,
          ]),
        ) as Page<DeliveryRecord>,
    );
  }

  grantConsent(g: ConsentGrant): Promise<ConsentRecord> {
    return this.submit<ConsentRecord>('Consent', 'GrantConsent', [
      g.consentId,
      JSON.stringify(g.grantee),
      JSON.stringify(g.scope),
      JSON.stringify(g.purposes),
      g.start,
      g.end,
    ]);
  }

  revokeConsent(consentId: string): Promise<ConsentRecord> {
    return this.submit<ConsentRecord>('Consent', 'RevokeConsent', [consentId]);
  }

  async listConsents(pseudonym: string): Promise<ConsentRecord[]> {
    return JSON.parse(await this.client.evaluate('Consent', 'ListConsents', [pseudonym])) as ConsentRecord[];
  }

  listAccessEvents(pseudonym: string, from = ''): Promise<AccessEventRecord[]> {
    return readAllPages(
      async (bookmark) =>
        JSON.parse(
          await this.client.evaluate('AccessLog', 'ListAccessEvents', [
            pseudonym,
            from,
            '',
            String(MAX_LEDGER_PAGE_SIZE),
            bookmark,
          ]),
        ) as Page<AccessEventRecord>,
    );
  }

  async listHospitals(): Promise<HospitalRecord[]> {
    return JSON.parse(await this.client.evaluate('Directory', 'ListHospitals')) as HospitalRecord[];
  }

  listOpenOffers(): Promise<ResearchOfferRecord[]> {
    return readAllPages(
      async (bookmark) =>
        JSON.parse(
          await this.client.evaluate('Research', 'ListOffers', ['open', String(MAX_LEDGER_PAGE_SIZE), bookmark]),
        ) as Page<ResearchOfferRecord>,
    );
  }

  readOffer(offerId: string): Promise<ResearchOfferRecord | undefined> {
    return this.client.evaluateRecord<ResearchOfferRecord>('Research', 'ReadOffer', [offerId]);
  }

  acceptOffer(offerId: string, participationId: string, consentId: string, studyKey: string) {
    return this.submit<ParticipationRecord>('Research', 'Accept', [offerId, participationId, consentId, studyKey]);
  }

  deliverExtract(participationId: string, deliveryIds: readonly string[], extractHash: string, elementCount: number) {
    return this.submit<ParticipationRecord>('Research', 'Deliver', [
      participationId,
      JSON.stringify(deliveryIds),
      extractHash,
      String(elementCount),
    ]);
  }

  async listMyParticipations(): Promise<ParticipationRecord[]> {
    return JSON.parse(await this.client.evaluate('Research', 'ListMyParticipations')) as ParticipationRecord[];
  }

  setResearchOptOut(optedOut: boolean): Promise<ResearchOptOut> {
    return this.submit<ResearchOptOut>('Research', 'SetOptOut', [String(optedOut)]);
  }

  async isResearchOptedOut(pseudonym: string): Promise<boolean> {
    return JSON.parse(await this.client.evaluate('Research', 'IsOptedOut', [pseudonym])) === true;
  }

  async readCreditAccount(): Promise<CreditAccountRecord> {
    return JSON.parse(await this.client.evaluate('Credits', 'ReadAccount')) as CreditAccountRecord;
  }

  listCreditEntries(): Promise<CreditEntryRecord[]> {
    return readAllPages(
      async (bookmark) =>
        JSON.parse(
          await this.client.evaluate('Credits', 'ListEntries', [String(MAX_LEDGER_PAGE_SIZE), bookmark]),
        ) as Page<CreditEntryRecord>,
    );
  }

  close(): void {
    this.client.close();
  }

  private async submit<T>(contract: string, fn: string, args: string[]): Promise<T> {
    return JSON.parse((await this.client.submit(contract, fn, args)).result) as T;
  }
}
