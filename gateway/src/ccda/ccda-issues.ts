import { FhirError, type OutcomeIssue } from '@phr/common';

/** What the conversion left out or had to state: answered to the hospital, never dropped silently. */
export function warning(diagnostics: string): OutcomeIssue {
  return { severity: 'warning', code: 'incomplete', diagnostics };
}

/** A document the gateway cannot deliver (no patient, no clinical content, unreadable by the converter). */
export function unprocessable(diagnostics: string): FhirError {
  return new FhirError(422, [{ severity: 'error', code: 'processing', diagnostics }]);
}

/** A CodeableConcept's text, or its first display or code, for naming a resource in a warning. */
export function describe(concept: unknown): string {
  const c = concept as { text?: unknown; coding?: { display?: unknown; code?: unknown }[] } | undefined;
  const text = c?.text ?? c?.coding?.[0]?.display ?? c?.coding?.[0]?.code;
  return typeof text === 'string' ? text.trim().slice(0, 80) : '';
}
