// Moved to @phr/common: one Consent mapping for the gateway's projection and signed consents.
export { BREAK_THE_GLASS, PURPOSE_OF_USE_DISPLAYS, purposeOfUseCoding, purposeOfUseConcept } from '@phr/common';
