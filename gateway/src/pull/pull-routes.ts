import { Router, type Request, type Response } from 'express';
import { isPseudonym, isRecordId, badRequest, PULL_STATUS_PATH } from '@phr/common';
import type { PatientDirectory } from '../identity/patient-directory';
import { principalOf } from '../http/authenticate';
import { asBodyError, type BodyReader } from '../http/body';
import { FHIR_JSON } from '../http/error-handler';
import type { RouteHandler } from '../http/fhir-route';
import type { PullOutcome, PullService } from './pull-service';
import { parsePullSearch } from './pull-search';

export interface PullHandlerDeps {
  service: PullService;
  baseUrl: string;
}

export interface PullHandlers {
  /** `GET /fhir/{type}`, `POST /fhir/{type}/_search`. */
  search: RouteHandler;
  /** `GET /fhir/Patient/{id}/$everything`. */
  everything: RouteHandler;
  /** `GET /fhir/_pull/{id}`: the answer that came later. */
  status: RouteHandler;
}

const MAX_STATUS_WAIT_MS = 25_000;

/**
 * The requesters' end of the pull flow over HTTP: FHIR search, `$everything`, and the answers that
 * come later. Where they are and who may use them is in the route table (http/route-table.ts).
 */
export function pullHandlers(d: PullHandlerDeps): PullHandlers {
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

  return {
    search: async (req, res, params) => {
      const search = parsePullSearch({ resourceType: String(req.params['type']), params, header: header(req) });
      send(res, await d.service.search(search, principalOf(res), lifetime(res)));
    },
    everything: async (req, res, params) => {
      const search = parsePullSearch({ everythingFor: String(req.params['id']), params, header: header(req) });
      send(res, await d.service.search(search, principalOf(res), lifetime(res)));
    },
    status: async (req, res, params) => {
      const requestId = String(req.params['requestId']);
      if (!isRecordId(requestId)) throw badRequest('request id is malformed');
      const wait = Number(params['wait'] ?? 0);
      if (!Number.isFinite(wait) || wait < 0) throw badRequest('wait must be a number of seconds');
      const waitMs = Math.min(wait * 1000, MAX_STATUS_WAIT_MS);
      send(res, await d.service.status(requestId, principalOf(res), waitMs, lifetime(res)));
    },
  };
}

export interface PullReplyRoutesDeps {
  service: PullService;
  patients: PatientDirectory;
  /** Largest answer an agent may post (sealed elements with proofs). */
  maxReplyBytes: number;
  /** Reads request bodies (the gateway's limits). */
  body: BodyReader;
}

/** The patient's agent posts its answer (`/mailbox/{pseudonym}/requests/{id}/answer`): not FHIR. */
export function pullReplyRouter(d: PullReplyRoutesDeps): Router {
  const router = Router();
  const reply = d.body.json(d.maxReplyBytes);
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
  return new Promise((resolve, reject) =>
    parser(req, res, (err?: unknown) => (err ? reject(asBodyError(err)) : resolve())),
  );
}
