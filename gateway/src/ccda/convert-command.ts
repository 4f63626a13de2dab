import { readFileSync } from 'node:fs';
import { FhirError, operationOutcome, type OutcomeIssue } from '@phr/common';
import { FhirValidator } from '../fhir/validation';
import { convertCcda } from './ccda-converter';
import { DEFAULT_XML_LIMITS, guardXml } from './xml-guard';

/** What the gateway would do with one C-CDA file, without a network: its Bundle or why not. */
export interface DryRun {
  file: string;
  accepted: boolean;
  bundle?: Record<string, unknown>;
  /** Errors (when refused), then the converter's and the validator's warnings. */
  issues: OutcomeIssue[];
}

/**
 * The gateway's own steps up to the ledger: the hostile-XML guard, the conversion and FHIR
 * validation. The patient's MRN link is the one check it cannot make (it is the hospital's data).
 */
export function dryRun(file: string, validator: FhirValidator): DryRun {
  try {
    const bytes = readFileSync(file);
    const { text } = guardXml(bytes, DEFAULT_XML_LIMITS);
    const { bundle, warnings } = convertCcda(text, bytes);
    // Validated as the gateway validates it: its JSON text parsed (a decimal keeps its text only there).
    const found = validator.validateBundle(JSON.parse(JSON.stringify(bundle)));
    const errors = found.filter((i) => i.severity === 'error' || i.severity === 'fatal');
    const others = found.filter((i) => i.severity !== 'error' && i.severity !== 'fatal');
    return { file, accepted: errors.length === 0, bundle, issues: [...errors, ...warnings, ...others] };
  } catch (err) {
    if (err instanceof FhirError) return { file, accepted: false, issues: err.issues };
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') {
      return {
        file,
        accepted: false,
        issues: [{ severity: 'error', code: 'not-found', diagnostics: `cannot read ${file}: ${code}` }],
      };
    }
    throw err;
  }
}

/**
 * `phr-gateway convert-ccda FILE…`. One file: the Bundle and its OperationOutcome as JSON; exit 0
 * when the gateway would accept it, 1 when not. Several: `accepted FILE` / `refused FILE: <first
 * error>` per file and a count; exit 0 only when all are accepted.
 */
export function convertCcdaCommand(files: readonly string[], out: (line: string) => void): number {
  if (files.length === 0) {
    out('usage: phr-gateway convert-ccda FILE…   (C-CDA R2.1 documents; no network needed)');
    return 2;
  }
  const validator = FhirValidator.create();
  if (files.length === 1) {
    const run = dryRun(files[0]!, validator);
    const outcome = operationOutcome(
      run.issues.length > 0
        ? run.issues
        : [{ severity: 'information', code: 'informational', diagnostics: 'the gateway would accept this document' }],
    );
    out(JSON.stringify(run.accepted ? { bundle: run.bundle, outcome } : { outcome }, null, 2));
    return run.accepted ? 0 : 1;
  }
  let accepted = 0;
  for (const file of files) {
    const run = dryRun(file, validator);
    if (run.accepted) accepted++;
    const first = run.issues.find((i) => i.severity === 'error' || i.severity === 'fatal');
    out(run.accepted ? `accepted ${file}` : `refused ${file}: ${oneLine(firstError(first))}`);
  }
  out(`${accepted} of ${files.length} accepted`);
  return accepted === files.length ? 0 : 1;
}

/** The error and where it is (`Missing required property` alone does not say which). */
function firstError(issue: OutcomeIssue | undefined): string {
  const text = issue?.diagnostics ?? issue?.code ?? 'refused';
  const where = issue?.expression?.[0];
  return where ? `${text} (at ${where})` : text;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').slice(0, 300);
}
