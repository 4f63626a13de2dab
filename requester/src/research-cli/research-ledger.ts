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
import { LedgerClient, type LedgerClientOptions } from '@phr/ledger-client';

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

  static connect(options: LedgerClientOptions): FabricResearchLedger {
    return new FabricResearchLedger(LedgerClient.connect(options));
  }

  async openAccount(): Promise<CreditAccountRecord> {
    return JSON.parse((await this.client.submit('Credits', 'OpenAccount', [])).result) as CreditAccountRecord;
  }

  async readAccount(): Promise<CreditAccountRecord> {
    return JSON.parse(await this.client.evaluate('Credits', 'ReadAccount', [])) as CreditAccountRecord;
  }

  listEntries(): Promise<CreditEntryRecord[]> {
    return this.allPages<CreditEntryRecord>('Credits', 'ListEntries', []);
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

  listOffers(status: '' | 'open'): Promise<ResearchOfferRecord[]> {
    return this.allPages<ResearchOfferRecord>('Research', 'ListOffers', [status]);
  }

  readParticipation(participationId: string): Promise<ParticipationRecord | undefined> {
    return this.client.evaluateRecord<ParticipationRecord>('Research', 'ReadParticipation', [participationId]);
  }

  listParticipations(offerId: string): Promise<ParticipationRecord[]> {
    return this.allPages<ParticipationRecord>('Research', 'ListParticipations', [offerId]);
  }

  async declareUse(subject: string, useId: string, use: ResearchUse): Promise<DeclaredUse> {
    return JSON.parse(
      (await this.client.submit('Research', 'DeclareUse', [subject, useId, use])).result,
    ) as DeclaredUse;
  }

  close(): void {
    this.client.close();
  }

  /** Every page of a paged query: the chaincode takes the page size and bookmark after the query's own arguments. */
  private allPages<T>(contract: string, fn: string, args: string[]): Promise<T[]> {
    return readAllPages(
      async (bookmark) =>
        JSON.parse(
          await this.client.evaluate(contract, fn, [...args, String(MAX_LEDGER_PAGE_SIZE), bookmark]),
        ) as Page<T>,
    );
  }
}
