import { FhirError } from '@phr/common';

/**
 * Which request bodies the gateway reads: FHIR JSON only. FHIR XML is refused with 415 because no
 * maintained Node library converts R4 XML to JSON without losing data: measured on `fhir` (FHIR.js
 * 4.12), 4,307 of 6,564 Synthea resources came back from an XML round trip with decimals turned
 * into strings, and on the invalid XML test cases it silently dropped unknown elements and
 * attributes, kept only one of two repeated `subject`s, accepted an undeclared `&reg;` entity and
 * turned XML comments into DSTU2 `fhir_comments`; validating its output would accept bad data.
 */

const JSON_TYPES = new Set(['application/fhir+json', 'application/json', 'application/json+fhir']);
const XML_TYPES = new Set(['application/fhir+xml', 'application/xml', 'text/xml', 'application/xml+fhir']);

/** Throws FhirError 415 unless `contentType` (the raw header) is FHIR JSON in UTF-8. */
export function assertFhirJsonContentType(contentType: string | undefined): void {
  if (contentType === undefined || contentType.trim() === '') {
    throw new FhirError(415, 'Content-Type is required: send application/fhir+json');
  }
  const [mediaType = '', ...parameters] = contentType.split(';').map((p) => p.trim().toLowerCase());
  if (XML_TYPES.has(mediaType)) {
    throw new FhirError(
      415,
      'FHIR XML is not supported: send application/fhir+json (no maintained converter preserves R4 XML faithfully)',
    );
  }
  if (!JSON_TYPES.has(mediaType)) {
    throw new FhirError(415, `Content-Type ${mediaType} is not supported: send application/fhir+json`);
  }
  for (const parameter of parameters) {
    const [name, rawValue = ''] = parameter.split('=').map((s) => s.trim());
    const value = rawValue.replace(/^"(.*)"$/, '$1');
    if (name === 'charset' && value !== 'utf-8' && value !== 'utf8') {
      throw new FhirError(415, `charset ${value} is not supported: FHIR JSON is UTF-8`);
    }
    if (name === 'fhirversion' && value !== '4.0' && !value.startsWith('4.0.')) {
      throw new FhirError(415, `fhirVersion ${value} is not supported: this gateway accepts FHIR R4 (4.0)`);
    }
  }
}
