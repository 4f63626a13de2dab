import type { ParticipationRecord } from '@phr/common';
import { ExtractVerificationError, type ExtractVerificationCode } from './research-errors';
import type { ResearchGateway } from './research-gateway';
import type { ResearchLedger } from './research-ledger';
import type { ResearchState } from './research-state';
import { verifyExtract, type VerifiedExtract } from './verify-extract';

export interface CollectReport {
  offerId: string;
  verified: Pick<VerifiedExtract, 'participationId' | 'unchanged' | 'changed' | 'roots'>[];
  /** Kept by an earlier run whose acknowledgement did not reach the gateway: acknowledged now. */
  alreadyKept: number;
  /** Posted before the patient's delivery reached the ledger: left at the gateway for a later run. */
  waiting: string[];
  /** Failed a check: left at the gateway, never kept. */
  refused: { participationId: string; code: ExtractVerificationCode | 'UNKNOWN_PARTICIPATION'; message: string }[];
}

/** Pages of the mailbox one run reads at most: a run ends even if the gateway keeps answering `more`. */
const MAX_PAGES = 1000;

/**
 * Fetches the offer's extracts from the gateway and verifies each against its participation on
 * the ledger; keeps the verified ones locally, then acknowledges them (so a crash between the two
 * keeps the extract and acknowledges it next time). What fails stays at the gateway.
 * @throws ResearchError from the gateway, LedgerError from the ledger, ResearchError STATE without the offer's key.
 */
export async function collect(d: {
  offerId: string;
  ledger: Pick<ResearchLedger, 'readParticipation'>;
  gateway: Pick<ResearchGateway, 'extracts' | 'acknowledge'>;
  state: ResearchState;
}): Promise<CollectReport> {
  const key = d.state.readKey(d.offerId);
  const report: CollectReport = { offerId: d.offerId, verified: [], alreadyKept: 0, waiting: [], refused: [] };
  const seen = new Set<string>();
  for (let page = 0; page < MAX_PAGES; page++) {
    const list = await d.gateway.extracts(d.offerId);
    let progressed = false;
    for (const e of list.extracts) {
      if (seen.has(e.participationId)) continue;
      seen.add(e.participationId);
      if (d.state.hasExtract(d.offerId, e.participationId)) {
        await d.gateway.acknowledge(d.offerId, e.participationId);
        report.alreadyKept++;
        progressed = true;
        continue;
      }
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
        verified = verifyExtract(e.envelope, participation, key.privateKeyPem);
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
    if (!list.more || !progressed) break;
  }
  return report;
}
