/**
 * The page's routes. Every GET renders from the agent's current state; every POST changes
 * something through the AgentApi and answers with a redirect (Post/Redirect/Get), so reloading
 * never repeats a grant or revoke. Invalid input re-renders the form with what was entered.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { activityRoutes } from './activity-routes';
import { backupRoutes } from './backup-routes';
import { consentRoutes } from './consent-routes';
import { CSRF_FIELD } from './csrf';
import { pageKit, type PageKit, type UiDeps } from './page-kit';
import { problemPage } from './pages/problem';
import { recordRoutes } from './record-routes';
import { recoveryRoutes } from './recovery-routes';
import { researchRoutes } from './research-routes';
import { STYLESHEET } from './styles';

export type { UiDeps, UiLog } from './page-kit';

export function uiRoutes(deps: UiDeps): express.Router {
  const kit = pageKit(deps);
  const router = express.Router();

  router.get('/ui.css', (_req, res) => {
    res.type('css').send(STYLESHEET);
  });
  router.get('/favicon.ico', (_req, res) => {
    res.status(204).end();
  });
  router.get('/', (_req, res) => res.redirect(303, '/records'));
  router.use(postsFromThisPage(kit));

  recordRoutes(router, kit);
  activityRoutes(router, kit);
  consentRoutes(router, kit);
  backupRoutes(router, kit);
  recoveryRoutes(router, kit);
  researchRoutes(router, kit);

  router.use((req, res) => kit.send(req, res, problemPage('Page not found', 'There is no page at this address.'), 404));
  router.use(errorPage(kit));
  return router;
}

/** Every POST: a form from our own page, with our token. The body is read here so the check sees it. */
function postsFromThisPage({ csrf, log, send }: PageKit): RequestHandler {
  const readForm = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 500 });
  return (req, res, next) => {
    if (req.method !== 'POST') return next();
    readForm(req, res, (err?: unknown) => {
      if (err) return next(err);
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (csrf.matches(body[CSRF_FIELD])) return next();
      log.warn({ path: req.path }, 'ui: POST without a valid CSRF token refused');
      const refusal = problemPage(
        'This form could not be accepted',
        'The form did not come from this page, or the agent restarted since it was shown. Go back, reload the page and try again.',
      );
      send(req, res, refusal, 403).catch(next);
    });
  };
}

/** Express's own failures (an unreadable or oversized form, a handler that threw): a plain page, no stack. */
function errorPage({ send, failure }: PageKit) {
  return (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = httpStatusOf(err);
    const content =
      status === 413
        ? problemPage('The form is too large', 'Enter fewer codes and try again.')
        : status !== undefined && status < 500
          ? problemPage('The request could not be read', 'Go back, reload the page and try again.')
          : problemPage('Something went wrong', failure(err, 'page').message);
    send(req, res, content, status ?? 500).catch(() => res.status(500).type('text').send('Something went wrong.'));
  };
}

/** The 4xx status body-parser and friends attach to their errors. */
function httpStatusOf(err: unknown): number | undefined {
  const status = err && typeof err === 'object' && 'status' in err ? err.status : undefined;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}
