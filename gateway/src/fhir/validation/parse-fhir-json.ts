import { FhirError, hasInexactNumber, parseExactJson, type OutcomeIssue } from '@phr/common';
import { diagnoseJsonSyntax, lineAndColumn, renderPath } from './json-syntax-diagnosis';
import { scanJsonStructure } from './json-structure-scan';

export interface ParseLimits {
  maxBytes: number;
  maxDepth: number;
  /**
   * Keep each number as written (a JsonNumber where a JavaScript number would change its text):
   * for bodies whose resources are hashed, not validated (`$verify`).
   */
  exactNumbers?: boolean;
}

export const DEFAULT_PARSE_LIMITS: Readonly<ParseLimits> = Object.freeze({ maxBytes: 16 * 1024 * 1024, maxDepth: 64 });

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses a request body as FHIR JSON (strict RFC 8259: no comments, no trailing commas, double-quoted
 * names). Throws FhirError 413 when the body is too large, 400 when it is nested too deeply, is not
 * UTF-8, is not JSON (diagnostics carry line/column and the element), or repeats a property name.
 * A leading byte order mark is accepted and dropped, as RFC 8259 §8.1 allows.
 */
export function parseFhirJson(body: Buffer | string, limits?: Partial<ParseLimits>): unknown {
  const { maxBytes, maxDepth } = { ...DEFAULT_PARSE_LIMITS, ...limits };
  const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  if (size > maxBytes) {
    throw new FhirError(413, [fatal('too-costly', `The body is ${size} bytes; the limit is ${maxBytes} bytes`)]);
  }
  const text = fhirJsonText(body);
  if (text.trim() === '') throw new FhirError(400, [fatal('structure', 'The body is empty')]);

  const scan = scanJsonStructure(text, maxDepth);
  if (scan.kind === 'too-deep') {
    const { line, column } = lineAndColumn(text, scan.offset);
    throw new FhirError(400, [
      fatal('too-costly', `JSON nesting is deeper than ${maxDepth} levels (line ${line}, column ${column})`),
    ]);
  }

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    const issues = diagnoseJsonSyntax(text).map((p): OutcomeIssue => ({
      severity: 'fatal',
      code: 'structure',
      diagnostics: `Invalid JSON at line ${p.line}, column ${p.column}: ${p.message}`,
      ...(p.expression ? { expression: [p.expression] } : {}),
    }));
    throw new FhirError(400, issues, { cause });
  }

  if (limits?.exactNumbers && hasInexactNumber(text)) value = parseExactJson(text);

  if (scan.duplicate) {
    const { line, column } = lineAndColumn(text, scan.duplicate.offset);
    const root = rootName(value);
    const expression = root ? renderPath(root, [...scan.duplicate.path, scan.duplicate.name]) : undefined;
    throw new FhirError(400, [
      {
        severity: 'error',
        code: 'structure',
        diagnostics: `Property '${scan.duplicate.name}' appears twice in one object (line ${line}, column ${column})`,
        ...(expression ? { expression: [expression] } : {}),
      },
    ]);
  }
  return value;
}

/**
 * The body as JSON text: strict UTF-8 (400 otherwise), without a leading byte order mark. A worker
 * thread that gets the same bytes parses `JSON.parse(fhirJsonText(bytes))` to the same value.
 */
export function fhirJsonText(body: Uint8Array | string): string {
  let text: string;
  try {
    text = typeof body === 'string' ? body : utf8.decode(body);
  } catch (cause) {
    throw new FhirError(400, [fatal('structure', 'The body is not valid UTF-8')], { cause });
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function fatal(code: OutcomeIssue['code'], diagnostics: string): OutcomeIssue {
  return { severity: 'fatal', code, diagnostics };
}

function rootName(value: unknown): string | undefined {
  const type = (value as { resourceType?: unknown } | null)?.resourceType;
  return typeof type === 'string' && /^[A-Z][A-Za-z]{0,63}$/.test(type) ? type : undefined;
}
