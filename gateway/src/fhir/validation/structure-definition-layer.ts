import { OperationOutcomeError, validateResource as medplumValidate } from '@medplum/core';
import type { IssueSeverity, IssueType } from '@phr/common';
import { ISSUE_SEVERITIES, ISSUE_TYPES } from '@phr/common';
import { medplumPathToKeyPath } from './element-path';
import type { RawIssue } from './raw-issue';

/**
 * The StructureDefinition layer: Medplum's `validateResource` over the R4 definitions loaded by
 * `loadR4Definitions`. It knows cardinalities (incl. choice types), element types and the invariants
 * written on resource elements (e.g. `ras-2`, `bdl-3`).
 */

interface MedplumIssue {
  severity?: string;
  code?: string;
  details?: { text?: string };
  diagnostics?: string;
  expression?: string[];
}

/**
 * Medplum checks a Reference's type by splitting `reference` at the first '/', which is wrong for
 * `urn:uuid:` and absolute URLs (every Synthea reference would warn). The gateway checks the
 * type of references it can resolve inside the bundle instead.
 */
const UNRELIABLE_WARNING = /^Invalid reference: got /;

/**
 * Medplum refuses an Attachment over 1 MiB by default: a C-CDA document (attached whole to its
 * DocumentReference) or a PDF report is often larger. The request's own limits (limits.maxBundleBytes,
 * limits.maxCcdaBytes) bound what arrives; this only keeps Medplum's check from refusing below them.
 */
const BASE64_BINARY_MAX_BYTES = 1024 * 1024 * 1024;

export function structureDefinitionIssues(resource: Record<string, unknown>): RawIssue[] {
  let reported: MedplumIssue[];
  try {
    reported = medplumValidate(resource as Parameters<typeof medplumValidate>[0], {
      base64BinaryMaxBytes: BASE64_BINARY_MAX_BYTES,
    }) as MedplumIssue[];
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) {
      // Content too malformed for Medplum's crawler (e.g. an object where an array belongs); the
      // JSON-schema layer reports the cause with its location.
      return [
        {
          severity: 'error',
          code: 'processing',
          diagnostics: 'The StructureDefinition validator could not process this content',
          path: [],
          source: 'structure-definition',
        },
      ];
    }
    // typed as @medplum/fhirtypes' OperationOutcome, a package not installed here
    const outcome = error.outcome as { issue?: MedplumIssue[] };
    reported = outcome.issue ?? [];
  }
  const issues: RawIssue[] = [];
  for (const reportedIssue of reported) {
    const text = reportedIssue.details?.text ?? reportedIssue.diagnostics ?? 'Invalid content';
    const severity = asSeverity(reportedIssue.severity);
    if (severity !== 'error' && severity !== 'fatal' && UNRELIABLE_WARNING.test(text)) continue;
    const where = reportedIssue.expression?.[0];
    const path = where === undefined ? [] : medplumPathToKeyPath(where, resource);
    issues.push({
      severity,
      code: asIssueType(reportedIssue.code),
      diagnostics: text,
      ...(path ? { path } : { expression: where }),
      source: 'structure-definition',
    });
  }
  return issues;
}

function asSeverity(value: string | undefined): IssueSeverity {
  return (ISSUE_SEVERITIES as readonly string[]).includes(value ?? '') ? (value as IssueSeverity) : 'error';
}

function asIssueType(value: string | undefined): IssueType {
  return (ISSUE_TYPES as readonly string[]).includes(value ?? '') ? (value as IssueType) : 'invalid';
}
