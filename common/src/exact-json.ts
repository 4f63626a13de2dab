import { LosslessNumber, parse as losslessParse } from 'lossless-json';

declare global {
  interface JSON {
    /** ECMAScript `JSON.rawJSON` (Node ≥ 21): a value JSON.stringify writes as the given text. */
    rawJSON(text: string): unknown;
  }
}

/**
 * A JSON number kept as the text it was written with. FHIR says a decimal's precision is
 * significant (`7.10` is not `7.1`), and a JavaScript number cannot hold `7.10`, `1e2`, `-0.0` or a
 * 60-digit value as written; this can. `String(n)` and `${n}` give the text, `Number(n)` the value,
 * and `JSON.stringify` writes the text as it came (through `JSON.rawJSON`), so a resource holding
 * these serializes back to the bytes the sender wrote.
 *
 * Numbers whose text a JavaScript number reproduces exactly (`7.1`, `12`, `0.5`) stay plain
 * numbers: only the others become JsonNumber, so most data never holds one.
 */
export class JsonNumber extends LosslessNumber {
  toJSON(): unknown {
    return JSON.rawJSON(this.value);
  }
}

/** Does the JavaScript number of this JSON number literal print back as the same text? */
export function isExactNumberText(text: string): boolean {
  return String(Number(text)) === text;
}

/** A number from the data path: a plain number, or a JsonNumber keeping its text. */
export type ExactNumber = number | JsonNumber;

export function isExactNumber(value: unknown): value is ExactNumber {
  return typeof value === 'number' || value instanceof JsonNumber;
}

/** The number's JSON text as received: what hashes and the standardized DB keep. */
export function numberText(value: ExactNumber): string {
  return typeof value === 'number' ? JSON.stringify(value) : value.value;
}

const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * Whether any number literal in this JSON text would be changed by `JSON.parse` (precision lost,
 * trailing zeros or exponent rewritten, `-0`). One pass that jumps from string to string with
 * `indexOf`, so it costs a small fraction of `JSON.parse`; the text is assumed to be valid JSON.
 */
export function hasInexactNumber(text: string): boolean {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const quote = text.indexOf('"', i);
    const end = quote < 0 ? n : quote;
    for (let j = i; j < end; j++) {
      const c = text.charCodeAt(j);
      if (c !== 45 && !isDigit(c)) continue;
      let k = j + 1;
      while (k < end) {
        const d = text.charCodeAt(k);
        // digits, '.', 'e', 'E', '+', '-'
        if (isDigit(d) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45) k++;
        else break;
      }
      if (!isExactNumberText(text.slice(j, k))) return true;
      j = k - 1;
    }
    if (quote < 0) return false;
    // Skip the string: the next quote not escaped by an odd number of backslashes.
    let from = quote + 1;
    for (;;) {
      const close = text.indexOf('"', from);
      if (close < 0) return false;
      let backslashes = 0;
      for (let b = close - 1; text.charCodeAt(b) === 92; b--) backslashes++;
      if (backslashes % 2 === 0) {
        i = close + 1;
        break;
      }
      from = close + 1;
    }
  }
  return false;
}

/** The number a JSON number literal stands for, keeping its text when a JavaScript number would not. */
export function exactNumber(text: string): ExactNumber {
  return isExactNumberText(text) ? Number(text) : new JsonNumber(text);
}

/**
 * Parses JSON keeping every number as it was written: the data path's parse, from the EHR's post
 * to the agent's export and the requester's verified answer. Text whose numbers `JSON.parse`
 * reproduces exactly (the usual case) takes `JSON.parse` alone; otherwise `JSON.parse` with a
 * reviver that reads each number's source text (ECMAScript JSON.parse source text access, Node
 * ≥ 21), the numbers that would change becoming JsonNumber. Both give plain objects and arrays.
 * The native parser takes a long string (a C-CDA document attached as base64) at memory speed,
 * where lossless-json, used before, walked it character by character: 3 ms of the 4.5 ms it
 * took to parse a 400 KB converted CCD. Like `JSON.parse`, a repeated property name keeps its
 * last value; the gateway refuses posted JSON with repeated names before it gets here.
 *
 * @throws SyntaxError when the text is not JSON.
 */
export function parseExactJson(text: string): unknown {
  if (!hasInexactNumber(text)) return JSON.parse(text);
  return SOURCE_TEXT_ACCESS ? JSON.parse(text, keepNumberText) : losslessParse(text, undefined, exactNumber);
}

function keepNumberText(_key: string, value: unknown, context?: { source?: string }): unknown {
  return typeof value === 'number' && context?.source !== undefined ? exactNumber(context.source) : value;
}

/** Whether this runtime hands a reviver each value's source text; where not, lossless-json parses. */
const SOURCE_TEXT_ACCESS = (() => {
  try {
    return JSON.parse('1.10', keepNumberText) instanceof JsonNumber;
  } catch {
    return false;
  }
})();

/**
 * A JsonNumber again after a trip through structured clone (worker threads), which keeps only its
 * own fields: `{ value, isLosslessNumber: true }`. Only for values known to be numbers.
 */
export function reviveExactNumber(value: unknown): unknown {
  if (
    typeof value === 'object' &&
    value !== null &&
    (value as { isLosslessNumber?: unknown }).isLosslessNumber === true &&
    typeof (value as { value?: unknown }).value === 'string'
  ) {
    return new JsonNumber((value as { value: string }).value);
  }
  return value;
}
