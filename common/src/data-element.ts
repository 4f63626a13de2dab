/**
 * The wire contract of a delivery, between the gateway that builds it and the agent that
 * verifies it. A FHIR resource becomes one segment; a segment is a list of data elements.
 */

import type { JsonNumber } from './exact-json';

export const ELEMENT_KINDS = ['coded', 'resource'] as const;
export type ElementKind = (typeof ELEMENT_KINDS)[number];

/**
 * One data element. `coded` elements are the leaves a requester can ask for (code system + code,
 * with the value, unit and time that belong to it); the one `resource` element per segment holds
 * the whole resource so the patient's copy loses nothing.
 */
export interface DataElement {
  /** Stable id: `<segmentId>.<n>`; n = 0 is the resource element. */
  id: string;
  kind: ElementKind;
  resourceType: string;
  /** Where the coded leaf sits in the resource, e.g. `Observation.code.coding[0]`. */
  path: string;
  system?: string;
  code?: string;
  display?: string;
  /**
   * A number keeps the text the sender wrote when a JavaScript number would change it (a
   * JsonNumber: `7.10` stays `7.10`); hashes, the sealed payload and every copy carry that text.
   */
  value?: string | number | boolean | JsonNumber;
  unit?: string;
  /** ISO 8601 clinical time of the resource (effective, onset, performed, ...). */
  time?: string;
  /** Only for kind `resource`. */
  resource?: Record<string, unknown>;
}

/** An element as the patient receives it: with the salt that hides it and the path to the root. */
export interface DeliveredElement {
  element: DataElement;
  /** 128-bit salt, lower-case hex. */
  salt: string;
}

export interface DeliveredSegment {
  segmentId: string;
  resourceType: string;
  /** The resource's id in the sender's bundle (its `fullUrl` when it had none). */
  sourceId: string;
  elements: DeliveredElement[];
}

/** Plaintext of a delivery envelope: everything the agent needs to rebuild and verify the root. */
export interface DeliveryPayload {
  version: 1;
  deliveryId: string;
  pseudonym: string;
  /** MSP ID of the sending hospital. */
  sender: string;
  createdAt: string;
  merkleRoot: string;
  categories: string[];
  segments: DeliveredSegment[];
}
