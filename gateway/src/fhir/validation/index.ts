export { assertFhirJsonContentType } from './content-type';
export { isObject, ownValue } from './element-path';
export { FhirValidator, hasErrors } from './fhir-validator';
export { DEFAULT_PARSE_LIMITS, fhirJsonText, parseFhirJson, type ParseLimits } from './parse-fhir-json';
