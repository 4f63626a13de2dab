import {
  readAllPages,
  MAX_LEDGER_PAGE_SIZE,
  type CreditAccountRecord,
  type CreditEntryRecord,
  type OfferTerms,
  type Page,
  type ParticipationRecord,
  type ResearchOfferRecord,
  type ResearchUse,
} from '@phr/common';
import { LedgerClient, type LedgerDeadlines, type LedgerIdentity, type PeerEndpoint } from '@phr/ledger-client';

/** What Research.DeclareUse answers. */
export interface DeclaredUse {
  subject: string;
  useId: string;
  use: string;
  count: number;
}

/**
 * The researcher's ledger: its account, its offers, their participations (no pseudonyms: the
 * chaincode strips them for a researcher) and the uses it declares. Reads answer `undefined` for
 * "the ledger has none"; anything else throws a `LedgerError`.
 */
export interface ResearchLedger {
  openAccount(): Promise<CreditAccountRecord>;
  readAccount(): Promise<CreditAccountRecord>;
  listEntries(): Promise<CreditEntryRecord[]>;
  postOffer(terms: OfferTerms): Promise<ResearchOfferRecord>;
  withdrawOffer(offerId: string): Promise<ResearchOfferRecord>;
  readOffer(offerId: string): Promise<ResearchOfferRecord | undefined>;
  /** `status` '' for all, 'open' for those still taking participants. */
  listOffers(status: '' | 'open'): Promise<ResearchOfferRecord[]>;
  readParticipation(participationId: string): Promise<ParticipationRecord | undefined>;
  listParticipations(offerId: string): Promise<ParticipationRecord[]>;
  declareUse(subject: string, useId: string, use: ResearchUse): Promise<DeclaredUse>;
}

/** The ledger through a peer's gateway service, under the researcher's own identity. */
export class FabricResearchLedger implements ResearchLedger {
  private constructor(private readonly client: LedgerClient) {}

  static connect(options: {
    peer: PeerEndpoint;
    identity: LedgerIdentity;
    channel: string;
    chaincode: string;
    deadlines?: Partial<LedgerDeadlines>;
  }): FabricResearchLedger {
    return new FabricResearchLedger(LedgerClient.connect(options));
  }

  async openAccount(): Promise<CreditAccountRecord> {
    return JSON.parse((await this.client.submit('Credits', 'OpenAccount', [])).result) as CreditAccountRecord;
  }

  async readAccount(): Promise<CreditAccountRecord> {
    return JSON.parse(await this.client.evaluate('Credits', 'ReadAccount', [])) as CreditAccountRecord;
  }

  async listEntries(): Promise<CreditEntryRecord[]> {
    return readAllPages(
      async (bookmark) =>
        JSON.parse(
          await this.client.evaluate('Credits', 'ListEntries', [String(MAX_LEDGER_PAGE_SIZE), bookmark]),
        ) as Page<CreditEntryRecord>,
    );
  }

  async postOffer(terms: OfferTerms): Promise<ResearchOfferRecord> {
    const r = await this.client.submit('Research', 'PostOffer', [JSON.stringify(terms)]);
    return JSON.parse(r.result) as ResearchOfferRecord;
  }

  async withdrawOffer(offerId: string): Promise<ResearchOfferRecord> {
    return JSON.parse((await this.client.submit('Research', 'WithdrawOffer', [offerId])).result) as ResearchOfferRecord;
  }

  readOffer(offerId: string): Promise<ResearchOfferRecord | undefined> {
    return this.client.evaluateRecord<ResearchOfferRecord>('Research', 'ReadOffer', [offerId]);
  }

  async listOffers(status: '' | 'open'): Promise<ResearchOfferRecord[]> {
    return readAllPages(
      async (bookmark) =>
        JSON.parse(
          await this.client.evaluate('Research', 'ListOffers', [status, String(MAX_LEDGER_PAGE_SIZE), bookmark]),
        ) as Page<ResearchOfferRecord>,
    );
  }

  readParticipation(participationId: string): Promise<ParticipationRecord | undefined> {
    return this.client.evaluateRecord<ParticipationRecord>('Research', 'ReadParticipation', [participationId]);
  }

  async listParticipations(offerId: string): Promise<ParticipationRecord[]> {
    return readAllPages(
      async (bookmark) =>
        JSON.parse(
          await this.client.evaluate('Research', 'ListParticipations', [
            offerId,
            String(MAX_LEDGER_PAGE_SIZE),
            bookmark,
          ]),
        ) as Page<ParticipationRecord>,
    );
  }

  async declareUse(subject: string, useId: string, use: ResearchUse): Promise<DeclaredUse> {
    return JSON.parse(
      (await this.client.submit('Research', 'DeclareUse', [subject, useId, use])).result,
    ) as DeclaredUse;
  }

  close(): void {
    this.client.close();
  }
}
