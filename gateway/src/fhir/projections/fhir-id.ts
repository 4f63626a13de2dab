// Moved to @phr/common: one Consent mapping for the gateway's projection and signed consents.
export { fhirIdOf } from '@phr/common';
