import { operationOutcome, type OperationOutcomeResource } from '@phr/common';

/** Lenient search: parameters we do not support are ignored, and we say which. */
export function ignoredParamsOutcome(names: readonly string[]): OperationOutcomeResource | undefined {
  if (names.length === 0) return undefined;
  return operationOutcome(
    names.map((name) => ({
      severity: 'warning',
      code: 'not-supported',
      diagnostics: `search parameter ${name} is not supported here and was ignored`,
    })),
  );
}
