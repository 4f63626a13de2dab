import type {
  AccessEventRecord,
  ConsentRecord,
  CreditAccountRecord,
  CreditEntryRecord,
  DeliveryRecord,
  DeliveryRejectionReason,
  EncryptionAlgorithm,
  HospitalRecord,
  IdentityRef,
  Page,
  ParticipationRecord,
  PatientRecord,
  ResearchOfferRecord,
} from '@phr/common';
import { MAX_LEDGER_PAGE_SIZE, parseChaincodeError, readAllPages } from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import { AccessLogContract } from '@phr/chaincode';
import { CommitmentsContract } from '@phr/chaincode';
import { ConsentContract } from '@phr/chaincode';
import { DirectoryContract } from '@phr/chaincode';
import { PatientRegistryContract } from '@phr/chaincode';
import { CreditsContract, ResearchContract } from '@phr/chaincode';
import type { PhrContract } from '@phr/chaincode';
import type { FakeLedger } from '@phr/chaincode/testing';
import type {
  AgentLedger,
  ConsentGrant,
  GuardianAccessEvent,
  OwnAccessEvent,
  ResearchOptOut,
} from '../../src/ledger/agent-ledger';

const contracts = {
  PatientRegistry: new PatientRegistryContract(),
  Commitments: new CommitmentsContract(),
  Consent: new ConsentContract(),
  AccessLog: new AccessLogContract(),
  Directory: new DirectoryContract(),
  Research: new ResearchContract(),
  Credits: new CreditsContract(),
};

/**
 * The agent's ledger as the real chaincode on chaincode's in-memory ledger, shared with the
 * gateway harness's ledger: what the gateway commits, the agent reads. Calls run as the
 * patient's certificate, so the contracts' own caller checks apply. It can be switched off to
 * play an outage.
 */
export class ChaincodeAgentLedger implements AgentLedger {
  available = true;

  constructor(
    private readonly world: FakeLedger,
    private readonly identity: { mspId: string; certificatePem: string },
  ) {}

  async whoAmI() {
    return this.json<IdentityRef & { pseudonym?: string }>(contracts.PatientRegistry, 'WhoAmI', []);
  }
  register(pseudonym: string, key: string, alg: EncryptionAlgorithm) {
    return this.json<PatientRecord>(contracts.PatientRegistry, 'Register', [pseudonym, key, alg]);
  }
  readPatient(pseudonym: string) {
    return this.json<PatientRecord>(contracts.PatientRegistry, 'ReadPatient', [pseudonym]);
  }
  async readDelivery(deliveryId: string): Promise<DeliveryRecord | undefined> {
    try {
      return await this.json<DeliveryRecord>(contracts.Commitments, 'ReadDelivery', [deliveryId]);
    } catch (err) {
      if (err instanceof LedgerError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }
  acknowledgeDelivery(deliveryId: string) {
    return this.json<DeliveryRecord>(contracts.Commitments, 'AcknowledgeDelivery', [deliveryId]);
  }
  rejectDelivery(deliveryId: string, reason: DeliveryRejectionReason) {
    return this.json<DeliveryRecord>(contracts.Commitments, 'RejectDelivery', [deliveryId, reason]);
  }
  recordAccess(event: OwnAccessEvent) {
    return this.json<AccessEventRecord>(contracts.AccessLog, 'RecordAccess', [JSON.stringify(event)]);
  }
  recordGuardianAccess(event: GuardianAccessEvent) {
    return this.json<AccessEventRecord>(contracts.AccessLog, 'RecordAccess', [JSON.stringify(event)]);
  }
  setRecoveryKey(pseudonym: string, recoveryPublicKey: string) {
    return this.json<PatientRecord>(contracts.PatientRegistry, 'SetRecoveryKey', [pseudonym, recoveryPublicKey]);
  }
  setGuardians(pseudonym: string, guardians: string[]) {
    return this.json<PatientRecord>(contracts.PatientRegistry, 'SetGuardians', [pseudonym, JSON.stringify(guardians)]);
  }
  rotateKeys(pseudonym: string, key: string, alg: EncryptionAlgorithm, recoverySignature = '') {
    return this.json<PatientRecord>(contracts.PatientRegistry, 'RotateKeys', [pseudonym, key, alg, recoverySignature]);
  }
  markBackedUp(deliveryId: string) {
    return this.json<DeliveryRecord>(contracts.Commitments, 'MarkBackedUp', [deliveryId]);
  }
  erasePatient(pseudonym: string) {
    return this.json<PatientRecord>(contracts.PatientRegistry, 'Erase', [pseudonym]);
  }
  listDeliveries(pseudonym: string): Promise<DeliveryRecord[]> {
    return readAllPages((bookmark) =>
      this.json<Page<DeliveryRecord>>(contracts.Commitments, 'ListDeliveries', [
        pseudonym,
        MAX_LEDGER_PAGE_SIZE,
        bookmark,
      ]),
    );
  }
  grantConsent(g: ConsentGrant) {
    return this.json<ConsentRecord>(contracts.Consent, 'GrantConsent', [
      g.consentId,
      JSON.stringify(g.grantee),
      JSON.stringify(g.scope),
      JSON.stringify(g.purposes),
      g.start,
      g.end,
    ]);
  }
  revokeConsent(consentId: string) {
    return this.json<ConsentRecord>(contracts.Consent, 'RevokeConsent', [consentId]);
  }
  listConsents(pseudonym: string) {
    return this.json<ConsentRecord[]>(contracts.Consent, 'ListConsents', [pseudonym]);
  }
  listAccessEvents(pseudonym: string, from = ''): Promise<AccessEventRecord[]> {
    return readAllPages((bookmark) =>
      this.json<Page<AccessEventRecord>>(contracts.AccessLog, 'ListAccessEvents', [
        pseudonym,
        from,
        '',
        MAX_LEDGER_PAGE_SIZE,
        bookmark,
      ]),
    );
  }
  listHospitals() {
    return this.json<HospitalRecord[]>(contracts.Directory, 'ListHospitals', []);
  }
  listOpenOffers(): Promise<ResearchOfferRecord[]> {
    return readAllPages((bookmark) =>
      this.json<Page<ResearchOfferRecord>>(contracts.Research, 'ListOffers', ['open', MAX_LEDGER_PAGE_SIZE, bookmark]),
    );
  }
  async readOffer(offerId: string): Promise<ResearchOfferRecord | undefined> {
    try {
      return await this.json<ResearchOfferRecord>(contracts.Research, 'ReadOffer', [offerId]);
    } catch (err) {
      if (err instanceof LedgerError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }
  acceptOffer(offerId: string, participationId: string, consentId: string, studyKey: string) {
    return this.json<ParticipationRecord>(contracts.Research, 'Accept', [
      offerId,
      participationId,
      consentId,
      studyKey,
    ]);
  }
  deliverExtract(participationId: string, deliveryIds: readonly string[], extractHash: string, elementCount: number) {
    return this.json<ParticipationRecord>(contracts.Research, 'Deliver', [
      participationId,
      JSON.stringify(deliveryIds),
      extractHash,
      // a number, as Fabric's contract API hands it the declared parameter type
      elementCount,
    ]);
  }
  listMyParticipations() {
    return this.json<ParticipationRecord[]>(contracts.Research, 'ListMyParticipations', []);
  }
  setResearchOptOut(optedOut: boolean) {
    return this.json<ResearchOptOut>(contracts.Research, 'SetOptOut', [String(optedOut)]);
  }
  async isResearchOptedOut(pseudonym: string): Promise<boolean> {
    return (await this.json<unknown>(contracts.Research, 'IsOptedOut', [pseudonym])) === true;
  }
  readCreditAccount() {
    return this.json<CreditAccountRecord>(contracts.Credits, 'ReadAccount', []);
  }
  listCreditEntries(): Promise<CreditEntryRecord[]> {
    return readAllPages((bookmark) =>
      this.json<Page<CreditEntryRecord>>(contracts.Credits, 'ListEntries', [MAX_LEDGER_PAGE_SIZE, bookmark]),
    );
  }
  close(): void {}

  private async json<T>(contract: PhrContract, fn: string, args: unknown[]): Promise<T> {
    if (!this.available) throw new LedgerError('UNAVAILABLE', 'ledger unavailable: test outage');
    try {
      return JSON.parse(await this.world.invoke(contract, fn, args, this.identity)) as T;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // the text as a peer relays it, read by the same parser as ledger-client's
      const refusal = parseChaincodeError(message);
      throw new LedgerError(refusal?.code ?? 'LEDGER_ERROR', message, undefined, { cause: err });
    }
  }
}
