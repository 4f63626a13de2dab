/**
 * The page's routes. Every GET renders from the agent's current state; every POST changes
 * something through the AgentApi and answers with a redirect (Post/Redirect/Get), so reloading
 * never repeats a grant or revoke. Invalid input re-renders the form with what was entered.
 */
import { isRecordId } from '@phr/common';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AgentApi, AgentStatus } from '../agent-api';
import type { VaultDelivery } from '../vault/vault-types';
import {
  agentFieldError,
  EMPTY_GRANT_FORM,
  readGrantForm,
  validateGrantForm,
  type GrantFormValues,
} from './consent-form';
import { CSRF_FIELD, type CsrfToken } from './csrf';
import { friendlyError } from './errors';
import type { Flash, FlashStore } from './flash';
import type { FieldError } from './form-errors';
import { granteeText, localDateInput, scopeText } from './format';
import { layout, SECTIONS, type PageContent } from './layout';
import { accessLogPage } from './pages/access-log';
import { consentsPage } from './pages/consents';
import { notificationsPage } from './pages/notifications';
import { problemPage } from './pages/problem';
import { recordPage } from './pages/record';
import { recordsPage } from './pages/records';
import { revokeConsentPage } from './pages/revoke-consent';
import { exportQuery, parseRecordsFilter, readRecordsFilter, searchRecords } from './records-search';
import { STYLESHEET } from './styles';
import { syncFlash } from './sync-report';
import { searchTrends } from './trends/trend-search';

/** The logger shape the UI uses (pino's, and the agent's Logger, fit it). Never given health data. */
export interface UiLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface UiDeps {
  api: AgentApi;
  csrf: CsrfToken;
  flashes: FlashStore;
  log: UiLog;
}

type Hospitals = AgentStatus['hospitals'];

export function uiRoutes({ api, csrf, flashes, log }: UiDeps): express.Router {
  const router = express.Router();

  /** The header's unread count and the hospitals' names; the page still renders if the agent cannot say. */
  async function agentStatus(): Promise<AgentStatus | undefined> {
    try {
      return await api.status();
    } catch (err) {
      log.warn({ err: describe(err) }, 'ui: agent status unavailable');
      return undefined;
    }
  }

  /** This page's own address without the one-time notice id: where the header's sync button returns. */
  const selfPath = (req: Request): string => {
    const url = new URL(req.originalUrl, 'http://ui.invalid');
    url.searchParams.delete('notice');
    return url.pathname + url.search;
  };

  async function send(
    req: Request,
    res: Response,
    content: PageContent,
    status = 200,
    known?: AgentStatus,
  ): Promise<void> {
    const agent = known ?? (await agentStatus());
    const flash = flashes.take(req.query.notice);
    const body = layout(
      {
        csrfToken: csrf.value,
        path: selfPath(req),
        ...(agent ? { unread: agent.unreadNotifications } : {}),
        ...(flash ? { flash } : {}),
      },
      content,
    );
    res.status(status).type('html').send(body);
  }

  const redirectWith = (res: Response, to: string, flash: Flash, fragment = ''): void => {
    res.redirect(303, `${to}?notice=${encodeURIComponent(flashes.put(flash))}${fragment}`);
  };

  router.get('/ui.css', (_req, res) => {
    res.type('css').send(STYLESHEET);
  });
  router.get('/favicon.ico', (_req, res) => {
    res.status(204).end();
  });
  router.get('/', (_req, res) => res.redirect(303, '/records'));

  // Every POST: a form from our own page, with our token. The body is read here so the check sees it.
  const readForm = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 500 });
  router.use((req, res, next) => {
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
  });

  router.get('/records', async (req, res) => {
    const filter = readRecordsFilter(req.query as Record<string, unknown>);
    const parsed = parseRecordsFilter(filter);
    const agent = await agentStatus();
    const search = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== '')).toString();
    const exportHref = `/export.json${search ? `?${search}` : ''}`;
    if (parsed.errors.length > 0) {
      return send(req, res, recordsPage({ filter, errors: parsed.errors, senders: new Map(), exportHref }), 400, agent);
    }
    try {
      const [result, deliveries, trends] = await Promise.all([
        searchRecords(api, parsed),
        api.deliveries(),
        searchTrends(api, parsed),
      ]);
      const senders = senderNames(deliveries, agent);
      return send(req, res, recordsPage({ filter, errors: [], result, trends, senders, exportHref }), 200, agent);
    } catch (err) {
      const problem = failure(err, 'records');
      return send(
        req,
        res,
        recordsPage({ filter, errors: [], senders: new Map(), problem: problem.message, exportHref }),
        problem.status,
        agent,
      );
    }
  });

  router.get('/records/:deliveryId/:segmentId', async (req, res) => {
    const { deliveryId, segmentId } = req.params;
    const agent = await agentStatus();
    const notFound = () =>
      send(
        req,
        res,
        problemPage('Record not found', 'There is no record at this address on this device; see your records.'),
        404,
        agent,
      );
    if (!isRecordId(deliveryId) || !isRecordId(segmentId)) return notFound();
    try {
      const [rows, deliveries] = await Promise.all([api.records({ deliveryId, kind: 'resource' }), api.deliveries()]);
      const row = rows.find((r) => r.segmentId === segmentId);
      if (!row) return notFound();
      const sender = senderNames(deliveries, agent).get(deliveryId);
      return send(req, res, recordPage({ row, ...(sender !== undefined ? { sender } : {}) }), 200, agent);
    } catch (err) {
      const problem = failure(err, 'record');
      return send(req, res, problemPage('This record could not be shown', problem.message), problem.status, agent);
    }
  });

  router.get('/export.json', async (req, res) => {
    const parsed = parseRecordsFilter(readRecordsFilter(req.query as Record<string, unknown>));
    if (parsed.errors.length > 0) {
      return send(
        req,
        res,
        problemPage('The export could not be made', parsed.errors.map((e) => e.message).join('. ')),
        400,
      );
    }
    try {
      const bundle = await api.exportBundle(exportQuery(parsed));
      res.set({
        'Content-Type': 'application/fhir+json; charset=utf-8',
        'Content-Disposition': `attachment; filename="health-records-${localDateInput(new Date())}.json"`,
      });
      res.send(JSON.stringify(bundle, null, 2));
    } catch (err) {
      const problem = failure(err, 'export');
      return send(req, res, problemPage('The export could not be made', problem.message), problem.status);
    }
  });

  router.get('/access-log', async (req, res) => {
    try {
      return send(req, res, accessLogPage(await api.accessLog()));
    } catch (err) {
      const problem = failure(err, 'access log');
      return send(req, res, accessLogPage(undefined, problem.message), problem.status);
    }
  });

  async function showConsents(
    req: Request,
    res: Response,
    form: GrantFormValues,
    errors: FieldError[],
    status: number,
    grantProblem?: string,
  ): Promise<void> {
    const agent = await agentStatus();
    const base = { hospitals: agent?.hospitals ?? [], now: Date.now(), form, errors, csrfToken: csrf.value };
    const extra = grantProblem !== undefined ? { grantProblem } : {};
    try {
      const consents = await api.consents();
      return send(req, res, consentsPage({ ...base, ...extra, consents }), status, agent);
    } catch (err) {
      const problem = failure(err, 'consents');
      return send(
        req,
        res,
        consentsPage({ ...base, ...extra, problem: problem.message }),
        Math.max(status, problem.status),
        agent,
      );
    }
  }

  router.get('/consents', (req, res) => showConsents(req, res, EMPTY_GRANT_FORM, [], 200));

  router.post('/consents', async (req, res) => {
    const form = readGrantForm(req.body as Record<string, unknown>);
    const checked = validateGrantForm(form, new Date());
    if (!checked.ok) return showConsents(req, res, form, checked.errors, 422);
    let granted;
    try {
      granted = await api.grantConsent(checked.request);
    } catch (err) {
      const inPlace = agentFieldError(err);
      if (inPlace) return showConsents(req, res, form, [inPlace], 422);
      const problem = failure(err, 'grant');
      return showConsents(req, res, form, [], problem.status, problem.message);
    }
    const hospitals = (await agentStatus())?.hospitals ?? [];
    redirectWith(
      res,
      '/consents',
      {
        kind: 'success',
        title: 'Consent given',
        lines: [
          `${granteeText(granted.grantee, hospitals)} may now read: ${scopeText(granted.scope)}. The ledger has recorded it.`,
        ],
      },
      `#consent-${granted.consentId}`,
    );
  });

  router.get('/consents/:id/revoke', async (req, res) => {
    const id = req.params.id;
    const agent = await agentStatus();
    try {
      const consent = isRecordId(id) ? (await api.consents()).find((c) => c.consentId === id) : undefined;
      if (!consent)
        return send(
          req,
          res,
          problemPage(
            'Consent not found',
            'There is no consent with this reference. It may have been removed from the list; see your consents.',
          ),
          404,
          agent,
        );
      if (consent.status === 'revoked') {
        return redirectWith(res, '/consents', { kind: 'success', title: 'This consent was already revoked' });
      }
      return send(req, res, revokeConsentPage(consent, hospitalsOf(agent), csrf.value, Date.now()), 200, agent);
    } catch (err) {
      const problem = failure(err, 'consents');
      return send(req, res, problemPage('Your consents could not be shown', problem.message), problem.status, agent);
    }
  });

  router.post('/consents/:id/revoke', async (req, res) => {
    const id = req.params.id;
    if (!isRecordId(id))
      return send(req, res, problemPage('Consent not found', 'There is no consent with this reference.'), 404);
    try {
      const revoked = await api.revokeConsent(id);
      const who = granteeText(revoked.grantee, hospitalsOf(await agentStatus()));
      return redirectWith(res, '/consents', {
        kind: 'success',
        title: 'Consent revoked',
        lines: [`${who} can no longer read ${scopeText(revoked.scope)}. The ledger has recorded the revocation.`],
      });
    } catch (err) {
      const problem = failure(err, 'revoke');
      return send(req, res, problemPage('The consent was not revoked', problem.message), problem.status);
    }
  });

  router.get('/notifications', async (req, res) => {
    try {
      return send(req, res, notificationsPage(await api.notifications(), csrf.value));
    } catch (err) {
      const problem = failure(err, 'notifications');
      return send(req, res, notificationsPage(undefined, csrf.value, problem.message), problem.status);
    }
  });

  router.post('/notifications/read', async (req, res) => {
    try {
      await api.markNotificationsRead();
      return redirectWith(res, '/notifications', { kind: 'success', title: 'All notifications marked as read' });
    } catch (err) {
      const problem = failure(err, 'notifications');
      return send(req, res, notificationsPage(undefined, csrf.value, problem.message), problem.status);
    }
  });

  router.post('/sync', async (req, res) => {
    const back = returnPath((req.body as Record<string, unknown>).return);
    let flash: Flash;
    try {
      flash = syncFlash(await api.sync());
    } catch (err) {
      flash = { kind: 'error', title: 'Could not check for new records', lines: [failure(err, 'sync').message] };
    }
    const [path, search = ''] = back.split('?');
    const params = new URLSearchParams(search);
    params.set('notice', flashes.put(flash));
    res.redirect(303, `${path}?${params.toString()}`);
  });

  router.use((req, res) => send(req, res, problemPage('Page not found', 'There is no page at this address.'), 404));

  // Express's own failures (an unreadable or oversized form, a handler that threw): a plain page, no stack.
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = httpStatusOf(err);
    const content =
      status === 413
        ? problemPage('The form is too large', 'Enter fewer codes and try again.')
        : status !== undefined && status < 500
          ? problemPage('The request could not be read', 'Go back, reload the page and try again.')
          : problemPage('Something went wrong', failure(err, 'page').message);
    send(req, res, content, status ?? 500).catch(() => res.status(500).type('text').send('Something went wrong.'));
  });

  return router;

  /** Logs the real error (never shown) and returns what the patient is told. */
  function failure(err: unknown, what: string): { status: number; message: string } {
    const friendly = friendlyError(err);
    const entry = { what, status: friendly.status, err: describe(err) };
    if (friendly.status >= 500) log.error(entry, 'ui: agent call failed');
    else log.warn(entry, 'ui: agent refused');
    return friendly;
  }
}

function hospitalsOf(agent: AgentStatus | undefined): Hospitals {
  return agent?.hospitals ?? [];
}

/** Delivery id → the hospital that sent it, by name where the agent knows it. */
function senderNames(deliveries: readonly VaultDelivery[], agent: AgentStatus | undefined): Map<string, string> {
  const names = new Map(hospitalsOf(agent).map((h) => [h.mspId, h.name]));
  return new Map(deliveries.map((d) => [d.deliveryId, names.get(d.sender) ?? d.sender]));
}

/** A record's own page: "Check for new records" there comes back to it. */
const RECORD_PATH = /^\/records\/[A-Za-z0-9._-]{8,128}\/[A-Za-z0-9._-]{8,128}$/;

/** Only our own sections may be a way back: no open redirect through the sync form. */
function returnPath(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//')) return '/records';
  const url = new URL(value, 'http://ui.invalid');
  if (url.origin !== 'http://ui.invalid') return '/records';
  const allowed = SECTIONS.some((s) => url.pathname === s.path) || RECORD_PATH.test(url.pathname);
  url.searchParams.delete('notice');
  return allowed ? url.pathname + url.search : '/records';
}

/** The 4xx status body-parser and friends attach to their errors. */
function httpStatusOf(err: unknown): number | undefined {
  const status = err && typeof err === 'object' && 'status' in err ? err.status : undefined;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

function describe(err: unknown): { message: string; code?: string } {
  const message = err instanceof Error ? err.message : String(err);
  const code = err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  return code !== undefined ? { message, code } : { message };
}
