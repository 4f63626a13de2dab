/**
 * A pull answer's bytes and version 2's shape: the agent writes it (compactPullAnswer,
 * encodePullAnswer), the requester reads it back (decodePullAnswer, answerElements) and judges
 * every element against the ledger. Only the shape is checked here; the proofs are not.
 */
import { promisify } from 'node:util';
import { gunzipSync, gzip, gzipSync } from 'node:zlib';
import { canonicalJson } from './canonical-json';
import { elementLeafHash, MerkleError, MerkleTree, rootFromPath, type MerkleStep } from './merkle';
import type {
  AnswerDelivery,
  AnswerElement,
  AnswerSegment,
  DisclosedElement,
  PullAnswer,
  PullAnswerV1,
  PullAnswerV2,
} from './pull';

/**
 * Most a sealed answer may inflate to. A sealed answer reaches the requester through the gateway,
 * which takes at most 32 MiB (`limits.maxBundleBytes`, base64 and all: ~24 MB of gzip); an answer
 * inflates about 9 times (2.2 MB to 20 MB in bench/pull), to ~220 MB. Past this, a few kilobytes
 * of gzip could make the requester allocate gigabytes.
 */
export const MAX_PULL_ANSWER_BYTES = 256 * 1024 * 1024;

/** A gzip member starts with 1f 8b, and a JSON text cannot start with 0x1f: the first byte tells them apart. */
const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;
/** Output chunk of the inflater: the default 16 KiB made inflating a 31 MB answer a third slower. */
const INFLATE_CHUNK_BYTES = 1024 * 1024;

const gzipAsync = promisify(gzip);

/** The answer's bytes or its shape are not a pull answer's. */
export class PullAnswerFormatError extends Error {
  override readonly name = 'PullAnswerFormatError';
}

/**
 * Version 2 of an answer from its elements, order kept: each delivery and each segment is listed
 * once, where it first appears, and a path is left out wherever the answer holds all it leads
 * from: a segment whose every element is in the answer is sent whole, without element paths, and
 * a delivery whose every segment is in the answer whole, without segment paths. Elements of one
 * segment must carry the same segment path (they do when they come from one delivery tree);
 * anything else is a fault of the caller, and throws.
 */
export function compactPullAnswer(
  head: { requestId: string; pseudonym: string; answeredAt: string },
  elements: readonly DisclosedElement[],
): PullAnswerV2 {
  const deliveries = new Map<string, DeliveryDraft>();
  const segmentOf = elements.map((d) => {
    let delivery = deliveries.get(d.deliveryId);
    if (delivery === undefined) {
      delivery = { entry: { deliveryId: d.deliveryId, merkleRoot: d.merkleRoot, segments: [] }, segments: new Map() };
      deliveries.set(d.deliveryId, delivery);
    } else if (delivery.entry.merkleRoot !== d.merkleRoot) {
      throw new Error(`elements of delivery ${d.deliveryId} name two roots`);
    }
    const { segmentIndex, segmentPath } = d.proof;
    let segment = delivery.segments.get(segmentIndex);
    if (segment === undefined) {
      segment = { entry: { segmentIndex, segmentPath }, path: segmentPath, members: [] };
      delivery.segments.set(segmentIndex, segment);
      delivery.entry.segments.push(segment.entry);
    } else if (!samePath(segment.path, segmentPath)) {
      throw new Error(`elements of segment ${segmentIndex} of delivery ${d.deliveryId} carry two segment paths`);
    }
    segment.members.push(d);
    return segment;
  });
  for (const delivery of deliveries.values()) leaveOutPaths(delivery);
  return {
    version: 2,
    ...head,
    deliveries: [...deliveries.values()].map((d) => d.entry),
    elements: elements.map((d, i) => {
      const { segmentIndex, elementIndex, elementPath } = d.proof;
      const own = segmentOf[i]!.entry.elementCount === undefined ? { elementPath } : {};
      return { deliveryId: d.deliveryId, segmentIndex, elementIndex, ...own, element: d.element, salt: d.salt };
    }),
  };
}

interface DeliveryDraft {
  entry: AnswerDelivery;
  segments: Map<number, SegmentDraft>;
}

interface SegmentDraft {
  entry: AnswerSegment;
  path: MerkleStep[];
  members: DisclosedElement[];
}

/**
 * Leaves out the paths the requester can rebuild: those of a segment's elements when they are all
 * its elements, and those of a delivery's segments when they are all its segments. A tree has the
 * same shape, hence the same paths, as the one they were made from only when no leaf is missing,
 * so paths are left out only where each is exactly the one the rebuilt tree gives back: leaving
 * them out changes nothing the requester checks. Elements that cannot be hashed, or paths that
 * are not paths, keep what they have, and the requester judges them.
 */
function leaveOutPaths(delivery: DeliveryDraft): void {
  const roots: { index: number; path: MerkleStep[]; leaf: string }[] = [];
  try {
    for (const segment of delivery.segments.values()) {
      const leaves = segment.members.map((m) => ({
        index: m.proof.elementIndex,
        path: m.proof.elementPath,
        leaf: elementLeafHash(m.element, m.salt),
      }));
      const tree = rebuilt(leaves);
      if (tree !== undefined) segment.entry.elementCount = leaves.length;
      const first = leaves[0]!;
      const root = tree?.root ?? rootFromPath(first.leaf, first.path);
      roots.push({ index: segment.entry.segmentIndex, path: segment.path, leaf: root });
    }
  } catch (err) {
    if (err instanceof MerkleError) return;
    throw err;
  }
  if (rebuilt(roots) === undefined) return;
  delivery.entry.segmentCount = roots.length;
  for (const segment of delivery.segments.values()) delete segment.entry.segmentPath;
}

/** The tree over these leaves when they are all its leaves: indexes 0 … n − 1 once, each path its own. */
function rebuilt(leaves: readonly { index: number; path: MerkleStep[]; leaf: string }[]): MerkleTree | undefined {
  const n = leaves.length;
  const ordered = new Array<string>(n);
  for (const { index, path, leaf } of leaves) {
    if (!Number.isSafeInteger(index) || index < 0 || index >= n || ordered[index] !== undefined) return undefined;
    // The first leaf's path climbs every level of its tree: ⌈log2 n⌉ steps in a tree of n leaves.
    if (!Array.isArray(path) || (index === 0 && path.length !== Math.ceil(Math.log2(n)))) return undefined;
    ordered[index] = leaf;
  }
  const tree = new MerkleTree(ordered);
  return leaves.every(({ index, path }) => samePath(tree.path(index), path)) ? tree : undefined;
}

/**
 * The plaintext an agent seals. Version 2: gzip of the answer's canonical JSON with every character
 * past ASCII written as a \u escape. Canonical key order lets the requester hash each element's
 * JSON.stringify as its leaf text; the escapes change no value (leaves are hashed from values,
 * never from these bytes), and keep the inflated text one byte a character: one character past
 * ASCII made Node decode all of a 25 MB answer into a two-byte string, 23 ms of the requester's
 * time. Version 1 stays plain canonical JSON, as version-1 agents wrote it. Compressed off the
 * event loop.
 */
export async function encodePullAnswer(answer: PullAnswer): Promise<Buffer> {
  return answer.version === 1 ? Buffer.from(canonicalJson(answer), 'utf8') : gzipAsync(asciiJson(answer));
}

/** encodePullAnswer on this thread, byte for byte: for tests and the benchmark's one-core figures. */
export function encodePullAnswerSync(answer: PullAnswer): Buffer {
  return answer.version === 1 ? Buffer.from(canonicalJson(answer), 'utf8') : gzipSync(asciiJson(answer));
}

// Each UTF-16 code unit past ASCII, surrogates one by one: JSON.parse puts pairs back together.
const PAST_ASCII = /[\u0080-\uffff]/g;
const escapeUnit = (unit: string) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;

function asciiJson(answer: PullAnswer): Buffer {
  return Buffer.from(canonicalJson(answer).replace(PAST_ASCII, escapeUnit), 'latin1');
}

/**
 * The JSON text of a sealed answer's plaintext: gzip (version 2) is inflated, up to `maxBytes`
 * (MAX_PULL_ANSWER_BYTES unless a test says less); anything else is taken as JSON text (version
 * 1). Which version it is, the JSON says.
 */
export function decodePullAnswer(plaintext: Buffer, maxBytes = MAX_PULL_ANSWER_BYTES): string {
  if (plaintext[0] !== GZIP_MAGIC_0 || plaintext[1] !== GZIP_MAGIC_1) return plaintext.toString('utf8');
  try {
    return gunzipSync(plaintext, { maxOutputLength: maxBytes, chunkSize: INFLATE_CHUNK_BYTES }).toString('utf8');
  } catch (err) {
    const why =
      (err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE'
        ? `it inflates past ${maxBytes} bytes`
        : (err as Error).message;
    throw new PullAnswerFormatError(`the answer's gzip cannot be inflated: ${why}`, { cause: err });
  }
}

/**
 * A segment as a version 2 answer lists it, with the answer's elements of it (in answer order).
 * What the answer leaves out, the requester rebuilds once it has proven the segment: the elements'
 * paths of a segment held whole, the segment's path in a delivery held whole (requester/prove-whole.ts).
 */
export interface ListedSegment {
  deliveryId: string;
  merkleRoot: string;
  segmentIndex: number;
  /** Undefined when the segment is not held whole. */
  elementCount: number | undefined;
  members: DisclosedElement[];
  /** Undefined when the delivery is not held whole. */
  delivery: WholeDelivery | undefined;
}

/** A delivery a version 2 answer holds whole: its segments as listed. */
export interface WholeDelivery {
  deliveryId: string;
  merkleRoot: string;
  segmentCount: number;
  segments: ListedSegment[];
}

/**
 * An element of an answer with its proof as version 1 carries it, or why it has none. An element
 * of version 2 comes with the segment it names; where the answer leaves a path out (its segment or
 * its delivery is held whole), the element's proof has an empty path in its place, which the
 * requester fills in once it has proven the segment or the delivery.
 */
export type AnswerItem =
  | { ok: true; disclosed: DisclosedElement; segment?: ListedSegment }
  | { ok: false; elementId: string; deliveryId: string; detail: string };

/**
 * Every element of an answer of either version, in answer order, each with its proof: for version
 * 2 the element's own path and indexes with the path of the segment it names (one array shared by
 * the segment's elements: do not mutate it), or an empty path where the answer leaves it out. An
 * element naming a delivery or segment the answer does not list, or carrying a path of its own
 * into a segment the answer holds whole, has no proof, and comes back as a problem of that element
 * alone.
 *
 * @throws PullAnswerFormatError when the answer is not of its version's shape: an element or entry
 *   that is not one, or a delivery or a segment listed twice (which of the two paths would prove
 *   its elements?).
 */
export function answerElements(answer: PullAnswer): AnswerItem[] {
  if (!Array.isArray(answer.elements)) throw new PullAnswerFormatError('the answer has no element list');
  if (answer.version === 1) return answerElementsV1(answer);
  if (answer.version === 2) return answerElementsV2(answer);
  throw new PullAnswerFormatError(`the answer has version ${String((answer as { version?: unknown }).version)}`);
}

function answerElementsV1(answer: PullAnswerV1): AnswerItem[] {
  return answer.elements.map((d: unknown, i) => {
    const e = d as Partial<DisclosedElement> | null;
    if (
      !isRecord(e) ||
      typeof e.deliveryId !== 'string' ||
      typeof e.merkleRoot !== 'string' ||
      typeof e.salt !== 'string' ||
      !isElement(e.element) ||
      !isRecord(e.proof)
    ) {
      throw new PullAnswerFormatError(`answer element ${i} is not a disclosed element`);
    }
    return { ok: true, disclosed: e as DisclosedElement };
  });
}

function answerElementsV2(answer: PullAnswerV2): AnswerItem[] {
  if (!Array.isArray(answer.deliveries)) throw new PullAnswerFormatError('the answer has no delivery list');
  const deliveries = new Map<string, { deliveryId: string; root: string; segments: Map<unknown, SegmentRead> }>();
  answer.deliveries.forEach((entry: unknown, i) => {
    const d = entry as Partial<AnswerDelivery> | null;
    if (
      !isRecord(d) ||
      typeof d.deliveryId !== 'string' ||
      typeof d.merkleRoot !== 'string' ||
      !Array.isArray(d.segments) ||
      !isCount(d.segmentCount)
    )
      throw new PullAnswerFormatError(`answer delivery ${i} is not a delivery entry`);
    const { deliveryId, merkleRoot } = d;
    if (deliveries.has(deliveryId)) throw new PullAnswerFormatError(`delivery ${deliveryId} is listed twice`);
    const whole: WholeDelivery | undefined =
      d.segmentCount === undefined ? undefined : { deliveryId, merkleRoot, segmentCount: d.segmentCount, segments: [] };
    const segments = new Map<unknown, SegmentRead>();
    d.segments.forEach((segment: unknown, j) => {
      const s = segment as Partial<AnswerSegment> | null;
      if (
        !isRecord(s) ||
        !isIndex(s.segmentIndex) ||
        !isCount(s.elementCount) ||
        (whole !== undefined && s.segmentPath !== undefined)
      )
        throw new PullAnswerFormatError(`segment entry ${j} of delivery ${deliveryId} is not a segment entry`);
      if (segments.has(s.segmentIndex))
        throw new PullAnswerFormatError(`segment ${s.segmentIndex} of delivery ${deliveryId} is listed twice`);
      const listed: ListedSegment = {
        deliveryId,
        merkleRoot,
        segmentIndex: s.segmentIndex,
        elementCount: s.elementCount,
        members: [],
        delivery: whole,
      };
      whole?.segments.push(listed);
      // Not checked here: a path that is not one (or none) is an invalid proof of each element it is to prove.
      const segmentPath = (whole === undefined ? s.segmentPath : []) as MerkleStep[];
      segments.set(s.segmentIndex, { segmentPath, listed });
    });
    deliveries.set(deliveryId, { deliveryId, root: merkleRoot, segments });
  });
  return answer.elements.map((entry: unknown, i): AnswerItem => {
    const e = entry as Partial<AnswerElement> | null;
    if (!isRecord(e) || typeof e.deliveryId !== 'string' || typeof e.salt !== 'string' || !isElement(e.element))
      throw new PullAnswerFormatError(`answer element ${i} is not a disclosed element`);
    const { segmentIndex, elementIndex, elementPath, element, salt } = e as AnswerElement;
    const delivery = deliveries.get(e.deliveryId);
    const segment = delivery?.segments.get(segmentIndex);
    if (delivery === undefined || segment === undefined) {
      const detail =
        delivery === undefined
          ? `names delivery ${e.deliveryId}, which the answer does not list`
          : `names segment ${String(segmentIndex)} of delivery ${e.deliveryId}, which the answer does not list`;
      return { ok: false, elementId: element.id, deliveryId: e.deliveryId, detail };
    }
    // The delivery's own id string, shared by its elements: cheaper to look up than one per element.
    const { deliveryId, root: merkleRoot } = delivery;
    const { segmentPath, listed } = segment;
    const wholeSegment = listed.elementCount !== undefined;
    if (wholeSegment && elementPath !== undefined) {
      // Not one of the segment's elements as the answer holds it: proven by nothing, and not counted in.
      const detail = `carries a path of its own, but names segment ${String(segmentIndex)} of delivery ${deliveryId}, which the answer holds whole`;
      return { ok: false, elementId: element.id, deliveryId, detail };
    }
    const proof = {
      segmentIndex,
      elementIndex,
      elementPath: wholeSegment ? [] : (elementPath as MerkleStep[]),
      segmentPath,
    };
    const disclosed = { deliveryId, merkleRoot, element, salt, proof };
    listed.members.push(disclosed);
    return { ok: true, disclosed, segment: listed };
  });
}

interface SegmentRead {
  /** The path the answer gives, or an empty one where it leaves it out (delivery held whole). */
  segmentPath: MerkleStep[];
  listed: ListedSegment;
}

/** Absent, or a count of at least one. */
function isCount(value: unknown): value is number | undefined {
  return value === undefined || (isIndex(value) && value > 0);
}

function isIndex(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** As version 1's reader had it: any object, arrays too. */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isElement(value: unknown): value is DisclosedElement['element'] {
  return isRecord(value) && typeof value.id === 'string';
}

function samePath(a: readonly MerkleStep[], b: readonly MerkleStep[]): boolean {
  return a === b || (a.length === b.length && a.every((s, i) => s.hash === b[i]?.hash && s.left === b[i]?.left));
}
