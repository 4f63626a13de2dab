import { ACCEPTED_BUNDLE_TYPES } from '../ingest/ingest-service';
import { PATIENT_SIGNATURE_EXTENSION, PhrSystems } from '@phr/common';

export interface CapabilityOptions {
  baseUrl: string;
  hospitalName: string;
  softwareVersion: string;
  startedAt: string;
}

/** Canonical URL of the C-CDA ingest (POST /ccda). */
export const CCDA_OPERATION_URL = 'https://phr-ledger.dev/fhir/OperationDefinition/ccda-ingest';
/** Canonical URL of our $verify operation. */
export const VERIFY_OPERATION_URL = 'https://phr-ledger.dev/fhir/OperationDefinition/verify';

const patientParam = {
  name: 'patient',
  type: 'reference',
  documentation: `The patient's pseudonym (${PhrSystems.pseudonym}), bare or as Patient/<pseudonym>; required, once`,
};

/**
 * What this gateway really does, and nothing more: system-level transaction and batch (and
 * collection bundles posted the same way), FHIR JSON only, mutual TLS; search (and create, for a
 * patient-signed consent) on Consent and
 * AuditEvent, rendered from the ledger; read of one Consent; $verify. It stores no clinical
 * resources for reading back.
 */
export function capabilityStatement(o: CapabilityOptions): Record<string, unknown> {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: o.startedAt,
    publisher: o.hospitalName,
    kind: 'instance',
    software: { name: 'PHR Ledger gateway', version: o.softwareVersion },
    implementation: { description: `PHR Ledger FHIR gateway of ${o.hospitalName}`, url: o.baseUrl },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        documentation:
          `POST a Bundle of type ${ACCEPTED_BUNDLE_TYPES.join(', ')} to the base URL. transaction and collection bundles ` +
          'are all-or-nothing; batch entries succeed or fail one by one. Each accepted bundle is one delivery to one ' +
          'patient: one ledger commitment (a salted Merkle root), receipt in Bundle.meta.extension.',
        security: {
          cors: false,
          service: [
            {
              coding: [
                { system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'Certificates' },
              ],
              text: 'Mutual TLS with a client certificate issued by the hospital Fabric CA (role in the phr.role attribute)',
            },
          ],
          description: 'Every request needs a client certificate; the role attribute decides what it may do.',
        },
        resource: [
          {
            type: 'Consent',
            documentation:
              "The patient's consents on the ledger (revoked and expired ones as inactive). Only the patient " +
              "(the identity that registered the pseudonym) and this hospital's admins may search.",
            interaction: [
              { code: 'search-type' },
              {
                code: 'read',
                documentation:
                  "One consent by its id (the Location of a created Consent), for the patient who granted it or this hospital's admins.",
              },
              {
                code: 'create',
                documentation:
                  'A consent the patient signed on their device (identifier ' +
                  `${PhrSystems.consentId}, signature in the extension ${PATIENT_SIGNATURE_EXTENSION}), relayed by ` +
                  "any authenticated caller; the ledger grants it only if the patient's registered key signed it.",
              },
            ],
            searchParam: [patientParam],
          },
          {
            type: 'AuditEvent',
            documentation:
              "The patient's access events on the ledger, after IHE BALP, oldest first. Only the patient and " +
              "this hospital's admins may search. Repeated parameters AND, comma-separated values OR.",
            interaction: [{ code: 'search-type' }],
            searchParam: [
              patientParam,
              {
                name: 'date',
                type: 'date',
                documentation:
                  'AuditEvent.recorded; prefixes eq (default), ge, gt, le, lt; dates without a zone are UTC',
              },
              {
                name: 'agent',
                type: 'token',
                documentation:
                  `An identity key (${PhrSystems.identityKey}) or MSP ID (${PhrSystems.mspId}) of the requester ` +
                  'or of the identity that wrote the event; system|value also accepted',
              },
              {
                name: 'action',
                type: 'token',
                documentation: 'AuditEvent.action (C, R, U, D, E) or a ledger action (push, pull, backup, ...)',
              },
            ],
          },
        ],
        interaction: [
          { code: 'transaction', documentation: 'all-or-nothing; also used for Bundle.type collection' },
          { code: 'batch', documentation: 'entries are validated and accepted one by one' },
        ],
        operation: [
          {
            name: 'ccda',
            definition: CCDA_OPERATION_URL,
            documentation:
              'POST a C-CDA R2.1 ClinicalDocument (application/cda+xml, application/hl7-v3+xml, application/xml or ' +
              'text/xml) to /ccda on this gateway (beside /fhir, role ehr): converted into FHIR R4 by @medplum/ccda, ' +
              'then ingested as a transaction (same validation, patient resolution by the MRN in ' +
              'recordTarget/patientRole/id, commitment and delivery); the original document is delivered too, as a ' +
              'DocumentReference with a Provenance from every converted resource. Answered with a ' +
              'transaction-response Bundle; what the converter left out is listed as warnings in the ' +
              "DocumentReference entry's response.outcome. DTDs and entity declarations are refused.",
          },
          {
            name: 'verify',
            definition: VERIFY_OPERATION_URL,
            documentation:
              'POST a Parameters with deliveryId, salt, proof (ElementProof JSON) and either element (DataElement ' +
              'JSON) or resource (with segmentId, or meta.source as the agent exports it): result (boolean) and ' +
              "message, from one ledger read of the delivery's Merkle root. Any authenticated caller.",
          },
        ],
      },
    ],
  };
}
