export { assertFhirJsonContentType } from './content-type';
export { FhirValidator, hasErrors } from './fhir-validator';
export { DEFAULT_PARSE_LIMITS, parseFhirJson, type ParseLimits } from './parse-fhir-json';
