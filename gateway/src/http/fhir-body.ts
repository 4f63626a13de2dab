import type { Request } from 'express';
import { FhirError } from '@phr/common';
import { assertFhirJsonContentType, parseFhirJson } from '../fhir/validation';

/** The request body as FHIR JSON, after the content type, size and nesting checks. */
export function fhirJsonBody(req: Request, limits: { maxBytes: number; maxDepth: number }): unknown {
  assertFhirJsonContentType(req.headers['content-type']);
  const body: unknown = req.body;
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw new FhirError(400, [{ severity: 'error', code: 'required', diagnostics: 'the request has no body' }]);
  }
  return parseFhirJson(body, limits);
}
