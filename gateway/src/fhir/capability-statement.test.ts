import { AUDIT_EVENT_SEARCH_PARAMS, CONSENT_SEARCH_PARAMS } from './handlers';
import { capabilityStatement } from './capability-statement';
import { FhirValidator, hasErrors } from './validation';

describe('capabilityStatement', () => {
  const cs = capabilityStatement({
    baseUrl: 'https://gw.example/fhir',
    hospitalName: 'Hospital 1',
    softwareVersion: '0.1.0',
    startedAt: '2026-06-01T00:00:00.000Z',
  }) as {
    rest: {
      resource: { type: string; interaction: { code: string }[]; searchParam: { name: string }[] }[];
      operation: { name: string }[];
    }[];
  };

  it('passes R4 validation', () => {
    expect(hasErrors(FhirValidator.create().validateResource(cs))).toBe(false);
  });

  it('lists the search parameters the handlers understand, no more', () => {
    const params = (type: string) => cs.rest[0]?.resource.find((r) => r.type === type)?.searchParam.map((p) => p.name);
    expect(params('Consent')).toEqual([...CONSENT_SEARCH_PARAMS]);
    expect(params('AuditEvent')).toEqual([...AUDIT_EVENT_SEARCH_PARAMS]);
    expect(cs.rest[0]?.operation.map((o) => o.name)).toEqual(['ccda', 'verify']);
  });

  it('lists create on Consent (patient-signed consents) and search only on AuditEvent', () => {
    const interactions = (type: string) =>
      cs.rest[0]?.resource.find((r) => r.type === type)?.interaction.map((i) => i.code);
    expect(interactions('Consent')).toEqual(['search-type', 'read', 'create']);
    expect(interactions('AuditEvent')).toEqual(['search-type']);
  });
});
