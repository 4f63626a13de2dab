import type { Request, Response } from 'express';
import { FhirError } from '@phr/common';
import { assertFhirJsonContentType, parseFhirJson } from '../fhir/validation';
import { mediaType, type BodyReader } from './body';
import { isClinicalDocument } from './xml-root';

/** Media types that name HL7 v3 XML, of which CDA is the one an EHR sends: C-CDA from the header alone. */
const CDA_TYPES = new Set(['application/hl7-v3+xml', 'application/cda+xml', 'application/hl7-cda+xml']);
/** How much of an XML body is read to see its root element (C-CDA puts long comments first). */
const SNIFF_BYTES = 64 * 1024;

export interface FhirBody {
  /** The parsed JSON. */
  json: unknown;
  /** The body as it came. */
  raw: Buffer;
}

/**
 * The request body as FHIR JSON: the content type is checked before the body is read, then the
 * size and nesting. XML is refused (415) after at most its first 64 KiB, which say whether it is
 * FHIR XML or a C-CDA document, so the answer names what was sent.
 */
export async function readFhirJsonBody(
  req: Request,
  res: Response,
  reader: BodyReader,
  limits: { maxBytes: number; maxDepth: number; exactNumbers?: boolean },
): Promise<FhirBody> {
  const contentType = req.headers['content-type'];
  const media = mediaType(contentType);
  if (CDA_TYPES.has(media)) throw ccdaNotAccepted(`the Content-Type ${media}`);
  if (media === 'application/xml' || media === 'text/xml' || media.endsWith('+xml')) {
    const prefix = await reader.peek(req, res, SNIFF_BYTES, limits.maxBytes);
    if (isClinicalDocument(prefix)) throw ccdaNotAccepted('its root element ClinicalDocument');
  }
  assertFhirJsonContentType(contentType);
  const raw = await reader.read(req, res, limits.maxBytes);
  if (raw.length === 0) {
    throw new FhirError(400, [{ severity: 'error', code: 'required', diagnostics: 'the request has no body' }]);
  }
  // a C-CDA sent as JSON by mistake is still a C-CDA, not a JSON syntax error
  const start = raw
    .subarray(0, 64)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (start.startsWith('<') && isClinicalDocument(raw.subarray(0, SNIFF_BYTES))) {
    throw ccdaNotAccepted('its root element ClinicalDocument');
  }
  return { json: parseFhirJson(raw, limits), raw };
}

function ccdaNotAccepted(recognisedBy: string): FhirError {
  return new FhirError(415, [
    {
      severity: 'error',
      code: 'not-supported',
      diagnostics:
        `this is a C-CDA document (an HL7 CDA ClinicalDocument, recognised by ${recognisedBy}), not FHIR: ` +
        '/fhir takes FHIR R4 JSON (application/fhir+json) only: post C-CDA documents to /ccda',
    },
  ]);
}
