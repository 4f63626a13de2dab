import express, { Router, type Request, type Response } from 'express';
import type { PatientDirectory } from '../identity/patient-directory';
import type { LedgerPort } from '../ledger/ledger-port';
import {
  createConsent,
  readConsent,
  searchAuditEvents,
  searchConsents,
  verifyOperation,
  type FhirRequest,
  type FhirResult,
} from '../fhir/handlers';
import { principalOf } from './authenticate';
import { FHIR_JSON } from './error-handler';
import { fhirJsonBody } from './fhir-body';

export interface ProjectionRoutesDeps {
  ledger: Pick<LedgerPort, 'readConsent' | 'listConsents' | 'listAccessEvents' | 'readDelivery' | 'grantSignedConsent'>;
  patients: PatientDirectory;
  hospitalMspId: string;
  /** The gateway's public base URL (no `/fhir`). */
  baseUrl: string;
  /** Largest $verify body (a whole resource with its proof). */
  maxVerifyBytes?: number;
  maxDepth?: number;
}

/**
 * The ledger as FHIR (issue 5 item 6): consents and access events as searchsets of R4 Consent and
 * AuditEvent, and $verify. A thin layer: the handlers (fhir/handlers) know nothing of Express.
 */
export function projectionRouter(d: ProjectionRoutesDeps): Router {
  const router = Router();
  const fhirBaseUrl = `${d.baseUrl}/fhir`;
  const form = express.urlencoded({ extended: false, limit: '16kb', type: 'application/x-www-form-urlencoded' });
  const maxVerifyBytes = d.maxVerifyBytes ?? 4 * 1024 * 1024;
  const raw = express.raw({ type: () => true, limit: maxVerifyBytes });
  const search = { ledger: d.ledger, patients: d.patients, hospitalMspId: d.hospitalMspId, fhirBaseUrl };

  const request = (req: Request, res: Response, params: unknown, body?: unknown): FhirRequest => ({
    principal: principalOf(res),
    params: (params ?? {}) as FhirRequest['params'],
    ...(body !== undefined ? { body } : {}),
    selfUrl: `${d.baseUrl}${req.originalUrl}`,
  });
  const send = (res: Response, [outcome, resource]: FhirResult) => {
    // A searchset carries warnings as an entry with search.mode `outcome`; anything else in a header-free body.
    const body =
      outcome && resource.resourceType === 'Bundle'
        ? { ...resource, entry: [...(resource.entry ?? []), { resource: outcome, search: { mode: 'outcome' } }] }
        : resource;
    res.status(200).type(FHIR_JSON).send(JSON.stringify(body));
  };
  const postParams = (req: Request) => ({ ...(req.query as object), ...((req.body ?? {}) as object) });

  router.get('/fhir/Consent', async (req, res) => {
    send(res, await searchConsents(request(req, res, req.query), search));
  });
  router.post('/fhir/Consent/_search', form, async (req, res) => {
    send(res, await searchConsents(request(req, res, postParams(req)), search));
  });
  router.get('/fhir/Consent/:id', async (req, res) => {
    send(res, await readConsent({ ...request(req, res, {}), id: req.params.id }, search));
  });
  router.get('/fhir/AuditEvent', async (req, res) => {
    send(res, await searchAuditEvents(request(req, res, req.query), search));
  });
  router.post('/fhir/AuditEvent/_search', form, async (req, res) => {
    send(res, await searchAuditEvents(request(req, res, postParams(req)), search));
  });
  // A signed consent is a few kilobytes; anything much larger is not one.
  const consentBody = express.raw({ type: () => true, limit: 64 * 1024 });
  router.post('/fhir/Consent', consentBody, async (req, res) => {
    const body = fhirJsonBody(req, { maxBytes: 64 * 1024, maxDepth: d.maxDepth ?? 64 });
    const [, consent] = await createConsent(request(req, res, req.query, body), { ledger: d.ledger });
    res
      .status(201)
      .setHeader('Location', `${d.baseUrl}/fhir/Consent/${consent.id ?? ''}`)
      .type(FHIR_JSON)
      .send(JSON.stringify(consent));
  });
  router.post('/fhir/$verify', raw, async (req, res) => {
    const body = fhirJsonBody(req, { maxBytes: maxVerifyBytes, maxDepth: d.maxDepth ?? 64 });
    send(res, await verifyOperation(request(req, res, req.query, body), { ledger: d.ledger }));
  });
  return router;
}
