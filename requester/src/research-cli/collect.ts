import type { ParticipationRecord, ResearchOfferRecord } from '@phr/common';
import { ExtractVerificationError, ResearchError, type ExtractVerificationCode } from './research-errors';
import type { ResearchGateway } from './research-gateway';
import type { ResearchLedger } from './research-ledger';
import type { ResearchState } from './research-state';
import { verifyExtract, type VerifiedExtract } from './verify-extract';

export interface CollectReport {
  offerId: string;
  verified: Pick<VerifiedExtract, 'participationId' | 'unchanged' | 'changed' | 'roots'>[];
  /** Kept by an earlier run whose acknowledgement did not reach the gateway: acknowledged now. */
  alreadyKept: number;
  /** Kept files that could not be read back: verified again from the gateway's copy and rewritten. */
  corruptKept: string[];
  /** Posted before the patient's delivery reached the ledger: left at the gateway for a later run. */
  waiting: string[];
  /** Failed a check: left at the gateway, never kept. */
  refused: { participationId: string; code: ExtractVerificationCode | 'UNKNOWN_PARTICIPATION'; message: string }[];
  /**
   * The run stopped while the gateway still said `more`: its pages stopped making progress, or the
   * page limit was reached. The gateway gives no count, so only a lower bound is known.
   */
  unreached?: { reason: 'no-progress' | 'page-limit'; atLeast: number };
}

/** Pages of the mailbox one run reads at most: a run ends even if the gateway keeps answering `more`. */
const MAX_PAGES = 1000;

/**
 * Fetches the offer's extracts from the gateway and verifies each against its participation and
 * the offer's terms on the ledger; keeps the verified ones locally, then acknowledges them (so a
 * crash between the two keeps the extract and acknowledges it next time). What fails stays at the
 * gateway, and the gateway's cursor (`next`) moves past it; a gateway without a cursor is read
 * from the start again after each acknowledged page.
 * @throws ResearchError from the gateway, LedgerError from the ledger, ResearchError STATE without
 *   the offer's key, ResearchError NOT_FOUND when the offer is not on the ledger.
 */
export async function collect(d: {
  offerId: string;
  ledger: Pick<ResearchLedger, 'readParticipation' | 'readOffer'>;
  gateway: Pick<ResearchGateway, 'extracts' | 'acknowledge'>;
  state: ResearchState;
}): Promise<CollectReport> {
  const key = d.state.readKey(d.offerId);
  const offer: ResearchOfferRecord | undefined = await d.ledger.readOffer(d.offerId);
  if (!offer) throw new ResearchError('NOT_FOUND', `no offer ${d.offerId} on the ledger`);
  const report: CollectReport = {
    offerId: d.offerId,
    verified: [],
    alreadyKept: 0,
    corruptKept: [],
    waiting: [],
    refused: [],
  };
  const seen = new Set<string>();
  const cursors = new Set<string>();
  let after: string | undefined;
  let more = false;
  let stalled = false;
  for (let page = 0; page < MAX_PAGES; page++) {
    const list = await d.gateway.extracts(d.offerId, after);
    let progressed = false;
    for (const e of list.extracts) {
      if (seen.has(e.participationId)) continue;
      seen.add(e.participationId);
      const kept = d.state.keptExtract(d.offerId, e.participationId);
      if (kept === 'kept') {
        await d.gateway.acknowledge(d.offerId, e.participationId);
        report.alreadyKept++;
        progressed = true;
        continue;
      }
      if (kept === 'corrupt') report.corruptKept.push(e.participationId);
      const participation: ParticipationRecord | undefined = await d.ledger.readParticipation(e.participationId);
      if (!participation || participation.offerId !== d.offerId) {
        report.refused.push({
          participationId: e.participationId,
          code: 'UNKNOWN_PARTICIPATION',
          message: 'no such participation in this offer on the ledger',
        });
        continue;
      }
      let verified: VerifiedExtract;
      try {
        verified = verifyExtract(e.envelope, participation, offer, key.privateKeyPem);
      } catch (err) {
        if (!(err instanceof ExtractVerificationError)) throw err;
        if (err.code === 'NOT_DELIVERED') report.waiting.push(e.participationId);
        else report.refused.push({ participationId: e.participationId, code: err.code, message: err.message });
        continue;
      }
      d.state.saveExtract(verified);
      await d.gateway.acknowledge(d.offerId, e.participationId);
      report.verified.push({
        participationId: verified.participationId,
        unchanged: verified.unchanged,
        changed: verified.changed,
        roots: verified.roots,
      });
      progressed = true;
    }
    more = list.more;
    if (!more) break;
    if (list.next !== undefined) {
      // A cursor moves past what was left at the gateway; one seen before would loop.
      if (cursors.has(list.next)) {
        stalled = true;
        break;
      }
      cursors.add(list.next);
      after = list.next;
    } else if (!progressed) {
      // Without a cursor the same page comes back until something on it is acknowledged.
      stalled = true;
      break;
    } else after = undefined;
  }
  if (more) report.unreached = { reason: stalled ? 'no-progress' : 'page-limit', atLeast: 1 };
  return report;
}
