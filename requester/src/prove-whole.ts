import {
  MerkleError,
  MerkleTree,
  rootFromPath,
  type DisclosedElement,
  type ListedSegment,
  type WholeDelivery,
} from '@phr/common';
import type { PullVerificationCode } from './errors';
import { LEAF_HASHES } from './leaf-hash';

/**
 * What a version 2 answer holds whole, proven without the paths it leaves out: a segment from its
 * elements' leaves, a delivery from its segments' roots. Each tree is rebuilt from all its leaves
 * in index order, and its root must lead to the delivery root on the ledger; then each element is
 * proven as by its path in that tree, which it is given, so the verified elements are the same as
 * version 1's. A rebuilt root binds the tree's shape: a leaf is the hash of JSON text, never of
 * 0x01 || two digests, so no subtree can be passed off as a leaf, nor a leaf left out (merkle.ts).
 * Without paths a wrong leaf cannot be told from the others: a problem is that of every element of
 * the segment, or of the delivery.
 */

export interface Problem {
  code: PullVerificationCode;
  detail: string;
}

/** A segment held whole in a delivery that is not: its rebuilt root, then the segment's path. */
export function proveWholeSegment(segment: ListedSegment, root: string): Problem | undefined {
  const ordered = inIndexOrder(segment);
  if (ordered === undefined) return notWhole(segment);
  const segmentPath = segment.members[0]!.proof.segmentPath;
  return attempt(segment.deliveryId, 'segment', (leafOf) => {
    const tree = new MerkleTree(ordered.map((m) => leafOf(m.element, m.salt)));
    if (rootFromPath(tree.root, segmentPath) !== root) return false;
    for (const m of ordered) m.proof.elementPath = tree.path(m.proof.elementIndex);
    return true;
  });
}

/**
 * A delivery held whole: segments 0 … segmentCount − 1, each rooted by its elements (rebuilt when
 * held whole, else by each element's own path, on which they must all agree), and the tree of
 * those roots must have the ledger's root.
 */
export function proveWholeDelivery(delivery: WholeDelivery, root: string): Problem | undefined {
  const { segmentCount, deliveryId } = delivery;
  // Segment indexes are listed once each (answerElements refuses an answer otherwise).
  const listed = delivery.segments;
  const missing = listed.length !== segmentCount || listed.some((s) => s.segmentIndex >= segmentCount);
  const empty = listed.find((s) => s.members.length === 0);
  if (missing || empty !== undefined) {
    const but = missing
      ? `but the answer lists ${listed.length} of them, not each index once`
      : `but segment ${empty!.segmentIndex} has no element`;
    const detail = `has no proof: delivery ${deliveryId} is said to be in the answer whole, ${segmentCount} segments, ${but}`;
    return { code: 'PROOF_INVALID', detail };
  }
  const segments = new Array<ListedSegment>(segmentCount);
  for (const s of listed) segments[s.segmentIndex] = s;
  const ordered = segments.map((s) => (s.elementCount === undefined ? s.members : inIndexOrder(s)));
  const notPlaced = segments.findIndex((_, i) => ordered[i] === undefined);
  if (notPlaced >= 0) return notWhole(segments[notPlaced]!);
  return attempt(deliveryId, 'delivery', (leafOf) => {
    const trees = segments.map((s, i) =>
      s.elementCount === undefined ? undefined : new MerkleTree(ordered[i]!.map((m) => leafOf(m.element, m.salt))),
    );
    const roots: string[] = [];
    for (const [i, s] of segments.entries()) {
      const tree = trees[i];
      if (tree !== undefined) {
        roots.push(tree.root);
        continue;
      }
      const [first, ...rest] = s.members.map((m) => rootFromPath(leafOf(m.element, m.salt), m.proof.elementPath));
      if (rest.some((r) => r !== first)) return false;
      roots.push(first!);
    }
    const top = new MerkleTree(roots);
    if (top.root !== root) return false;
    for (const [i, s] of segments.entries()) {
      const segmentPath = top.path(i);
      const tree = trees[i];
      for (const m of s.members) {
        m.proof.segmentPath = segmentPath;
        if (tree !== undefined) m.proof.elementPath = tree.path(m.proof.elementIndex);
      }
    }
    return true;
  });
}

/** The elements of a segment held whole by index, when they are indexes 0 … elementCount − 1, each once. */
function inIndexOrder(segment: ListedSegment): DisclosedElement[] | undefined {
  const n = segment.elementCount!;
  if (segment.members.length !== n) return undefined;
  const ordered = new Array<DisclosedElement>(n);
  for (const m of segment.members) {
    const i = m.proof.elementIndex;
    if (!Number.isSafeInteger(i) || i < 0 || i >= n || ordered[i] !== undefined) return undefined;
    ordered[i] = m;
  }
  return ordered;
}

function notWhole(segment: ListedSegment): Problem {
  const detail =
    `has no proof: segment ${segment.segmentIndex} of delivery ${segment.deliveryId} is said to be in the answer ` +
    `whole, ${segment.elementCount} elements, but the answer holds ${segment.members.length} of it, not each index once`;
  return { code: 'PROOF_INVALID', detail };
}

/** `proves` with the fast leaves, then with the canonical ones, which decide. */
function attempt(
  deliveryId: string,
  what: 'segment' | 'delivery',
  proves: (leafOf: (element: unknown, salt: string) => string) => boolean,
): Problem | undefined {
  try {
    for (const leafOf of LEAF_HASHES) if (proves(leafOf)) return undefined;
  } catch (err) {
    if (!(err instanceof MerkleError)) throw err;
    return { code: 'PROOF_INVALID', detail: `does not match the ledger: ${err.message}` };
  }
  const whose = what === 'segment' ? "its segment's elements" : "its delivery's segments";
  return {
    code: 'PROOF_INVALID',
    detail: `does not match the ledger: ${whose} do not lead to delivery ${deliveryId}'s root`,
  };
}
