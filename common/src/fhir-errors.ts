/**
 * FHIR error types shared by every HTTP service. Handlers throw `FhirError`; only the HTTP edge
 * turns it into an OperationOutcome response (one normalizer per service).
 */

export const ISSUE_SEVERITIES = ['fatal', 'error', 'warning', 'information'] as const;
export type IssueSeverity = (typeof ISSUE_SEVERITIES)[number];

/** The subset of http://hl7.org/fhir/issue-type we produce. */
export const ISSUE_TYPES = [
  'invalid',
  'structure',
  'required',
  'value',
  'invariant',
  'security',
  'login',
  'unknown',
  'expired',
  'forbidden',
  'suppressed',
  'processing',
  'not-supported',
  'duplicate',
  'multiple-matches',
  'not-found',
  'too-long',
  'code-invalid',
  'extension',
  'too-costly',
  'business-rule',
  'conflict',
  'transient',
  'lock-error',
  'no-store',
  'exception',
  'timeout',
  'incomplete',
  'throttled',
  'informational',
] as const;
export type IssueType = (typeof ISSUE_TYPES)[number];

export interface OutcomeIssue {
  severity: IssueSeverity;
  code: IssueType;
  diagnostics?: string;
  /** FHIRPath expressions locating the problem, e.g. `Bundle.entry[3].resource.status`. */
  expression?: string[];
}

export interface OperationOutcomeResource {
  resourceType: 'OperationOutcome';
  id?: string;
  issue: OutcomeIssue[];
}

export function operationOutcome(issues: readonly OutcomeIssue[]): OperationOutcomeResource {
  return { resourceType: 'OperationOutcome', issue: issues.map((i) => ({ ...i })) };
}

/**
 * What an OperationOutcome answer says, for a client to show or report: its issues' diagnostics
 * (or details text), else the start of the body. Gateways explain every error this way.
 */
export function outcomeText(body: string): string {
  try {
    const outcome = JSON.parse(body) as { issue?: { diagnostics?: string; details?: { text?: string } }[] };
    const parts = (outcome.issue ?? []).map((i) => i.diagnostics ?? i.details?.text).filter(Boolean);
    if (parts.length > 0) return parts.join('; ');
  } catch {
    // not JSON: fall through
  }
  return body.slice(0, 200) || '(no body)';
}

/** An error that is answered as an OperationOutcome with `status`. */
export class FhirError extends Error {
  override readonly name = 'FhirError';
  readonly status: number;
  readonly issues: OutcomeIssue[];

  constructor(status: number, issues: OutcomeIssue[] | string, options?: { cause?: unknown }) {
    const list: OutcomeIssue[] =
      typeof issues === 'string' ? [{ severity: 'error', code: codeForStatus(status), diagnostics: issues }] : issues;
    super(list.map((i) => i.diagnostics ?? i.code).join('; '), options);
    this.status = status;
    this.issues = list;
  }

  /** The first issue's type: a stable, machine-readable code for callers and logs. */
  get code(): IssueType {
    return this.issues[0]?.code ?? 'exception';
  }

  get outcome(): OperationOutcomeResource {
    return operationOutcome(this.issues);
  }
}

function codeForStatus(status: number): IssueType {
  switch (status) {
    case 400:
      return 'invalid';
    case 401:
      return 'login';
    case 403:
      return 'forbidden';
    case 404:
      return 'not-found';
    case 405:
    case 406:
    case 415:
      return 'not-supported';
    case 409:
      return 'conflict';
    case 410:
      return 'expired';
    case 412:
      return 'conflict';
    case 413:
      return 'too-costly';
    case 422:
      return 'business-rule';
    case 429:
      return 'throttled';
    case 503:
      return 'transient';
    case 504:
      return 'timeout';
    default:
      return status >= 500 ? 'exception' : 'invalid';
  }
}

const issue = (code: IssueType, diagnostics: string, expression?: string[]): OutcomeIssue => ({
  severity: 'error',
  code,
  diagnostics,
  ...(expression ? { expression } : {}),
});

export const badRequest = (msg: string, expression?: string[]) =>
  new FhirError(400, [issue('invalid', msg, expression)]);
export const unauthorized = (msg: string) => new FhirError(401, [issue('login', msg)]);
export const forbiddenError = (msg: string) => new FhirError(403, [issue('forbidden', msg)]);
export const notFoundError = (msg: string) => new FhirError(404, [issue('not-found', msg)]);
export const conflictError = (msg: string) => new FhirError(409, [issue('conflict', msg)]);
export const unprocessable = (msg: string, expression?: string[]) =>
  new FhirError(422, [issue('business-rule', msg, expression)]);
export const unavailable = (msg: string) => new FhirError(503, [issue('transient', msg)]);
