import { FhirError, operationOutcome, outcomeText } from './fhir-errors';

describe('outcomeText', () => {
  it('reads what an OperationOutcome says, issue by issue', () => {
    const body = JSON.stringify(new FhirError(403, 'the consent does not cover this').outcome);
    expect(outcomeText(body)).toBe('the consent does not cover this');
    const two = operationOutcome([
      { severity: 'error', code: 'invalid', diagnostics: 'first' },
      { severity: 'error', code: 'invalid', details: { text: 'second' } } as never,
    ]);
    expect(outcomeText(JSON.stringify(two))).toBe('first; second');
  });

  it('falls back to the start of any other body', () => {
    expect(outcomeText('<html>bad gateway</html>')).toBe('<html>bad gateway</html>');
    expect(outcomeText('x'.repeat(500))).toHaveLength(200);
    expect(outcomeText('')).toBe('(no body)');
    expect(outcomeText(JSON.stringify({ resourceType: 'OperationOutcome', issue: [] }))).toContain('OperationOutcome');
  });
});
