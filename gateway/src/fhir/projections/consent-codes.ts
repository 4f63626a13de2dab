// Moved to @phr/common: one Consent mapping for the gateway's projection and signed consents.
export { CONSENT_ACTION, CONSENT_CATEGORIES, CONSENT_POLICY_RULE, CONSENT_SCOPE, GRANTEE_ROLE } from '@phr/common';
