export { auditEventResource, QUERY_HASH_DESCRIPTION } from './audit-event';
export * from './audit-event-codes';
export { consentResource, granteeReference, type ConsentProjectionOptions } from './consent';
export * from './consent-codes';
export { fhirIdOf } from './fhir-id';
export * from './purpose-of-use';
export * from './references';
export { searchsetBundle } from './searchset';
export * from './systems';
