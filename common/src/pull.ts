/**
 * The wire contract of the pull flow (SPEC flow 3, seed 003 "Pull" with DSR and DSV), between the
 * requester's client, the gateway that relays, and the patient's agent that answers. No field of
 * a PullRequest holds health data: it names codes and categories asked for, never values.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import type { DataElement } from './data-element';
import type { RecipientKey } from './envelope';
import type { CodeRef, ConsentScope, IdentityRef, PurposeOfUse } from './ledger-model';
import type { ElementProof } from './merkle';

/** What a requester searches for, normalized. `resourceTypes` empty with `everything` = $everything. */
export interface PullQuery {
  resourceTypes: string[];
  codes: CodeRef[];
  everything: boolean;
}

/** What the gateway relays to the patient's agent: sealed to the patient, signed by the gateway. */
export interface PullRequest {
  version: 1;
  requestId: string;
  pseudonym: string;
  /** MSP ID of the relaying hospital gateway. */
  gateway: string;
  /** Who asks, from their certificate (never from the request). */
  requester: IdentityRef & { emergency: boolean };
  purpose: PurposeOfUse;
  query: PullQuery;
  /** What the gateway's consent evaluation permitted; under break-glass, everything asked. */
  permitted: ConsentScope;
  breakGlass: boolean;
  /** Consents that permitted it (empty under break-glass). */
  consentIds: string[];
  /** SHA-256 hex of the salted canonical query (seed 003 SC-3), as written to the access log. */
  queryHash: string;
  /** The requester's one-time public key: the answer is sealed to it, so the gateway never reads it. */
  answerKey: RecipientKey;
  createdAt: string;
}

/** One disclosed element (DSR) with its proof (DSV): salt and path, never its siblings' contents. */
export interface DisclosedElement {
  deliveryId: string;
  /** The root the proof leads to; the requester checks it against the ledger, not against this. */
  merkleRoot: string;
  element: DataElement;
  salt: string;
  proof: ElementProof;
}

/** The agent's answer: sealed to `answerKey`, signed by the patient's own identity. */
export interface PullAnswer {
  version: 1;
  requestId: string;
  pseudonym: string;
  answeredAt: string;
  elements: DisclosedElement[];
}

/** How a gateway wraps a sealed answer in FHIR: the pull-receipt extension and one Binary. */
export const PULL_RECEIPT_EXTENSION_URL = 'https://phr-ledger.dev/fhir/StructureDefinition/pull-receipt';
export const PULL_ANSWER_CONTENT_TYPE = 'application/vnd.phr-ledger.pull-answer+json';
/** Where a pending request is polled: `/fhir/_pull/<requestId>`. */
export const PULL_STATUS_PATH = '/fhir/_pull/';
/** A FHIR resource type name, as a pull search names it. */
export const RESOURCE_TYPE_PATTERN = /^[A-Z][A-Za-z]{1,63}$/;

/** The mailbox kind the gateway uses for relayed requests. */
export const PULL_REQUEST_KIND = 'pull-request';

/** AAD of a sealed PullRequest and of a sealed PullAnswer. */
export const pullRequestAad = (r: { requestId: string; pseudonym: string; gateway: string }) => ({
  requestId: r.requestId,
  pseudonym: r.pseudonym,
  sender: r.gateway,
});
export const pullAnswerAad = (r: { requestId: string; pseudonym: string; requesterId: string }) => ({
  requestId: r.requestId,
  pseudonym: r.pseudonym,
  requester: r.requesterId,
});

/** SC-3: the query hashed with a salt, so the ledger shows that a query happened, not what it was. */
export function pullQueryHash(query: PullQuery, purpose: PurposeOfUse, salt: string): string {
  return createHash('sha256').update(canonicalJson({ query, purpose, salt })).digest('hex');
}
