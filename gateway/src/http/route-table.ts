import { PATIENT_SIGNATURE_EXTENSION, PhrSystems, PULL_STATUS_PATH, Roles } from '@phr/common';
import type { CcdaIngestDeps } from '../ccda/ccda-ingest';
import {
  capabilityStatement,
  CCDA_OPERATION_URL,
  EVERY_OTHER_TYPE,
  VERIFY_OPERATION_URL,
  type SearchParamDeclaration,
} from '../fhir/capability-statement';
import type { PatientDirectory } from '../identity/patient-directory';
import { ACCEPTED_BUNDLE_TYPES, type IngestService } from '../ingest/ingest-service';
import { pullHandlers } from '../pull/pull-routes';
import { extractMailboxRoutes, type ExtractMailboxDeps } from '../research-mailbox';
import type { PullService } from '../pull/pull-service';
import { anyCaller, patientReaders, requesters, withRole } from './access';
import type { BodyReader } from './body';
import { FHIR_JSON } from './error-handler';
import type { FhirRoute } from './fhir-route';
import { ingestHandlers } from './ingest-handlers';
import { projectionHandlers, type ProjectionDeps } from './projection-handlers';

export interface RouteTableDeps {
  hospital: { mspId: string; displayName: string };
  /** The gateway's public base URL (no `/fhir`). */
  baseUrl: string;
  version: string;
  startedAt: string;
  limits: { maxBundleBytes: number; maxDepth: number; maxCcdaBytes: number };
  body: BodyReader;
  ingest: IngestService;
  ccda: CcdaIngestDeps;
  ledger: ProjectionDeps['ledger'];
  patients: PatientDirectory;
  /** The pull flow; absent when the ledger cannot evaluate consent (ledger mode none). */
  pulls?: PullService;
  /** The research extract mailbox (issue 16): sealed extracts for the researchers of offers collected here. */
  research?: Omit<ExtractMailboxDeps, 'body' | 'hospitalMspId'>;
}

const patientParam: SearchParamDeclaration = {
  name: 'patient',
  type: 'reference',
  documentation: `The patient's pseudonym (${PhrSystems.pseudonym}), bare or as Patient/<pseudonym>; required, once`,
};

/** A search's own form limit: the parameters of a search are small; a large form is not one. */
const LEDGER_SEARCH_FORM = { maxBytes: 16 * 1024 };
const PULL_SEARCH_FORM = { maxBytes: 64 * 1024 };

/**
 * The gateway's FHIR surface (and /ccda, which the CapabilityStatement lists as an operation): every
 * interaction once, with who may use it and what it is. fhir-router.ts makes the Express routes of
 * it and GET /fhir/metadata answers the CapabilityStatement made of it, so a route cannot be
 * served without being listed, nor listed without being served (test/route-table.test.ts).
 */
export function fhirRoutes(d: RouteTableDeps): FhirRoute[] {
  const { mspId } = d.hospital;
  const ehr = withRole([Roles.Ehr], mspId);
  const ingest = ingestHandlers(d);
  const ledger = projectionHandlers({
    ledger: d.ledger,
    patients: d.patients,
    hospitalMspId: mspId,
    baseUrl: d.baseUrl,
    body: d.body,
  });
  const pull = d.pulls ? pullHandlers({ service: d.pulls, baseUrl: d.baseUrl }) : undefined;
  let statement = '';

  const routes: FhirRoute[] = [
    {
      method: 'GET',
      path: '/fhir/metadata',
      access: anyCaller,
      answers: [{ kind: 'capabilities' }],
      handler: (_req, res) => {
        res.type(FHIR_JSON).send(statement);
      },
    },
    {
      method: 'POST',
      path: '/fhir',
      access: ehr,
      answers: [
        {
          kind: 'note',
          documentation:
            `POST a Bundle of type ${ACCEPTED_BUNDLE_TYPES.join(', ')} to the base URL (role ehr). transaction and ` +
            'collection bundles are all-or-nothing; batch entries succeed or fail one by one. Each accepted bundle is ' +
            'one delivery to one patient: one ledger commitment (a salted Merkle root), receipt in Bundle.meta.extension.',
        },
        { kind: 'system', code: 'transaction', documentation: 'all-or-nothing; also used for Bundle.type collection' },
        { kind: 'system', code: 'batch', documentation: 'entries are validated and accepted one by one' },
      ],
      handler: ingest.bundle,
    },
    {
      method: 'POST',
      path: '/ccda',
      access: ehr,
      answers: [
        {
          kind: 'operation',
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
      ],
      handler: ingest.ccda,
    },
    {
      method: 'GET',
      path: '/fhir/Consent',
      searchForm: LEDGER_SEARCH_FORM,
      access: patientReaders(mspId, 'consents or access events'),
      answers: [
        {
          kind: 'type',
          type: 'Consent',
          code: 'search-type',
          resourceDocumentation:
            "The patient's consents on the ledger (revoked and expired ones as inactive). Only the patient " +
            "(the identity that registered the pseudonym) and this hospital's admins may search.",
          searchParams: [patientParam],
        },
      ],
      handler: ledger.searchConsents,
    },
    {
      method: 'GET',
      path: '/fhir/Consent/:id',
      access: patientReaders(mspId, 'consents'),
      answers: [
        {
          kind: 'type',
          type: 'Consent',
          code: 'read',
          documentation:
            "One consent by its id (the Location of a created Consent), for the patient who granted it or this hospital's admins.",
        },
      ],
      handler: ledger.readConsent,
    },
    {
      method: 'POST',
      path: '/fhir/Consent',
      access: anyCaller,
      answers: [
        {
          kind: 'type',
          type: 'Consent',
          code: 'create',
          documentation:
            'A consent the patient signed on their device (identifier ' +
            `${PhrSystems.consentId}, signature in the extension ${PATIENT_SIGNATURE_EXTENSION}), relayed by ` +
            "any authenticated caller; the ledger grants it only if the patient's registered key signed it.",
        },
      ],
      handler: ledger.createConsent,
    },
    {
      method: 'GET',
      path: '/fhir/AuditEvent',
      searchForm: LEDGER_SEARCH_FORM,
      access: patientReaders(mspId, 'consents or access events'),
      answers: [
        {
          kind: 'type',
          type: 'AuditEvent',
          code: 'search-type',
          resourceDocumentation:
            "The patient's access events on the ledger, after IHE BALP, oldest first. Only the patient and " +
            "this hospital's admins may search. Repeated parameters AND, comma-separated values OR.",
          searchParams: [
            patientParam,
            {
              name: 'date',
              type: 'date',
              documentation: 'AuditEvent.recorded; prefixes eq (default), ge, gt, le, lt; dates without a zone are UTC',
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
      handler: ledger.searchAuditEvents,
    },
    {
      method: 'POST',
      path: '/fhir/$verify',
      access: anyCaller,
      answers: [
        {
          kind: 'operation',
          name: 'verify',
          definition: VERIFY_OPERATION_URL,
          documentation:
            'POST a Parameters with deliveryId, salt, proof (ElementProof JSON) and either element (DataElement ' +
            'JSON) or resource (with segmentId, or meta.source as the agent exports it): result (boolean) and ' +
            "message, from one ledger read of the delivery's Merkle root. Any authenticated caller.",
        },
      ],
      handler: ledger.verify,
    },
    ...(pull
      ? ([
          {
            method: 'GET',
            path: '/fhir/:type',
            searchForm: PULL_SEARCH_FORM,
            access: requesters,
            answers: [
              {
                kind: 'note',
                documentation:
                  "A search of any other resource type (by patient, and code) goes to the patient's agent, under the " +
                  "patient's consent (the pull; roles clinician, agent, researcher). The consent is decided first: " +
                  'without one in force, 403 and a denied access event the patient sees. The answer is a searchset ' +
                  "with one Binary, sealed to the requester's one-time key and signed by the patient. Headers: " +
                  'X-Answer-Key (required: a one-time X25519 public key, base64 SPKI DER), X-Purpose-Of-Use (HL7 ' +
                  'PurposeOfUse, default TREAT), X-Break-Glass: true (emergency clinicians, ETREAT), Prefer: ' +
                  'respond-async (202 at once).',
              },
              {
                kind: 'type',
                type: EVERY_OTHER_TYPE,
                code: 'search-type',
                searchParams: [
                  patientParam,
                  {
                    name: 'code',
                    type: 'token',
                    documentation:
                      'system|code, comma-separated or repeated, at most 64; without it, every element of the type ' +
                      'the consent allows',
                  },
                ],
              },
            ],
            handler: pull.search,
          },
          {
            method: 'GET',
            path: '/fhir/Patient/:id/$everything',
            access: requesters,
            answers: [
              {
                kind: 'operation',
                type: 'Patient',
                name: 'everything',
                definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
                documentation:
                  "Everything the consent allows, from the patient's agent; the id is the pseudonym. Asked (the " +
                  'same headers) and answered as the pull searches are.',
              },
            ],
            handler: pull.everything,
          },
          {
            method: 'GET',
            path: `${PULL_STATUS_PATH}:requestId`,
            access: anyCaller,
            answers: [
              {
                kind: 'note',
                documentation:
                  "A pull the patient's agent has not answered yet is answered 202 with Content-Location " +
                  `${d.baseUrl}${PULL_STATUS_PATH}{id}: GET it, as the same requester, for the answer (?wait=s ` +
                  'waits up to 25 s for it).',
              },
            ],
            handler: pull.status,
          },
        ] satisfies FhirRoute[])
      : []),
    ...(d.research ? extractMailboxRoutes({ ...d.research, hospitalMspId: mspId, body: d.body }) : []),
  ];

  statement = JSON.stringify(
    capabilityStatement(
      {
        baseUrl: `${d.baseUrl}/fhir`,
        hospitalName: d.hospital.displayName,
        softwareVersion: d.version,
        startedAt: d.startedAt,
      },
      routes.flatMap((r) => r.answers),
    ),
  );
  return routes;
}
