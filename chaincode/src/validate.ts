import {
  CATEGORY_PATTERN,
  isCodeRef,
  isoInstant,
  isPseudonym,
  isRecordId,
  isSha256Hex,
  uniqueSortedCodes,
  type CodeRef,
  type ConsentScope,
} from '@phr/common';
import { invalidArgument } from './errors';

export function requirePseudonym(value: string): string {
  if (!isPseudonym(value)) throw invalidArgument('pseudonym must match pt[a-z2-7]{26}');
  return value;
}

export function requireRecordId(value: string, what: string): string {
  if (!isRecordId(value)) throw invalidArgument(`${what} must be 8 to 128 characters of [A-Za-z0-9._-]`);
  return value;
}

export function requireSha256(value: string, what: string): string {
  if (!isSha256Hex(value)) throw invalidArgument(`${what} must be a lower-case hex SHA-256 digest`);
  return value;
}

export function requireOneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalidArgument(`${what} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

export function requireInt(value: number, what: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(`${what} must be an integer from ${min} to ${max}`);
  }
  return value;
}

export function requireInstant(value: string, what: string): string {
  const instant = isoInstant(value);
  if (instant === undefined) throw invalidArgument(`${what} must be an ISO 8601 date-time`);
  return instant;
}

export function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw invalidArgument(`${what} is not valid JSON`);
  }
}

export function requireCategories(value: unknown, what: string, max = 32): string[] {
  if (!Array.isArray(value) || value.length > max)
    throw invalidArgument(`${what} must be an array of at most ${max} category codes`);
  for (const c of value) {
    if (typeof c !== 'string' || !CATEGORY_PATTERN.test(c))
      throw invalidArgument(`${what} has an invalid category code`);
  }
  return [...new Set(value as string[])].sort();
}

export function requireCodes(value: unknown, what: string, max = 256): CodeRef[] {
  if (!Array.isArray(value) || value.length > max)
    throw invalidArgument(`${what} must be an array of at most ${max} codes`);
  for (const ref of value as unknown[]) {
    if (!isCodeRef(ref)) throw invalidArgument(`${what} entries need a code system URI and a code`);
  }
  return uniqueSortedCodes(value as CodeRef[]);
}

export function requireScope(value: unknown, what: string): ConsentScope {
  const scope = value as Partial<ConsentScope> | null;
  if (!scope || typeof scope !== 'object') throw invalidArgument(`${what} must be an object with categories and codes`);
  const result = {
    categories: requireCategories(scope.categories ?? [], `${what}.categories`),
    codes: requireCodes(scope.codes ?? [], `${what}.codes`),
  };
  if (result.categories.length + result.codes.length === 0) throw invalidArgument(`${what} names no category or code`);
  return result;
}
