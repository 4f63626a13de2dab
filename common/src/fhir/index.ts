export * from './consent';
export * from './consent-codes';
export { fhirIdOf } from './fhir-id';
export * from './purpose-of-use';
export * from './references';
export * from './systems';
