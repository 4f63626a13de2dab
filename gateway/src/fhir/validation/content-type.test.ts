import { FhirError } from '@phr/common';
import { assertFhirJsonContentType } from './content-type';

function status(contentType: string | undefined): number | 'accepted' {
  try {
    assertFhirJsonContentType(contentType);
    return 'accepted';
  } catch (error) {
    if (error instanceof FhirError) return error.status;
    throw error;
  }
}

describe('assertFhirJsonContentType', () => {
  it('accepts FHIR JSON', () => {
    expect(status('application/fhir+json')).toBe('accepted');
    expect(status('application/fhir+json; charset=UTF-8; fhirVersion=4.0')).toBe('accepted');
    expect(status('application/json')).toBe('accepted');
  });

  it('answers 415 for XML with the reason, and for anything else', () => {
    expect(status('application/fhir+xml')).toBe(415);
    expect(() => assertFhirJsonContentType('application/xml')).toThrow(/XML is not supported/);
    expect(status('text/plain')).toBe(415);
    expect(status(undefined)).toBe(415);
    expect(status('application/fhir+json; charset=latin1')).toBe(415);
    expect(status('application/fhir+json; fhirVersion=5.0')).toBe(415);
  });
});
