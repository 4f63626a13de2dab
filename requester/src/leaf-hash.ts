import { hash } from 'node:crypto';
import { elementLeafHash } from '@phr/common';

/**
 * SHA-256 of JSON.stringify({ element, salt }): equal to elementLeafHash's canonical text when the
 * element's keys are already in RFC 8785 order at every level (numbers and string escapes are
 * written alike by both), as agents send them. The salt is not checked here: a leaf equal to a
 * committed one has that leaf's well-formed salt, and elementLeafHash, tried next, reports a
 * malformed one. Only a leaf that leads to the ledger's root is ever accepted, so a wrong guess
 * costs a retry with the canonical text, never a false accept.
 */
export function fastLeafHash(element: unknown, salt: string): string {
  return hash('sha256', JSON.stringify({ element, salt }), 'hex');
}

/** The fast guess first, then the canonical leaf that decides. */
export const LEAF_HASHES: readonly ((element: unknown, salt: string) => string)[] = [fastLeafHash, elementLeafHash];
