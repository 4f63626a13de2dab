import {
  parseExactJson,
  badRequest,
  isRecordId,
  MerkleError,
  verifyElementProof,
  type DataElement,
  type DeliveryRecord,
  type ElementProof,
} from '@phr/common';
import { segmentResource } from '../../ingest/segmenter';
import type { LedgerPort } from '../../ledger/ledger-port';
import type { FhirRequest, FhirResult } from './fhir-handler';
import { readLedger } from './ledger-errors';

export interface VerifyDeps {
  ledger: Pick<LedgerPort, 'readDelivery'>;
}

/** How the patient's agent marks an exported resource (mobile-agent/src/records/export-bundle.ts). */
const AGENT_SOURCE = /^urn:phr-ledger:delivery:([A-Za-z0-9][A-Za-z0-9._-]{7,127})#([A-Za-z0-9][A-Za-z0-9._-]*)$/;

/**
 * `POST /fhir/$verify`: does this resource or data element belong to a delivery on the ledger?
 *
 * In: a Parameters resource with `deliveryId`, `salt` (the element's 128-bit hex salt), `proof`
 * (an ElementProof as JSON) and either `element` (a DataElement as JSON) or `resource` (a whole
 * resource as the patient received it: the delivery's resource element, element 0 of its
 * segment, is rebuilt from it as the gateway built it, which needs the segment id: the
 * `segmentId` parameter, or `meta.source` as the patient's agent exports it). All strings are
 * `valueString`.
 *
 * Out: Parameters `result` (boolean) and `message`. One ledger read (the delivery's Merkle root),
 * whatever the element. Malformed input is a 400; a well-formed element that does not lead to the
 * root, or an unknown delivery, is `result: false`.
 */
export async function verifyOperation(request: FhirRequest, deps: VerifyDeps): Promise<FhirResult<fhir4.Parameters>> {
  const input = readParameters(request.body);
  const deliveryId = requireString(input, 'deliveryId');
  if (!isRecordId(deliveryId)) throw badRequest('deliveryId is not a delivery id', [paramPath(input, 'deliveryId')]);
  const salt = requireString(input, 'salt');
  const proof = parseJsonParam<ElementProof>(input, 'proof');
  const candidates = elementCandidates(input, deliveryId);

  const delivery = await readLedger<DeliveryRecord | undefined>(
    () => deps.ledger.readDelivery(deliveryId),
    () => undefined,
  );
  if (!delivery) return [undefined, answer(false, `there is no delivery ${deliveryId} on the ledger`)];

  const matched = checkProof(candidates, salt, proof, delivery.merkleRoot);
  return [
    undefined,
    matched
      ? answer(
          true,
          `the element, its salt and its proof lead to the Merkle root ${delivery.sender} committed for delivery ` +
            `${deliveryId} on ${delivery.recordedAt} (status ${delivery.status})`,
        )
      : answer(false, `the element, its salt and its proof do not lead to the Merkle root of delivery ${deliveryId}`),
  ];
}

interface Param {
  name?: unknown;
  valueString?: unknown;
  resource?: unknown;
}

function readParameters(body: unknown): Param[] {
  const b = body as { resourceType?: unknown; parameter?: unknown } | undefined;
  if (!b || typeof b !== 'object' || b.resourceType !== 'Parameters') {
    throw badRequest('the body must be a Parameters resource', ['Parameters']);
  }
  if (!Array.isArray(b.parameter)) throw badRequest('Parameters.parameter is required', ['Parameters.parameter']);
  return b.parameter as Param[];
}

function find(input: Param[], name: string): { param: Param; index: number } | undefined {
  const hits = input.flatMap((param, index) => (param?.name === name ? [{ param, index }] : []));
  if (hits.length > 1) throw badRequest(`parameter ${name} is given more than once`, [paramPath(input, name)]);
  return hits[0];
}

function paramPath(input: Param[], name: string): string {
  const i = input.findIndex((p) => p?.name === name);
  return i >= 0 ? `Parameters.parameter[${i}]` : 'Parameters.parameter';
}

function optionalString(input: Param[], name: string): string | undefined {
  const hit = find(input, name);
  if (!hit) return undefined;
  if (typeof hit.param.valueString !== 'string' || hit.param.valueString === '') {
    throw badRequest(`parameter ${name} needs a valueString`, [`Parameters.parameter[${hit.index}].value`]);
  }
  return hit.param.valueString;
}

function requireString(input: Param[], name: string): string {
  const value = optionalString(input, name);
  if (value === undefined) throw badRequest(`parameter ${name} is required`, ['Parameters.parameter']);
  return value;
}

function parseJsonParam<T>(input: Param[], name: string): T {
  const text = requireString(input, name);
  try {
    const value = parseExactJson(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as T;
  } catch {
    throw badRequest(`parameter ${name} must be a JSON object in valueString`, [paramPath(input, name)]);
  }
}

/**
 * The element(s) to check. For a resource: its resource element as the segmenter made it; when the
 * agent's export stamped `meta.source`, the resource without that stamp (what was delivered) is
 * tried first, then as given (a resource whose `meta.source` was really the sender's).
 */
function elementCandidates(input: Param[], deliveryId: string): unknown[] {
  const element = find(input, 'element');
  const resource = find(input, 'resource');
  if ((element ? 1 : 0) + (resource ? 1 : 0) !== 1) {
    throw badRequest('give exactly one of element (a DataElement as JSON) and resource', ['Parameters.parameter']);
  }
  if (element) return [parseJsonParam<DataElement>(input, 'element')];

  const given = resource?.param.resource as Record<string, unknown> | undefined;
  const at = `Parameters.parameter[${resource?.index ?? 0}].resource`;
  if (!given || typeof given !== 'object' || Array.isArray(given) || typeof given['resourceType'] !== 'string') {
    throw badRequest('parameter resource must hold a FHIR resource', [at]);
  }
  const meta = given['meta'] as Record<string, unknown> | undefined;
  const stamp = typeof meta?.['source'] === 'string' ? AGENT_SOURCE.exec(meta['source']) : null;
  const segmentId = optionalString(input, 'segmentId') ?? stamp?.[2];
  if (!segmentId) {
    throw badRequest('a resource needs its segmentId (a parameter, or meta.source as the agent exports it)', [at]);
  }
  if (stamp && stamp[1] !== deliveryId) {
    throw badRequest(`meta.source names delivery ${stamp[1]}, not ${deliveryId}`, [`${at}.meta.source`]);
  }
  const variants: Record<string, unknown>[] = [];
  if (stamp) {
    const delivered: Record<string, unknown> = { ...given };
    const restMeta: Record<string, unknown> = { ...meta };
    delete restMeta['source'];
    if (Object.keys(restMeta).length > 0) delivered['meta'] = restMeta;
    else delete delivered['meta'];
    variants.push(delivered);
  }
  variants.push(given);
  return variants.map((r) => resourceElement(r, segmentId, at));
}

function checkProof(candidates: unknown[], salt: string, proof: ElementProof, root: string): boolean {
  try {
    return candidates.some((element) => verifyElementProof(element, salt, proof, root));
  } catch (err) {
    if (err instanceof MerkleError) {
      throw badRequest(`salt or proof is malformed: ${err.message}`, ['Parameters.parameter']);
    }
    throw err;
  }
}

function resourceElement(resource: Record<string, unknown>, segmentId: string, at: string): DataElement {
  try {
    return segmentResource({ segmentId, resource, sourceId: segmentId })[0] as DataElement;
  } catch (err) {
    throw badRequest(`parameter resource cannot be segmented: ${(err as Error).message}`, [at]);
  }
}

function answer(result: boolean, message: string): fhir4.Parameters {
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'result', valueBoolean: result },
      { name: 'message', valueString: message },
    ],
  };
}
