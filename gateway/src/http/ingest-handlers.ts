import { ingestCcda, type CcdaIngestDeps } from '../ccda/ccda-ingest';
import type { IngestService } from '../ingest/ingest-service';
import { principalOf } from './authenticate';
import type { BodyReader } from './body';
import { readCcdaBody } from './ccda-body';
import { FHIR_JSON } from './error-handler';
import { readFhirJsonBody } from './fhir-body';
import type { RouteHandler } from './fhir-route';

export interface IngestHandlerDeps {
  /** The gateway's public base URL (no `/fhir`). */
  baseUrl: string;
  ingest: IngestService;
  ccda: CcdaIngestDeps;
  body: BodyReader;
  limits: { maxBundleBytes: number; maxDepth: number; maxCcdaBytes: number };
}

/** The push flow at the HTTP end: a FHIR Bundle, or a C-CDA document converted into one. */
export function ingestHandlers(d: IngestHandlerDeps): { bundle: RouteHandler; ccda: RouteHandler } {
  return {
    bundle: async (req, res) => {
      const { json: bundle, raw } = await readFhirJsonBody(req, res, d.body, {
        maxBytes: d.limits.maxBundleBytes,
        maxDepth: d.limits.maxDepth,
      });
      const result = await d.ingest.ingest({ bundle, body: raw }, principalOf(res));
      if (result.deliveryId) res.setHeader('Content-Location', `${d.baseUrl}/deliveries/${result.deliveryId}`);
      res.status(result.status).type(FHIR_JSON).send(JSON.stringify(result.body));
    },
    // Converted into FHIR, then the same pipeline, answered as a transaction.
    ccda: async (req, res) => {
      const raw = await readCcdaBody(req, res, d.body, { maxBytes: d.limits.maxCcdaBytes });
      const result = await ingestCcda(d.ccda, raw, principalOf(res));
      if (result.deliveryId) res.setHeader('Content-Location', `${d.baseUrl}/deliveries/${result.deliveryId}`);
      res.status(result.status).type(FHIR_JSON).send(JSON.stringify(result.body));
    },
  };
}
