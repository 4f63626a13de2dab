import { FhirError, type OutcomeIssue } from '@phr/common';

/** What the conversion left out or had to state: answered to the hospital, never dropped silently. */
export function warning(diagnostics: string): OutcomeIssue {
  return { severity: 'warning', code: 'incomplete', diagnostics };
}

/** A document the gateway cannot deliver (no patient, no clinical content, unreadable by the converter). */
export function unprocessable(diagnostics: string): FhirError {
  return new FhirError(422, [{ severity: 'error', code: 'processing', diagnostics }]);
}
