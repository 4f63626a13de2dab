import type { ValidateFunction } from 'ajv';
import type { OutcomeIssue } from '@phr/common';
import { bundleIssues } from './bundle-rules';
import { isObject, renderFhirPath } from './element-path';
import { FhirTypeIndex, loadR4Definitions } from './fhir-types';
import { compileHl7Schema, schemaIssues } from './hl7-json-schema';
import type { IssueSource, RawIssue } from './raw-issue';
import { ResourceRules } from './resource-rules';
import { structureDefinitionIssues } from './structure-definition-layer';

/**
 * FHIR R4 validation for the gateway: Medplum's StructureDefinition validator, HL7's R4 JSON schema
 * (ajv), and the gateway's own checks (resource-rules.ts, bundle-rules.ts, narrative.ts). Each layer
 * runs once over the whole resource or bundle (so each entry is validated once); their reports are
 * located with FHIRPath (`Bundle.entry[3].resource.code.coding[0].system`) and deduplicated.
 *
 * An instance holds only immutable compiled definitions and caches that never change a result, so
 * one instance can serve many requests; worker threads each create their own.
 */
export class FhirValidator {
  private constructor(
    private readonly schema: ValidateFunction,
    private readonly types: FhirTypeIndex,
    private readonly rules: ResourceRules,
  ) {}

  /** Loads the R4 definitions and compiles the JSON schema (once per process or worker; ~3 s). */
  static create(): FhirValidator {
    loadR4Definitions();
    const types = new FhirTypeIndex();
    return new FhirValidator(compileHl7Schema(), types, new ResourceRules(types));
  }

  /**
   * All issues (fatal/error/warning) for one resource, including everything inside it (contained
   * resources; for a Bundle, its entries and the bundle rules). Expressions start with `basePath`
   * (default: the resource type), e.g. `Bundle.entry[3].resource`.
   */
  validateResource(resource: unknown, basePath?: string): OutcomeIssue[] {
    const resourceType = isObject(resource) ? resource['resourceType'] : undefined;
    if (!isObject(resource) || typeof resourceType !== 'string') {
      return [
        {
          severity: 'error',
          code: 'structure',
          diagnostics: 'Expected a FHIR resource: a JSON object with a resourceType',
          expression: [basePath ?? 'Resource'],
        },
      ];
    }
    const root = basePath ?? resourceType;
    if (!this.types.resourceSchema(resourceType)) {
      return [
        {
          severity: 'error',
          code: 'not-supported',
          diagnostics: 'resourceType is not an R4 resource type',
          expression: [`${root}.resourceType`],
        },
      ];
    }
    const walk = this.rules.check(resource);
    const raw: RawIssue[] = [
      ...walk.issues,
      ...(resourceType === 'Bundle' ? bundleIssues(resource, walk.references) : []),
      ...structureDefinitionIssues(resource),
      ...schemaIssues(this.schema, resource),
    ];
    return this.finish(raw, resource, resourceType, root);
  }

  /** Bundle rules plus every entry's resource; expressions like `Bundle.entry[3].resource.status`. */
  validateBundle(bundle: unknown): OutcomeIssue[] {
    if (!isObject(bundle) || bundle['resourceType'] !== 'Bundle') {
      return [{ severity: 'error', code: 'structure', diagnostics: 'Expected a Bundle', expression: ['Bundle'] }];
    }
    return this.validateResource(bundle, 'Bundle');
  }

  /**
   * Renders locations and drops an issue when another layer already reported one at the same
   * element with the same severity (e.g. Medplum's "Missing required property" and the schema's
   * `required` for the same element): the first layer's wording wins (gateway, StructureDefinition,
   * JSON schema, in that order).
   */
  private finish(raw: RawIssue[], resource: Record<string, unknown>, type: string, root: string): OutcomeIssue[] {
    const seen = new Map<string, IssueSource>();
    const exact = new Set<string>();
    const out: OutcomeIssue[] = [];
    for (const issue of raw) {
      const expression = issue.path
        ? renderFhirPath(this.types, resource, root, issue.path)
        : rebase(issue.expression ?? type, type, root);
      const level = issue.severity === 'fatal' || issue.severity === 'error' ? 'error' : issue.severity;
      const key = `${level}|${expression}`;
      const firstSource = seen.get(key);
      if (firstSource !== undefined && firstSource !== issue.source) continue;
      const exactKey = `${key}|${issue.diagnostics}`;
      if (exact.has(exactKey)) continue;
      seen.set(key, firstSource ?? issue.source);
      exact.add(exactKey);
      out.push({
        severity: issue.severity,
        code: issue.code,
        diagnostics: issue.diagnostics,
        expression: [expression],
      });
    }
    return out;
  }
}

function rebase(expression: string, type: string, root: string): string {
  return expression === type || expression.startsWith(`${type}.`) ? root + expression.slice(type.length) : expression;
}

export function hasErrors(issues: readonly OutcomeIssue[]): boolean {
  return issues.some((issue) => issue.severity === 'error' || issue.severity === 'fatal');
}
