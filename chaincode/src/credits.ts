import { Info, Returns, Transaction } from 'fabric-contract-api';
import {
  canonicalJson,
  PATIENTS_MSP_ID,
  Roles,
  type CreditAccountRecord,
  type CreditEntryRecord,
  type ResearchEventPayload,
} from '@phr/common';
import { PhrContext } from './context';
import { fundAccount, instituteAccount, openAccount, readAccount } from './credit-ledger';
import { conflict, forbidden, invalidArgument, notFound } from './errors';
import { Keys } from './keys';
import { callerPseudonym } from './patients';
import { PhrContract, type AccessRules } from './phr-contract';
import { requireInt, requireRecordId } from './validate';

/** The largest single funding: keeps every balance far inside the safe integers. */
const MAX_FUNDING = 1_000_000_000_000;
const IDENTITY_KEY = /^id[0-9a-f]{40}$/;

/**
 * Credit accounts of patients and research institutes (issue 16). Credits enter only through an
 * admin's funding of an institute of its own organisation; they move only through research offers
 * (credit-ledger.ts). Every owner reads its own account and statement, nobody another's.
 */
@Info({ title: 'Credits', description: 'Credit accounts of patients and research institutes' })
export class CreditsContract extends PhrContract {
  protected readonly rules: AccessRules = {
    OpenAccount: [Roles.Researcher],
    Fund: [Roles.Admin],
    ReadAccount: [Roles.Patient, Roles.Researcher],
    ListEntries: [Roles.Patient, Roles.Researcher],
  };

  constructor() {
    super('Credits');
  }

  /** The caller's institute account (id = its identity key), opened on the first call. */
  @Transaction()
  @Returns('string')
  async OpenAccount(ctx: PhrContext): Promise<string> {
    return canonicalJson(await openAccount(ctx, instituteAccount(ctx)));
  }

  /**
   * Credits an institute account of the admin's own organisation. A retry with the same entryId
   * answers the entry already recorded.
   * @throws ChaincodeError NOT_FOUND without such an account, FORBIDDEN for another MSP's, CONFLICT
   *   for an entryId already used otherwise.
   */
  @Transaction()
  @Returns('string')
  async Fund(ctx: PhrContext, accountId: string, amount: number, entryId: string): Promise<string> {
    if (typeof accountId !== 'string' || !IDENTITY_KEY.test(accountId)) {
      throw invalidArgument("accountId must be an institute's identity key");
    }
    requireInt(amount, 'amount', 1, MAX_FUNDING);
    requireRecordId(entryId, 'entryId');
    const existingKey = await ctx.state.get<string>(Keys.creditFunding(entryId));
    if (existingKey) {
      const existing = await ctx.state.get<CreditEntryRecord>(existingKey);
      if (existing && existing.accountId === accountId && existing.amount === amount) return canonicalJson(existing);
      throw conflict(`credit entry ${entryId} already exists`);
    }
    const account = await readAccount(ctx, accountId);
    if (!account || account.kind !== 'institute') throw notFound(`credit account ${accountId} does not exist`);
    if (account.mspId !== ctx.caller.mspId) {
      throw forbidden(`only an admin of ${account.mspId} may fund this account`);
    }
    const entry = await fundAccount(ctx, account, amount, entryId);
    const payload: ResearchEventPayload = { subject: accountId, credits: amount };
    ctx.stub.setEvent('CreditsFunded', Buffer.from(canonicalJson(payload)));
    return canonicalJson(entry);
  }

  /**
   * The caller's own account: a patient's under its pseudonym (balance 0 before its first
   * payment), a researcher's under its identity key.
   * @throws ChaincodeError NOT_FOUND for a researcher who has not opened one.
   */
  @Transaction(false)
  @Returns('string')
  async ReadAccount(ctx: PhrContext): Promise<string> {
    return canonicalJson(await ownAccount(ctx));
  }

  /** The caller's own statement, oldest first, a page at a time. */
  @Transaction(false)
  @Returns('string')
  async ListEntries(ctx: PhrContext, pageSize: number, bookmark: string): Promise<string> {
    const { accountId } = await ownAccount(ctx);
    const [start, end] = Keys.creditEntryRange(accountId);
    return canonicalJson(await ctx.state.pageByRange<CreditEntryRecord>(start, end, pageSize, bookmark));
  }
}

async function ownAccount(ctx: PhrContext): Promise<CreditAccountRecord> {
  if (ctx.caller.role === Roles.Patient) {
    const pseudonym = await callerPseudonym(ctx);
    const now = ctx.now;
    return (
      (await readAccount(ctx, pseudonym)) ?? {
        docType: 'credit-account',
        accountId: pseudonym,
        kind: 'patient',
        mspId: PATIENTS_MSP_ID,
        balance: 0,
        createdAt: now,
        updatedAt: now,
      }
    );
  }
  const account = await readAccount(ctx, ctx.caller.id);
  if (!account) throw notFound('the caller has no credit account: open one with Credits:OpenAccount');
  return account;
}
