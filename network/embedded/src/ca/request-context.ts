import { CaErrorCode, FabricCaError } from './errors';

export type JsonObject = Record<string, unknown>;

/**
 * One request as Fabric CA's handlers see it: the method, the request URI (what tokens sign), the
 * `Authorization` header and the raw body, whose JSON is read once and looked up as Go's
 * `encoding/json` does (a field matches a key exactly, else case-insensitively: the Go CLI sends
 * `CAName` where the npm client sends `caname`).
 */
export class RequestContext {
  private parsed: JsonObject | undefined | null = null;

  constructor(
    readonly method: string,
    /** Path and query exactly as received. */
    readonly uri: string,
    readonly authorization: string | undefined,
    readonly body: Buffer,
  ) {}

  get query(): URLSearchParams {
    const at = this.uri.indexOf('?');
    return new URLSearchParams(at < 0 ? '' : this.uri.slice(at + 1));
  }

  /** The JSON body, undefined when the body is empty; 400 code 5 when it is not a JSON object. */
  json(): JsonObject | undefined {
    if (this.parsed !== null) return this.parsed;
    if (this.body.length === 0) return (this.parsed = undefined);
    let value: unknown;
    try {
      value = JSON.parse(this.body.toString('utf8'));
    } catch (err) {
      throw FabricCaError.badRequest(CaErrorCode.BAD_BODY, 'Invalid request body: not JSON', err);
    }
    if (value === null) return (this.parsed = undefined);
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw FabricCaError.badRequest(CaErrorCode.BAD_BODY, 'Invalid request body: not a JSON object');
    }
    return (this.parsed = value as JsonObject);
  }

  /** The JSON body; 400 code 4 when empty. */
  requireJson(): JsonObject {
    const body = this.json();
    if (!body) throw FabricCaError.badRequest(CaErrorCode.EMPTY_BODY, 'Empty request body');
    return body;
  }

  /** The CA the request names: `?ca=`, else the body's `caname`, else "" (the default CA). */
  caName(): string {
    const fromQuery = this.query.get('ca');
    if (fromQuery) return fromQuery;
    const body = this.json();
    return body ? stringField(body, 'caname') : '';
  }
}

/** A field of a JSON object, matched as Go's `encoding/json` matches struct fields. */
export function field(object: JsonObject, name: string): unknown {
  if (Object.hasOwn(object, name)) return object[name];
  const lower = name.toLowerCase();
  const key = Object.keys(object).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : object[key];
}

function wrongType(name: string, expected: string): FabricCaError {
  return FabricCaError.badRequest(CaErrorCode.BAD_BODY, `Invalid request body: '${name}' must be ${expected}`);
}

/** A string field; "" when absent or null. */
export function stringField(object: JsonObject, name: string): string {
  const value = field(object, name);
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw wrongType(name, 'a string');
  return value;
}

/** An integer field; 0 when absent or null. */
export function integerField(object: JsonObject, name: string): number {
  const value = field(object, name);
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw wrongType(name, 'an integer');
  return value;
}

export function booleanField(object: JsonObject, name: string): boolean {
  const value = field(object, name);
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw wrongType(name, 'a boolean');
  return value;
}

/** An array field of objects; undefined when absent or null (Go's nil slice, unlike []). */
export function objectArrayField(object: JsonObject, name: string): JsonObject[] | undefined {
  const value = field(object, name);
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v))) {
    throw wrongType(name, 'an array of objects');
  }
  return value as JsonObject[];
}

/** An array field of strings; undefined when absent or null. */
export function stringArrayField(object: JsonObject, name: string): string[] | undefined {
  const value = field(object, name);
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw wrongType(name, 'an array of strings');
  return value;
}
