import { Router, type Request, type RequestHandler, type Response } from 'express';
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
import { requireReaderRole } from '../fhir/handlers/patient-reader';
import { principalOf } from './authenticate';
import { bodyReader, type BodyReader } from './body';
import { FHIR_JSON } from './error-handler';
import { readFhirJsonBody } from './fhir-body';

export interface ProjectionRoutesDeps {
  ledger: Pick<LedgerPort, 'readConsent' | 'listConsents' | 'listAccessEvents' | 'readDelivery' | 'grantSignedConsent'>;
  patients: PatientDirectory;
  hospitalMspId: string;
  /** The gateway's public base URL (no `/fhir`). */
  baseUrl: string;
  /** Largest $verify body (a whole resource with its proof). */
  maxVerifyBytes?: number;
  maxDepth?: number;
  /** Reads request bodies (the gateway's limits); default: a reader with the default idle timeout. */
  body?: BodyReader;
}

/**
 * The ledger as FHIR (issue 5 item 6): consents and access events as searchsets of R4 Consent and
 * AuditEvent, and $verify. A thin layer: the handlers (fhir/handlers) know nothing of Express.
 */
export function projectionRouter(d: ProjectionRoutesDeps): Router {
  const router = Router();
  const fhirBaseUrl = `${d.baseUrl}/fhir`;
  const body = d.body ?? bodyReader();
  const form = body.form(16 * 1024);
  const maxVerifyBytes = d.maxVerifyBytes ?? 4 * 1024 * 1024;
  // Consents and access events are read by the patient or this hospital's admin: checked before the form is read.
  const reader: RequestHandler = (_req, res, next) => {
    requireReaderRole(principalOf(res), d.hospitalMspId, 'consents or access events');
    next();
  };
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
  router.post('/fhir/Consent/_search', reader, form, async (req, res) => {
    send(res, await searchConsents(request(req, res, postParams(req)), search));
  });
  router.get('/fhir/Consent/:id', async (req, res) => {
    send(res, await readConsent({ ...request(req, res, {}), id: req.params.id }, search));
  });
  router.get('/fhir/AuditEvent', async (req, res) => {
    send(res, await searchAuditEvents(request(req, res, req.query), search));
  });
  router.post('/fhir/AuditEvent/_search', reader, form, async (req, res) => {
    send(res, await searchAuditEvents(request(req, res, postParams(req)), search));
  });
  // Any authenticated caller may relay a signed consent or ask $verify (the certificate was checked
  // before any route). A signed consent is a few kilobytes; anything much larger is not one.
  router.post('/fhir/Consent', async (req, res) => {
    const { json } = await readFhirJsonBody(req, res, body, { maxBytes: 64 * 1024, maxDepth: d.maxDepth ?? 64 });
    const [, consent] = await createConsent(request(req, res, req.query, json), { ledger: d.ledger });
    res
      .status(201)
      .setHeader('Location', `${d.baseUrl}/fhir/Consent/${consent.id ?? ''}`)
      .type(FHIR_JSON)
      .send(JSON.stringify(consent));
  });
  router.post('/fhir/$verify', async (req, res) => {
    // The resource or element is hashed as sent: its numbers keep their text (7.10 is not 7.1).
    const { json } = await readFhirJsonBody(req, res, body, {
      maxBytes: maxVerifyBytes,
      maxDepth: d.maxDepth ?? 64,
      exactNumbers: true,
    });
    send(res, await verifyOperation(request(req, res, req.query, json), { ledger: d.ledger }));
  });
  return router;
}
