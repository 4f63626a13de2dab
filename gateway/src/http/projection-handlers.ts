import type { Request, Response } from 'express';
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
import type { BodyReader } from './body';
import { FHIR_JSON } from './error-handler';
import { readFhirJsonBody } from './fhir-body';
import type { RouteHandler, SearchParams } from './fhir-route';

export interface ProjectionDeps {
  ledger: Pick<LedgerPort, 'readConsent' | 'listConsents' | 'listAccessEvents' | 'readDelivery' | 'grantSignedConsent'>;
  patients: PatientDirectory;
  hospitalMspId: string;
  /** The gateway's public base URL (no `/fhir`). */
  baseUrl: string;
  /** Largest $verify body (a whole resource with its proof). */
  maxVerifyBytes?: number;
  maxDepth?: number;
  /** Reads request bodies (the gateway's limits). */
  body: BodyReader;
}

export interface ProjectionHandlers {
  searchConsents: RouteHandler;
  readConsent: RouteHandler;
  createConsent: RouteHandler;
  searchAuditEvents: RouteHandler;
  verify: RouteHandler;
}

/**
 * The ledger as FHIR (issue 5 item 6) at the HTTP end: consents and access events as searchsets of
 * R4 Consent and AuditEvent, and $verify. A thin layer: the handlers (fhir/handlers) know nothing
 * of Express; the route table (route-table.ts) says where each one is and who may call it.
 */
export function projectionHandlers(d: ProjectionDeps): ProjectionHandlers {
  const fhirBaseUrl = `${d.baseUrl}/fhir`;
  const maxVerifyBytes = d.maxVerifyBytes ?? 4 * 1024 * 1024;
  const search = { ledger: d.ledger, patients: d.patients, hospitalMspId: d.hospitalMspId, fhirBaseUrl };

  const request = (req: Request, res: Response, params: SearchParams, body?: unknown): FhirRequest => ({
    principal: principalOf(res),
    params: params as FhirRequest['params'],
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

  return {
    searchConsents: async (req, res, params) => {
      send(res, await searchConsents(request(req, res, params), search));
    },
    readConsent: async (req, res) => {
      send(res, await readConsent({ ...request(req, res, {}), id: String(req.params['id']) }, search));
    },
    // A signed consent is a few kilobytes; anything much larger is not one.
    createConsent: async (req, res, params) => {
      const { json } = await readFhirJsonBody(req, res, d.body, { maxBytes: 64 * 1024, maxDepth: d.maxDepth ?? 64 });
      const [, consent] = await createConsent(request(req, res, params, json), { ledger: d.ledger });
      res
        .status(201)
        .setHeader('Location', `${d.baseUrl}/fhir/Consent/${consent.id ?? ''}`)
        .type(FHIR_JSON)
        .send(JSON.stringify(consent));
    },
    searchAuditEvents: async (req, res, params) => {
      send(res, await searchAuditEvents(request(req, res, params), search));
    },
    verify: async (req, res, params) => {
      // The resource or element is hashed as sent: its numbers keep their text (7.10 is not 7.1).
      const { json } = await readFhirJsonBody(req, res, d.body, {
        maxBytes: maxVerifyBytes,
        maxDepth: d.maxDepth ?? 64,
        exactNumbers: true,
      });
      send(res, await verifyOperation(request(req, res, params, json), { ledger: d.ledger }));
    },
  };
}
