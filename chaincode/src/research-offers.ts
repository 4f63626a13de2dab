import type { ResearchOfferRecord } from '@phr/common';
import { PhrContext } from './context';
import { invalidState, notFound } from './errors';
import { Keys } from './keys';

/**
 * A research offer as Research and Consent both read it: one definition of "still taking
 * participants", so a study consent is granted under exactly the rule Research.Accept applies.
 */

/** @throws ChaincodeError NOT_FOUND when no offer has the id. */
export async function getOffer(ctx: PhrContext, offerId: string): Promise<ResearchOfferRecord> {
  const record = await ctx.state.get<ResearchOfferRecord>(Keys.researchOffer(offerId));
  if (!record) throw notFound(`offer ${offerId} does not exist`);
  return record;
}

export const isExpired = (offer: ResearchOfferRecord, now: string): boolean =>
  Date.parse(now) >= Date.parse(offer.expiresAt);

export const takesParticipants = (offer: ResearchOfferRecord, now: string): boolean =>
  offer.status === 'open' && !isExpired(offer, now) && offer.accepted < offer.quota;

/**
 * The offer, when it still takes participants: open, not expired, places left.
 * @throws ChaincodeError NOT_FOUND for an unknown offer; INVALID_STATE when withdrawn, expired or full.
 */
export async function requireOpenOffer(ctx: PhrContext, offerId: string): Promise<ResearchOfferRecord> {
  const offer = await getOffer(ctx, offerId);
  if (offer.status !== 'open') throw invalidState(`offer ${offerId} is withdrawn`);
  if (isExpired(offer, ctx.now)) throw invalidState(`offer ${offerId} has expired`);
  if (offer.accepted >= offer.quota) throw invalidState(`offer ${offerId} is full: its quota is reached`);
  return offer;
}
