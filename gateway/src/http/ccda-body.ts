import type { Request, Response } from 'express';
import { FhirError } from '@phr/common';
import { mediaType, type BodyReader } from './body';

/** Media types a C-CDA document may be posted with (the first names CDA; the others are generic XML). */
export const CCDA_MEDIA_TYPES = ['application/cda+xml', 'application/hl7-v3+xml', 'application/xml', 'text/xml'];

/**
 * The bytes of a posted C-CDA document. The content type is checked before the body is read, and
 * the size limit while it is read (413); what the XML holds is checked on a worker (xml-guard.ts).
 *
 * @throws FhirError 415 for another content type, 400 for an empty body, 413 over `maxBytes`
 */
export async function readCcdaBody(
  req: Request,
  res: Response,
  reader: BodyReader,
  limits: { maxBytes: number },
): Promise<Buffer> {
  const media = mediaType(req.headers['content-type']);
  if (!CCDA_MEDIA_TYPES.includes(media)) {
    throw new FhirError(415, [
      {
        severity: 'error',
        code: 'not-supported',
        diagnostics:
          `/ccda takes a C-CDA document as ${CCDA_MEDIA_TYPES.join(', ')}` +
          (media ? `, not ${media.slice(0, 64)}` : ': the request has no Content-Type') +
          (media.includes('json') ? ' (FHIR JSON goes to /fhir)' : ''),
      },
    ]);
  }
  const raw = await reader.read(req, res, limits.maxBytes);
  if (raw.length === 0) {
    throw new FhirError(400, [{ severity: 'error', code: 'required', diagnostics: 'the request has no body' }]);
  }
  return raw;
}
