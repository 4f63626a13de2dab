import type { CodeRef } from './ledger-model';

/** A code system: an absolute URI (http://loinc.org, urn:oid:2.16.840.1.113883.6.96). */
export const CODE_SYSTEM_PATTERN = /^[a-z][a-z0-9+.-]*:\S{1,200}$/i;
/** A code within its system. */
export const CODE_PATTERN = /^\S{1,64}$/;

/** The rule the chaincode holds consent scopes and access requests to; everyone else checks the same. */
export function isCodeRef(value: unknown): value is CodeRef {
  const ref = value as Partial<CodeRef> | null;
  return (
    typeof ref === 'object' &&
    ref !== null &&
    typeof ref.system === 'string' &&
    typeof ref.code === 'string' &&
    CODE_SYSTEM_PATTERN.test(ref.system) &&
    CODE_PATTERN.test(ref.code)
  );
}

/**
 * `system|code`, as FHIR token search writes a code. The last bar separates them (a code never
 * holds one). Undefined when the text is not a valid code reference.
 */
export function parseCodeRef(text: string): CodeRef | undefined {
  const bar = text.lastIndexOf('|');
  if (bar < 0) return undefined;
  const ref = { system: text.slice(0, bar).trim(), code: text.slice(bar + 1).trim() };
  return isCodeRef(ref) ? ref : undefined;
}

export const formatCodeRef = (c: CodeRef): string => `${c.system}|${c.code}`;

/**
 * Codes as the ledger stores them: each once, ordered by `system|code` byte-wise, with nothing
 * but system and code. A patient-signed consent is normalized the same way, so its signature
 * holds for the record the chaincode keeps.
 */
export function uniqueSortedCodes(codes: Iterable<CodeRef>): CodeRef[] {
  const byKey = new Map<string, CodeRef>();
  for (const c of codes) byKey.set(formatCodeRef(c), { system: c.system, code: c.code });
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}
