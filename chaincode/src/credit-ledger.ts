import { createHash } from 'node:crypto';
import {
  PATIENTS_MSP_ID,
  type CreditAccountKind,
  type CreditAccountRecord,
  type CreditEntryKind,
  type CreditEntryRecord,
  type ResearchOfferRecord,
} from '@phr/common';
import { PhrContext } from './context';
import { invalidState, notFound } from './errors';
import { Keys } from './keys';

/**
 * The one place credits move (issue 16: plain accounts, whole credits, no currency). Credits live
 * in accounts (a patient's under its pseudonym, an institute's under its researcher's identity key)
 * or in an offer's escrow, a field of the offer record. Research and Credits both move them through
 * here, inside their own transaction, so a delivery and its payment commit or fail together.
 *
 * Fabric's reads do not see the transaction's own writes: each function reads an account once and
 * writes it once, and callers never move credits of one account twice in one transaction.
 */

/** What an entry refers to, for its owner's statement. */
export interface CreditRefs {
  offerId?: string;
  participationId?: string;
}

/** An institute's account: its researcher's identity key, in its MSP. */
export function instituteAccount(ctx: PhrContext): Pick<CreditAccountRecord, 'accountId' | 'kind' | 'mspId'> {
  return { accountId: ctx.caller.id, kind: 'institute', mspId: ctx.caller.mspId };
}

export async function readAccount(ctx: PhrContext, accountId: string): Promise<CreditAccountRecord | undefined> {
  return ctx.state.get<CreditAccountRecord>(Keys.creditAccount(accountId));
}

/** Opens an empty account, or answers the one already open. */
export async function openAccount(
  ctx: PhrContext,
  owner: { accountId: string; kind: CreditAccountKind; mspId: string },
): Promise<CreditAccountRecord> {
  const existing = await readAccount(ctx, owner.accountId);
  if (existing) return existing;
  const now = ctx.now;
  const record: CreditAccountRecord = {
    docType: 'credit-account',
    ...owner,
    balance: 0,
    createdAt: now,
    updatedAt: now,
  };
  await ctx.state.put(Keys.creditAccount(owner.accountId), record);
  return record;
}

/** A funding of an institute account by its hospital's admin; the entry id is the caller's. */
export async function fundAccount(
  ctx: PhrContext,
  account: CreditAccountRecord,
  amount: number,
  entryId: string,
): Promise<CreditEntryRecord> {
  const entry = await post(ctx, account, amount, 'fund', {}, entryId);
  await ctx.state.put(Keys.creditFunding(entryId), Keys.creditEntry(account.accountId, entry.recordedAt, entryId));
  return entry;
}

/** Takes an offer's credits × quota from the institute's account into the offer's escrow. */
export async function escrowForOffer(ctx: PhrContext, accountId: string, offer: ResearchOfferRecord): Promise<void> {
  const account = await readAccount(ctx, accountId);
  if (!account) throw invalidState('the institute has no credit account: open one with Credits:OpenAccount');
  const amount = offer.escrow;
  if (account.balance < amount) {
    throw invalidState(`insufficient credits: the offer needs ${amount}, the account holds ${account.balance}`);
  }
  await post(ctx, account, -amount, 'escrow', { offerId: offer.offerId });
}

/**
 * Pays a participant from the offer's escrow, opening the patient's account on its first payment.
 * Returns the offer with its escrow reduced; the caller stores it.
 */
export async function payFromEscrow(
  ctx: PhrContext,
  offer: ResearchOfferRecord,
  pseudonym: string,
  participationId: string,
): Promise<ResearchOfferRecord> {
  const amount = offer.creditsPerParticipant;
  if (offer.escrow < amount) throw invalidState(`insufficient credits: offer ${offer.offerId} holds ${offer.escrow}`);
  const account =
    (await readAccount(ctx, pseudonym)) ??
    newAccount(ctx, { accountId: pseudonym, kind: 'patient', mspId: PATIENTS_MSP_ID });
  await post(ctx, account, amount, 'payment', { offerId: offer.offerId, participationId });
  return { ...offer, escrow: offer.escrow - amount };
}

/** Returns `amount` of the offer's escrow to the institute that posted it. */
export async function refundFromEscrow(
  ctx: PhrContext,
  offer: ResearchOfferRecord,
  amount: number,
): Promise<ResearchOfferRecord> {
  if (amount <= 0) return offer;
  const account = await readAccount(ctx, offer.institute.id);
  if (!account) throw notFound(`the credit account of offer ${offer.offerId}'s institute does not exist`);
  await post(ctx, account, amount, 'refund', { offerId: offer.offerId });
  return { ...offer, escrow: offer.escrow - amount };
}

function newAccount(
  ctx: PhrContext,
  owner: { accountId: string; kind: CreditAccountKind; mspId: string },
): CreditAccountRecord {
  const now = ctx.now;
  return { docType: 'credit-account', ...owner, balance: 0, createdAt: now, updatedAt: now };
}

/** Appends one statement line and stores the account's new balance. */
async function post(
  ctx: PhrContext,
  account: CreditAccountRecord,
  amount: number,
  kind: CreditEntryKind,
  refs: CreditRefs,
  entryId?: string,
): Promise<CreditEntryRecord> {
  const balanceAfter = account.balance + amount;
  if (!Number.isSafeInteger(balanceAfter) || balanceAfter < 0) {
    throw invalidState(`insufficient credits: account balance ${account.balance}, move ${amount}`);
  }
  const now = ctx.now;
  const txId = ctx.stub.getTxID();
  const id =
    entryId ??
    `${kind}-${createHash('sha256').update(`${txId}|${account.accountId}|${kind}`).digest('hex').slice(0, 40)}`;
  const entry: CreditEntryRecord = {
    docType: 'credit-entry',
    accountId: account.accountId,
    entryId: id,
    kind,
    amount,
    balanceAfter,
    ...(refs.offerId !== undefined ? { offerId: refs.offerId } : {}),
    ...(refs.participationId !== undefined ? { participationId: refs.participationId } : {}),
    recordedAt: now,
    txId,
  };
  await ctx.state.put(Keys.creditEntry(account.accountId, now, id), entry);
  await ctx.state.put(Keys.creditAccount(account.accountId), { ...account, balance: balanceAfter, updatedAt: now });
  return entry;
}
