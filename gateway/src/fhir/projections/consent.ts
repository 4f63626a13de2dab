// The Consent mapping lives in @phr/common, once: the agent's signed consents use it too.
export { consentResource, granteeReference, type ConsentProjectionOptions } from '@phr/common';
