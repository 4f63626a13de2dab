import { canonicalize } from 'json-canonicalize';

/** Thrown when a value cannot be represented in RFC 8785 canonical JSON. */
export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
  readonly code = 'CANONICAL_JSON';
}

function assertRepresentable(value: unknown, path: string): void {
  if (value === null) return;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      // RFC 8785 has no representation for these; silently writing null would change the hash input.
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`${path} is not a finite number`);
      return;
    case 'object':
      if (Array.isArray(value)) {
        value.forEach((item, i) => assertRepresentable(item, `${path}[${i}]`));
        return;
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (v === undefined) throw new CanonicalJsonError(`${path}.${k} is undefined`);
        assertRepresentable(v, `${path}.${k}`);
      }
      return;
    default:
      throw new CanonicalJsonError(`${path} has type ${typeof value}, which JSON cannot hold`);
  }
}

/**
 * RFC 8785 (JCS) canonical form. Everything we hash or write to the ledger goes through here so
 * that every peer, gateway and agent produces byte-identical input.
 */
export function canonicalJson(value: unknown): string {
  assertRepresentable(value, '$');
  return canonicalize(value);
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}
