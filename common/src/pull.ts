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
import type { ElementProof, MerkleStep } from './merkle';

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

/**
 * The agent's answer, version 1: every element with its whole proof, so every element of a
 * segment repeats the segment's path to the delivery root (every element of the 30 Synthea
 * deliveries: 52 MB, 41 % of it segment paths). Agents write version 2; requesters still read this.
 */
export interface PullAnswerV1 {
  version: 1;
  requestId: string;
  pseudonym: string;
  answeredAt: string;
  elements: DisclosedElement[];
}

/**
 * The agent's answer, version 2 (issue 17): each delivery's root and each segment's path to it
 * once, and each element with what is its own: salt, indexes and its path to the segment root.
 * An element's proof is that path followed by its segment's path: exactly version 1's
 * ElementProof. A path is left out where the answer holds everything it leads from: a segment
 * whose every element is in the answer (a resource with all its codes) has no element paths, its
 * root being the Merkle root of those elements' leaves; a delivery whose every segment is in the
 * answer (`$everything`) has no segment paths, its root being the Merkle root of those segments'
 * roots. Sealed as gzip of its canonical JSON (pull-answer.ts).
 */
export interface PullAnswerV2 {
  version: 2;
  requestId: string;
  pseudonym: string;
  answeredAt: string;
  /** Each delivery the elements come from, once. */
  deliveries: AnswerDelivery[];
  /** In the agent's order (newest clinical time first). */
  elements: AnswerElement[];
}

export interface AnswerDelivery {
  deliveryId: string;
  /** The root every path of this delivery leads to; checked against the ledger, not trusted. */
  merkleRoot: string;
  /**
   * Only when every segment of the delivery is in the answer: how many it has. Its segments are
   * then exactly those with segmentIndex 0 … segmentCount − 1, none with a path, and the delivery
   * root is merkleRoot of their roots in that order.
   */
  segmentCount?: number;
  /** Each segment the elements come from, once: no two with the same `segmentIndex`. */
  segments: AnswerSegment[];
}

export interface AnswerSegment {
  segmentIndex: number;
  /**
   * From the segment root to the delivery root, shared by every element of the segment; absent
   * when the delivery is in the answer whole.
   */
  segmentPath?: MerkleStep[];
  /**
   * Only when the segment is in the answer whole: how many elements it has. Its elements are then
   * exactly those with elementIndex 0 … elementCount − 1, each once, none with a path of its own,
   * and its root is merkleRoot of their leaves in that order.
   */
  elementCount?: number;
}

export interface AnswerElement {
  /** Names an entry of `deliveries`, and with `segmentIndex` one of its segments. */
  deliveryId: string;
  segmentIndex: number;
  elementIndex: number;
  /** From the element's leaf to its segment root; absent when its segment is in the answer whole. */
  elementPath?: MerkleStep[];
  element: DataElement;
  salt: string;
}

/** Either version, as a requester may receive it during the transition. */
export type PullAnswer = PullAnswerV1 | PullAnswerV2;

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

export * from './pull-answer';
