// Moved to @phr/common so the patient's agent builds the same FHIR Consent the gateway renders.
export { Hl7Systems, PhrSystems } from '@phr/common';
