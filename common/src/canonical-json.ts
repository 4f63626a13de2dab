import { canonicalize } from 'json-canonicalize';
import { JsonNumber } from './exact-json';

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
      if (value instanceof JsonNumber) {
        // json-canonicalize cannot write a number as its text; the fast writer does.
        throw new CanonicalJsonError(
          `${path} holds a JSON number kept as text beside a value only the reference path takes`,
        );
      }
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
 * RFC 8785 (JCS) canonical form, with one departure for numbers received from outside. Everything
 * we hash or write to the ledger goes through here so that every peer, gateway and agent produces
 * byte-identical input.
 *
 * Numbers: a JavaScript number is written as RFC 8785 §3.2.2.3 prescribes (ECMAScript
 * Number::toString). A JsonNumber — a number from a FHIR resource whose text a JavaScript number
 * would change (`7.10`, `0.000`, `1e2`, `-0.0`, 60 digits; see exact-json.ts) — is written as the
 * text it was received with, because FHIR makes a decimal's precision significant and RFC 8785's
 * rule would hash `7.10` as `7.1`, committing the ledger to an altered value. Every other number
 * reaches here as a JavaScript number whose text is the same either way, so for those (and for all
 * data we create ourselves) the output is RFC 8785's byte for byte; two texts of one value
 * (`7.1`, `7.10`) hash differently, as FHIR says they differ.
 *
 * Plain JSON data (what JSON.parse returns, and what we build ourselves) takes a single-pass
 * writer; anything else (a value to refuse, an object with toJSON, an array with holes) takes the
 * reference path: the check with its located error, then json-canonicalize. Both write the same
 * bytes: the fast writer uses the same primitives (JSON.stringify for numbers and escaped
 * strings, keys sorted by UTF-16 code units), and a test compares them on every fixture.
 */
export function canonicalJson(value: unknown): string {
  try {
    return writeValue(value);
  } catch (err) {
    if (err !== UNUSUAL) throw err;
  }
  assertRepresentable(value, '$');
  return canonicalize(value);
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}

/** Thrown by the fast writer for anything it leaves to the reference path; never leaves this module. */
class UnusualValue extends Error {}
/** One instance, made once: throwing it costs no stack trace on the fast path. */
const UNUSUAL = new UnusualValue('not plain JSON data');

/** Strings JSON.stringify would escape: quote, backslash, control characters, surrogates. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `"name":` for the property names seen so far; FHIR and our records use a small, fixed vocabulary. */
const keyText = new Map<string, string>();
const MAX_CACHED_KEYS = 10_000;

/**
 * Past this length JSON.stringify's native scan beats the regex test plus a copy (a sealed
 * envelope's 670 KB of base64: 0.3 ms less per envelope); below it the regex is ~3x faster.
 */
const LONG_STRING = 4096;

function writeString(s: string): string {
  if (s.length > LONG_STRING) return JSON.stringify(s);
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

function writeKey(k: string): string {
  let text = keyText.get(k);
  if (text === undefined) {
    text = `${JSON.stringify(k)}:`;
    if (keyText.size < MAX_CACHED_KEYS) keyText.set(k, text);
  }
  return text;
}

function writeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return writeString(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw UNUSUAL;
      // ECMAScript Number::toString, which RFC 8785 §3.2.2.3 prescribes (-0 becomes 0).
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (value instanceof JsonNumber) return value.value;
      if ((value as { toJSON?: unknown }).toJSON != null) throw UNUSUAL;
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) throw UNUSUAL;
          out += i === 0 ? writeValue(value[i]) : `,${writeValue(value[i])}`;
        }
        return `${out}]`;
      }
      const record = value as Record<string, unknown>;
      // Default sort order is by UTF-16 code units, as RFC 8785 §3.2.3 requires.
      const keys = Object.keys(record).sort();
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string;
        const v = record[k];
        if (v === undefined) throw UNUSUAL;
        out += i === 0 ? writeKey(k) + writeValue(v) : `,${writeKey(k)}${writeValue(v)}`;
      }
      return `${out}}`;
    }
    default:
      throw UNUSUAL;
  }
}
