import { r4ResourceTypes } from './r4-resource-types';

export interface CapabilityOptions {
  baseUrl: string;
  hospitalName: string;
  softwareVersion: string;
  startedAt: string;
}

/** Canonical URL of the C-CDA ingest (POST /ccda). */
export const CCDA_OPERATION_URL = 'https://phr-ledger.dev/fhir/OperationDefinition/ccda-ingest';
/** Canonical URL of our $verify operation. */
export const VERIFY_OPERATION_URL = 'https://phr-ledger.dev/fhir/OperationDefinition/verify';

/**
 * Stands for every R4 resource type that no other declaration has the same interaction for (the
 * pull searches: any type the ledger does not serve itself). Not a type name, so it cannot clash.
 */
export const EVERY_OTHER_TYPE = '*';

export interface SearchParamDeclaration {
  name: string;
  type: 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri' | 'special';
  documentation: string;
}

/** What one route answers, in the terms of a CapabilityStatement (route-table.ts declares them). */
export type Capability =
  /** `GET [base]/metadata`: the statement itself, which lists no interaction for it. */
  | { kind: 'capabilities' }
  | { kind: 'system'; code: 'transaction' | 'batch'; documentation?: string }
  | {
      kind: 'type';
      /** A resource type, or EVERY_OTHER_TYPE. */
      type: string;
      code: 'read' | 'search-type' | 'create';
      documentation?: string;
      /** What the statement says of the resource type as a whole. */
      resourceDocumentation?: string;
      searchParams?: readonly SearchParamDeclaration[];
    }
  /** An operation on the system, or on instances of `type`. */
  | { kind: 'operation'; name: string; definition: string; type?: string; documentation?: string }
  /** A paragraph of `rest.documentation`: what a client needs to know that has no element of its own. */
  | { kind: 'note'; documentation: string };

type TypeCapability = Extract<Capability, { kind: 'type' }>;
type Resource = fhir4.CapabilityStatementRestResource;

/**
 * The types that `code` is declared for by name: EVERY_OTHER_TYPE of the same code means every
 * R4 type but these (for the CapabilityStatement and for the route that takes `:type` alike).
 */
export function typesDeclaredFor(capabilities: readonly Capability[], code: TypeCapability['code']): Set<string> {
  return new Set(
    capabilities
      .filter((c): c is TypeCapability => c.kind === 'type' && c.code === code && c.type !== EVERY_OTHER_TYPE)
      .map((c) => c.type),
  );
}

/**
 * The CapabilityStatement of what this gateway really answers, made from the route table's
 * declarations and nothing else, so that it can neither leave out a route nor list a missing one.
 * The same interaction declared twice is a bug in the table, refused here (at start-up).
 */
export function capabilityStatement(
  o: CapabilityOptions,
  capabilities: readonly Capability[],
): fhir4.CapabilityStatement {
  const system: fhir4.CapabilityStatementRestInteraction[] = [];
  const operations: fhir4.CapabilityStatementRestResourceOperation[] = [];
  const notes: string[] = [];
  const resources = new Map<string, Resource>();
  const resource = (type: string): Resource => {
    let r = resources.get(type);
    if (!r) resources.set(type, (r = { type }));
    return r;
  };
  const addType = (type: string, c: TypeCapability) => {
    const r = resource(type);
    if (r.interaction?.some((i) => i.code === c.code)) throw new Error(`${c.code} on ${type} is declared twice`);
    if (c.resourceDocumentation) {
      if (r.documentation) throw new Error(`${type} is documented twice`);
      r.documentation = c.resourceDocumentation;
    }
    (r.interaction ??= []).push({ code: c.code, ...(c.documentation ? { documentation: c.documentation } : {}) });
    if (c.searchParams) r.searchParam = c.searchParams.map((p) => ({ ...p }));
  };
  const addOperation = (
    list: fhir4.CapabilityStatementRestResourceOperation[],
    c: Capability & { kind: 'operation' },
  ) => {
    if (list.some((op) => op.name === c.name)) throw new Error(`operation ${c.name} is declared twice`);
    list.push({
      name: c.name,
      definition: c.definition,
      ...(c.documentation ? { documentation: c.documentation } : {}),
    });
  };

  for (const c of capabilities) {
    switch (c.kind) {
      case 'capabilities':
        break;
      case 'system':
        if (system.some((i) => i.code === c.code)) throw new Error(`${c.code} is declared twice`);
        system.push({ code: c.code, ...(c.documentation ? { documentation: c.documentation } : {}) });
        break;
      case 'type':
        if (c.type !== EVERY_OTHER_TYPE) addType(c.type, c);
        break;
      case 'operation':
        addOperation(c.type ? (resource(c.type).operation ??= []) : operations, c);
        break;
      case 'note':
        notes.push(c.documentation);
        break;
    }
  }
  // After the named types, which they leave out.
  for (const c of capabilities) {
    if (c.kind !== 'type' || c.type !== EVERY_OTHER_TYPE) continue;
    const declared = typesDeclaredFor(capabilities, c.code);
    for (const type of r4ResourceTypes()) if (!declared.has(type)) addType(type, c);
  }

  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: o.startedAt,
    publisher: o.hospitalName,
    kind: 'instance',
    software: { name: 'PHR Ledger gateway', version: o.softwareVersion },
    implementation: { description: `PHR Ledger FHIR gateway of ${o.hospitalName}`, url: o.baseUrl },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        ...(notes.length > 0 ? { documentation: notes.join('\n\n') } : {}),
        security: {
          cors: false,
          service: [
            {
              coding: [
                { system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'Certificates' },
              ],
              text: 'Mutual TLS with a client certificate issued by the hospital Fabric CA (role in the phr.role attribute)',
            },
          ],
          description: 'Every request needs a client certificate; the role attribute decides what it may do.',
        },
        ...(resources.size > 0 ? { resource: [...resources.keys()].sort().map((t) => inOrder(resource(t))) } : {}),
        ...(system.length > 0 ? { interaction: system } : {}),
        ...(operations.length > 0 ? { operation: operations } : {}),
      },
    ],
  };
}

/** The elements of a resource entry in the order R4 defines them, however they were added. */
function inOrder(r: Resource): Resource {
  return {
    type: r.type,
    ...(r.documentation ? { documentation: r.documentation } : {}),
    ...(r.interaction ? { interaction: r.interaction } : {}),
    ...(r.searchParam ? { searchParam: r.searchParam } : {}),
    ...(r.operation ? { operation: r.operation } : {}),
  };
}
