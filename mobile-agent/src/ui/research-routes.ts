/**
 * Research: the page (studies for this patient with their previews, history, credits, opt-out)
 * and its forms — accept, decline, opt out, opt in — the same agent calls as `phr-agent research …`.
 */
import { isRecordId } from '@phr/common';
import type { Request, Response, Router } from 'express';
import type { PageKit } from './page-kit';
import { problemPage } from './pages/problem';
import { researchPage, type ResearchPageData } from './pages/research';

const NO_SUCH_STUDY = problemPage('Study not found', 'There is no study offer with this reference.');

async function showResearchPage(kit: PageKit, req: Request, res: Response): Promise<void> {
  const { api, csrf, send, failure } = kit;
  const data: ResearchPageData = { csrfToken: csrf.value };
  let worst = 200;
  const [offers, history, credits, status] = await Promise.allSettled([
    api.researchOffers(),
    api.researchHistory(),
    api.researchCredits(),
    api.researchStatus(),
  ]);
  const problem = (reason: unknown, what: string): string => {
    const p = failure(reason, what);
    worst = Math.max(worst, p.status);
    return p.message;
  };
  if (offers.status === 'fulfilled') data.offers = offers.value;
  else data.offersProblem = problem(offers.reason, 'research offers');
  if (history.status === 'fulfilled') data.history = history.value;
  else data.historyProblem = problem(history.reason, 'research history');
  if (credits.status === 'fulfilled') data.credits = credits.value;
  else data.creditsProblem = problem(credits.reason, 'research credits');
  if (status.status === 'fulfilled') data.status = status.value;
  else data.statusProblem = problem(status.reason, 'research status');
  return send(req, res, researchPage(data), worst);
}

export function researchRoutes(router: Router, kit: PageKit): void {
  const { api, send, redirectWith, failure } = kit;

  router.get('/research', (req, res) => showResearchPage(kit, req, res));

  router.post('/research/:id/accept', async (req, res) => {
    const id = req.params.id;
    if (!isRecordId(id)) return send(req, res, NO_SUCH_STUDY, 404);
    try {
      const r = await api.acceptResearch(id);
      return redirectWith(res, '/research', {
        kind: 'success',
        title: r.alreadyDelivered ? 'You already took part in this study' : 'Shared with the study',
        lines: [
          r.alreadyDelivered
            ? 'Nothing was sent again.'
            : `${r.elementCount} de-identified record item(s) went to the study, sealed so only it can read them.`,
          `Credits paid: ${r.credits}.`,
        ],
      });
    } catch (err) {
      return redirectWith(res, '/research', {
        kind: 'error',
        title: 'The study did not get your data',
        lines: [failure(err, 'research accept').message],
      });
    }
  });

  router.post('/research/:id/decline', async (req, res) => {
    const id = req.params.id;
    if (!isRecordId(id)) return send(req, res, NO_SUCH_STUDY, 404);
    try {
      const r = await api.declineResearch(id);
      return redirectWith(res, '/research', {
        kind: 'success',
        title: 'Declined',
        lines: [
          r.placeKept
            ? 'Its consent is revoked and nothing is sent. The place you took in the study stays accepted on the ledger.'
            : 'Nothing was sent: the study cannot tell a decline from records that do not match.',
        ],
      });
    } catch (err) {
      return redirectWith(res, '/research', {
        kind: 'error',
        title: 'The study was not declined',
        lines: [failure(err, 'research decline').message],
      });
    }
  });

  for (const [path, optedOut] of [
    ['/research/opt-out', true],
    ['/research/opt-in', false],
  ] as const) {
    router.post(path, async (_req, res) => {
      try {
        await api.setResearchOptOut(optedOut);
        return redirectWith(res, '/research', {
          kind: 'success',
          title: optedOut ? 'You opted out of research' : 'You opted in to research again',
          lines: [
            optedOut
              ? 'No study can be accepted, and hospitals leave you out of their research extracts.'
              : 'You still decide on each study.',
          ],
        });
      } catch (err) {
        return redirectWith(res, '/research', {
          kind: 'error',
          title: 'Your choice was not recorded',
          lines: [failure(err, 'research opt-out').message],
        });
      }
    });
  }
}
