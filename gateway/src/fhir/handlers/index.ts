export type { FhirHandler, FhirRequest, FhirResult } from './fhir-handler';
export { AUDIT_EVENT_SEARCH_PARAMS, searchAuditEvents, type AuditEventSearchDeps } from './search-audit-event';
export { CONSENT_SEARCH_PARAMS, searchConsents, type ConsentSearchDeps } from './search-consent';
export { verifyOperation, type VerifyDeps } from './verify';
export { createConsent, type ConsentCreateDeps } from './create-consent';
export { readConsent, type ConsentReadDeps } from './read-consent';
