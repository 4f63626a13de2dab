import { Router, type NextFunction, type Request, type Response } from 'express';
import { isPseudonym, isRecordId, badRequest, PULL_STATUS_PATH } from '@phr/common';
import type { PatientDirectory } from '../identity/patient-directory';
import { principalOf } from '../http/authenticate';
import { bodyReader, type BodyReader } from '../http/body';
import { FHIR_JSON } from '../http/error-handler';
import { requireRequester, type PullOutcome, type PullService } from './pull-service';
import { parsePullSearch } from './pull-search';

export interface PullRoutesDeps {
  service: PullService;
  patients: PatientDirectory;
  baseUrl: string;
  /** Largest answer an agent may post (sealed elements with proofs). */
  maxReplyBytes: number;
  /** Reads request bodies (the gateway's limits); default: a reader with the default idle timeout. */
  body?: BodyReader;
}

/** Types the gateway serves from the ledger itself, not by asking the patient's agent. */
const NOT_PULLED = new Set(['Consent', 'AuditEvent', 'metadata']);
const MAX_STATUS_WAIT_MS = 25_000;

/**
 * The pull flow over HTTP: FHIR search for requesters (`/fhir/{type}`, `/fhir/{type}/_search`,
 * `/fhir/Patient/{id}/$everything`, `/fhir/_pull/{id}` for answers that come later) and the
 * agent's reply (`/mailbox/{pseudonym}/requests/{id}/answer`).
 */
export function pullRouter(d: PullRoutesDeps): Router {
  const router = Router();
  const body = d.body ?? bodyReader();
  const form = body.form(64 * 1024);
  const reply = body.json(d.maxReplyBytes);

  const send = (res: Response, outcome: PullOutcome) => {
    if (outcome.status === 202) {
      res
        .status(202)
        .setHeader('Content-Location', `${d.baseUrl}${PULL_STATUS_PATH}${outcome.requestId}`)
        .type(FHIR_JSON)
        .send(
          JSON.stringify({
            resourceType: 'OperationOutcome',
            issue: [
              {
                severity: 'information',
                code: 'informational',
                diagnostics: `the patient's agent has not answered yet; ask again at ${PULL_STATUS_PATH}${outcome.requestId}`,
              },
            ],
          }),
        );
      return;
    }
    res.status(200).type(FHIR_JSON).send(JSON.stringify(outcome.body));
  };
  const lifetime = (res: Response) => {
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    return controller.signal;
  };
  const header = (req: Request) => (name: string) => req.get(name) ?? undefined;

  router.get(`${PULL_STATUS_PATH}:requestId`, async (req, res) => {
    const requestId = String(req.params.requestId);
    if (!isRecordId(requestId)) throw badRequest('request id is malformed');
    const wait = Number(req.query['wait'] ?? 0);
    if (!Number.isFinite(wait) || wait < 0) throw badRequest('wait must be a number of seconds');
    const waitMs = Math.min(wait * 1000, MAX_STATUS_WAIT_MS);
    send(res, await d.service.status(requestId, principalOf(res), waitMs, lifetime(res)));
  });

  router.get('/fhir/Patient/:id/:operation', async (req, res, next: NextFunction) => {
    if (req.params.operation !== '$everything') return next();
    const search = parsePullSearch({
      everythingFor: String(req.params.id),
      params: req.query as Record<string, unknown>,
      header: header(req),
    });
    send(res, await d.service.search(search, principalOf(res), lifetime(res)));
  });

  router.get('/fhir/:type', async (req, res, next: NextFunction) => {
    const type = String(req.params.type);
    if (NOT_PULLED.has(type) || type.startsWith('$') || type.startsWith('_')) return next();
    const search = parsePullSearch({
      resourceType: type,
      params: req.query as Record<string, unknown>,
      header: header(req),
    });
    send(res, await d.service.search(search, principalOf(res), lifetime(res)));
  });

  // Who may pull is in the certificate: checked before the form is read.
  const requester = (req: Request, res: Response, next: NextFunction) => {
    if (NOT_PULLED.has(String(req.params.type))) return next('route');
    requireRequester(principalOf(res));
    next();
  };
  router.post('/fhir/:type/_search', requester, form, async (req, res) => {
    const type = String(req.params.type);
    const params = { ...(req.query as Record<string, unknown>), ...((req.body ?? {}) as Record<string, unknown>) };
    const search = parsePullSearch({ resourceType: type, params, header: header(req) });
    send(res, await d.service.search(search, principalOf(res), lifetime(res)));
  });

  router.post('/mailbox/:pseudonym/requests/:requestId/answer', async (req, res) => {
    const pseudonym = String(req.params.pseudonym);
    if (!isPseudonym(pseudonym)) throw badRequest('pseudonym is malformed');
    await d.patients.authorizeOwner(principalOf(res), pseudonym);
    await runParser(reply, req, res);
    const requestId = String(req.params.requestId);
    if (!isRecordId(requestId)) throw badRequest('request id is malformed');
    res.json(await d.service.reply(pseudonym, requestId, req.body));
  });

  return router;
}

function runParser(
  parser: (req: Request, res: Response, next: (err?: unknown) => void) => void,
  req: Request,
  res: Response,
): Promise<void> {
  return new Promise((resolve, reject) => parser(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
}
