/**
 * One linear pass over JSON text, before `JSON.parse`, for the two things `JSON.parse` cannot tell us:
 * how deep the nesting goes (so a hostile body is refused before it is materialised) and whether an
 * object repeats a property name (`JSON.parse` silently keeps the last one, which would lose data).
 *
 * The scan does not judge syntax: on malformed text its findings are meaningless, and the caller only
 * trusts them once `JSON.parse` has accepted the same text (depth excepted, which is safe either way).
 */

export type JsonPathSegment = string | number;

export interface DuplicateProperty {
  name: string;
  /** Path of the object that holds the property twice. */
  path: JsonPathSegment[];
  /** 0-based offset of the second occurrence. */
  offset: number;
}

/** The innermost array or object still open where the text ends (only text that ends too early has one). */
export interface UnclosedContainer {
  kind: 'array' | 'object';
  /** Path of the container itself. */
  path: JsonPathSegment[];
  /** How many containers are open at the end, this one included. */
  open: number;
}

export type ScanResult =
  | { kind: 'ok'; duplicate?: DuplicateProperty; unclosed?: UnclosedContainer }
  | { kind: 'too-deep'; offset: number; depth: number };

interface Frame {
  /** Keys seen so far (objects only). */
  keys?: Set<string>;
  /** Current key (objects) or element index (arrays). */
  at: JsonPathSegment;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

export function scanJsonStructure(text: string, maxDepth: number): ScanResult {
  const stack: Frame[] = [];
  let duplicate: DuplicateProperty | undefined;
  // True when the next string in an object is a property name (after `{` or `,`).
  let expectKey = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i + 1;
      // Jump from quote to quote: most of a FHIR body is string content.
      let close = text.indexOf('"', start);
      while (close !== -1 && isEscaped(text, close)) close = text.indexOf('"', close + 1);
      i = close === -1 ? n : close;
      const top = stack[stack.length - 1];
      if (expectKey && top?.keys && duplicate === undefined) {
        const raw = text.slice(start, i);
        const name = raw.includes('\\') ? decodeJsonString(raw) : raw;
        if (top.keys.has(name)) {
          // Frames below the top hold the path to the object; the top frame's key is this property.
          duplicate = { name, path: stack.slice(0, -1).map((f) => f.at), offset: start - 1 };
        } else {
          top.keys.add(name);
        }
        top.at = name;
      }
      expectKey = false;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (stack.length + 1 > maxDepth) return { kind: 'too-deep', offset: i, depth: stack.length + 1 };
      stack.push(c === OPEN_BRACE ? { keys: new Set(), at: '' } : { at: 0 });
      expectKey = c === OPEN_BRACE;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      stack.pop();
      expectKey = false;
    } else if (c === COMMA) {
      const top = stack[stack.length - 1];
      if (top) {
        if (top.keys) expectKey = true;
        else top.at = (top.at as number) + 1;
      }
    } else if (c === COLON) {
      expectKey = false;
    }
  }
  const top = stack[stack.length - 1];
  const unclosed: UnclosedContainer | undefined = top && {
    kind: top.keys ? 'object' : 'array',
    path: stack.slice(0, -1).map((f) => f.at),
    open: stack.length,
  };
  return { kind: 'ok', ...(duplicate ? { duplicate } : {}), ...(unclosed ? { unclosed } : {}) };
}

/** A quote is escaped when an odd number of backslashes precede it. */
function isEscaped(text: string, quote: number): boolean {
  let backslashes = 0;
  for (let j = quote - 1; j >= 0 && text.charCodeAt(j) === BACKSLASH; j--) backslashes++;
  return backslashes % 2 === 1;
}

function decodeJsonString(raw: string): string {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}
