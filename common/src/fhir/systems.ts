/**
 * Identifier and code systems of PHR Ledger's own records, as FHIR sees them. URNs name values
 * that only mean something on this ledger (pseudonyms, identity keys, record ids); the
 * `https://phr-ledger.dev/fhir/CodeSystem/...` systems are our small fixed vocabularies.
 */
export const PhrSystems = {
  /** A patient's ledger pseudonym (`pt` + 26 base32 characters). Never an MRN. */
  pseudonym: 'urn:phr-ledger:pseudonym',
  /** A Fabric identity key (`id` + 40 hex): hash of MSP ID and certificate subject and issuer. */
  identityKey: 'urn:phr-ledger:identity',
  /** A Fabric MSP ID: an organisation (hospital, the patients' organisation). */
  mspId: 'urn:phr-ledger:msp',
  consentId: 'urn:phr-ledger:consent',
  accessEventId: 'urn:phr-ledger:access-event',
  /** Same system as the delivery receipt's identifier (ingest/bundle-response.ts). */
  deliveryId: 'urn:phr-ledger:delivery',
  /** A data element id (`<segmentId>.<n>`) inside a delivery. */
  elementId: 'urn:phr-ledger:element',
  /** A research offer (Research.PostOffer), the grantee of a patient's study consent. */
  researchOffer: 'urn:phr-ledger:research-offer',
  /** Any other record id an access event names. */
  recordId: 'urn:phr-ledger:record',
  /** A Fabric transaction id. */
  transactionId: 'urn:phr-ledger:transaction',
  dataCategory: 'https://phr-ledger.dev/fhir/CodeSystem/data-category',
  role: 'https://phr-ledger.dev/fhir/CodeSystem/role',
  accessAction: 'https://phr-ledger.dev/fhir/CodeSystem/access-action',
} as const;

/** HL7 and DICOM code systems the projections use. */
export const Hl7Systems = {
  consentScope: 'http://terminology.hl7.org/CodeSystem/consentscope',
  consentAction: 'http://terminology.hl7.org/CodeSystem/consentaction',
  loinc: 'http://loinc.org',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  actReason: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
  participationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  auditEventType: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
  restfulInteraction: 'http://hl7.org/fhir/restful-interaction',
  auditEventOutcome: 'http://terminology.hl7.org/CodeSystem/audit-event-outcome',
  auditEntityType: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
  objectRole: 'http://terminology.hl7.org/CodeSystem/object-role',
  securitySourceType: 'http://terminology.hl7.org/CodeSystem/security-source-type',
  dicom: 'http://dicom.nema.org/resources/ontology/DCM',
} as const;
