import { getLocation, parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { scanJsonStructure, type JsonPathSegment } from './json-structure-scan';

/**
 * Explains why `JSON.parse` refused a body: which rule was broken, where (line/column), and in which
 * element, as a FHIRPath-like expression. Only runs on the failure path, so it may be slower than
 * `JSON.parse`; jsonc-parser is used because it recovers after an error and maps offsets to paths.
 * Messages never quote the body: it is health data.
 */

export interface JsonSyntaxProblem {
  message: string;
  line: number;
  column: number;
  /** e.g. `Patient.name[0].given`; undefined when not even the resource type could be recovered. */
  expression?: string;
}

const MAX_PROBLEMS = 10;

export function diagnoseJsonSyntax(text: string): JsonSyntaxProblem[] {
  const errors: ParseError[] = [];
  const recovered: unknown = parse(text, errors, {
    disallowComments: true,
    allowTrailingComma: false,
    allowEmptyContent: false,
  });
  const root = resourceTypeOf(recovered) ?? resourceTypeByScan(text);
  const problems: JsonSyntaxProblem[] = [];
  const seenOffsets = new Set<number>();
  const end = text.replace(/[ \t\r\n]+$/, '').length;
  let unterminatedString = false;
  let endReported = false;
  for (const error of errors) {
    // jsonc-parser often reports two codes for one spot (e.g. comma and property name expected).
    if (seenOffsets.has(error.offset)) continue;
    seenOffsets.add(error.offset);
    const { line, column } = lineAndColumn(text, error.offset);
    const code = printParseErrorCode(error.error);
    if (code === 'UnexpectedEndOfString') unterminatedString = true;
    if (error.offset >= end && code !== 'UnexpectedEndOfString') {
      // The body stops inside a value. jsonc-parser's codes for that spot (a value expected after a
      // comma, a closing bracket expected) read as another mistake; say which container is left open.
      if (endReported) continue;
      endReported = true;
      // After an unterminated string, its missing quote is the one mistake; what follows is its echo.
      if (unterminatedString) continue;
      const unclosed = scanJsonStructure(text, Number.MAX_SAFE_INTEGER);
      if (unclosed.kind === 'ok' && unclosed.unclosed) {
        const { kind, path } = unclosed.unclosed;
        problems.push({
          message:
            kind === 'array'
              ? "The array is not terminated: the body ends before its closing ']'"
              : "The object is not terminated: the body ends before its closing '}'",
          line,
          column,
          ...(root ? { expression: renderPath(root, path) } : {}),
        });
        if (problems.length === MAX_PROBLEMS) break;
        continue;
      }
    }
    const path = getLocation(text, error.offset).path.filter((s) => s !== '');
    problems.push({
      message: describe(error, text),
      line,
      column,
      ...(root ? { expression: renderPath(root, path) } : {}),
    });
    if (problems.length === MAX_PROBLEMS) break;
  }
  if (problems.length === 0) {
    // jsonc-parser is more lenient than JSON.parse in a few corners (e.g. lone surrogates); still answer.
    problems.push({ message: 'The body is not valid JSON', line: 1, column: 1, ...(root ? { expression: root } : {}) });
  }
  return problems;
}

function describe(error: ParseError, text: string): string {
  // `ParseErrorCode` is a const enum, which isolatedModules cannot read; its names are stable API.
  const code = printParseErrorCode(error.error);
  switch (code) {
    case 'InvalidCommentToken':
    case 'UnexpectedEndOfComment':
      return 'Comments are not allowed in JSON';
    case 'PropertyNameExpected':
    case 'ValueExpected':
      if (followsComma(text, error.offset)) {
        switch (text[error.offset]) {
          case ']':
            return 'There is an extra comma at the end of an array';
          case '}':
            return 'There is an extra comma at the end of an object';
          case ',':
            return 'A value is missing between two commas';
        }
      }
      return code === 'PropertyNameExpected' ? 'A property name in double quotes was expected' : 'A value was expected';
    case 'CommaExpected':
      return 'A comma is missing';
    case 'ColonExpected':
      return 'A colon is missing after a property name';
    case 'CloseBraceExpected':
      return "A closing '}' was expected";
    case 'CloseBracketExpected':
      return "A closing ']' was expected";
    case 'EndOfFileExpected':
      return 'Unexpected content after the end of the JSON value';
    case 'InvalidSymbol':
      return 'Unexpected character (property names and strings need double quotes)';
    case 'UnexpectedEndOfString':
      return 'A string is not terminated';
    case 'InvalidNumberFormat':
    case 'UnexpectedEndOfNumber':
      return 'Invalid number';
    case 'InvalidEscapeCharacter':
    case 'InvalidUnicode':
      return 'Invalid escape sequence in a string';
    case 'InvalidCharacter':
      return 'Invalid control character in a string';
    default:
      return 'Invalid JSON';
  }
}

function followsComma(text: string, offset: number): boolean {
  for (let i = offset - 1; i >= 0; i--) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
    return c === ',';
  }
  return false;
}

export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Renders a raw JSON path below a resource root (no type knowledge: used only for unparsable bodies). */
export function renderPath(root: string, path: readonly JsonPathSegment[]): string {
  let out = root;
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += IDENTIFIER.test(segment) ? `.${segment}` : `.\`${segment.replace(/[`\\]/g, '\\$&')}\``;
  }
  return out;
}

function resourceTypeOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const type = (value as { resourceType?: unknown }).resourceType;
  return typeof type === 'string' && /^[A-Z][A-Za-z]{0,63}$/.test(type) ? type : undefined;
}

function resourceTypeByScan(text: string): string | undefined {
  return /resourceType"?\s*:\s*"([A-Z][A-Za-z]{0,63})"/.exec(text.slice(0, 4096))?.[1];
}
