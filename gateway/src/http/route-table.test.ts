import { ALL_ROLES, FhirError, PATIENTS_MSP_ID, Roles } from '@phr/common';
import type { Principal } from '../auth/principal';
import type { CcdaIngestDeps } from '../ccda/ccda-ingest';
import { capabilityStatement, CCDA_OPERATION_URL } from '../fhir/capability-statement';
import { AUDIT_EVENT_SEARCH_PARAMS, CONSENT_SEARCH_PARAMS } from '../fhir/handlers';
import { r4ResourceTypes } from '../fhir/r4-resource-types';
import { FhirValidator, hasErrors } from '../fhir/validation';
import type { PatientDirectory } from '../identity/patient-directory';
import type { IngestService } from '../ingest/ingest-service';
import { PULL_SEARCH_PARAMS } from '../pull/pull-search';
import type { PullService } from '../pull/pull-service';
import { bodyReader } from './body';
import { fhirRoutes, type RouteTableDeps } from './route-table';

const HOSPITAL = 'Hospital1MSP';
const options = {
  baseUrl: 'https://gw.example/fhir',
  hospitalName: 'Hospital 1',
  softwareVersion: '0.1.0',
  startedAt: '2026-06-01T00:00:00.000Z',
};

/** The table with services that are never called: building it must not touch them. */
function table(withPulls = true) {
  const deps: RouteTableDeps = {
    hospital: { mspId: HOSPITAL, displayName: 'Hospital 1' },
    baseUrl: 'https://gw.example',
    version: '0.1.0',
    startedAt: options.startedAt,
    limits: { maxBundleBytes: 1024, maxDepth: 64, maxCcdaBytes: 1024 },
    body: bodyReader(),
    ingest: {} as IngestService,
    ccda: {} as CcdaIngestDeps,
    ledger: {} as RouteTableDeps['ledger'],
    patients: {} as PatientDirectory,
    ...(withPulls ? { pulls: {} as PullService } : {}),
  };
  return fhirRoutes(deps);
}

function statementOf(routes: ReturnType<typeof table>) {
  const rest = capabilityStatement(
    options,
    routes.flatMap((r) => r.answers),
  ).rest?.[0];
  if (!rest) throw new Error('no rest');
  return rest;
}

describe('the route table', () => {
  const rest = statementOf(table());
  const resource = (type: string) => rest.resource?.find((r) => r.type === type);

  it('yields a CapabilityStatement that passes R4 validation', () => {
    const cs = capabilityStatement(
      options,
      table().flatMap((r) => r.answers),
    );
    expect(hasErrors(FhirValidator.create().validateResource(cs))).toBe(false);
  });

  it('lists the search parameters the handlers understand, no more', () => {
    const params = (type: string) => resource(type)?.searchParam?.map((p) => p.name);
    expect(params('Consent')).toEqual([...CONSENT_SEARCH_PARAMS]);
    expect(params('AuditEvent')).toEqual([...AUDIT_EVENT_SEARCH_PARAMS]);
    expect(params('Observation')).toEqual([...PULL_SEARCH_PARAMS]);
  });

  it('lists the ledger projections: search, read and create on Consent, search only on AuditEvent', () => {
    const interactions = (type: string) => resource(type)?.interaction?.map((i) => i.code);
    expect(interactions('Consent')).toEqual(['search-type', 'read', 'create']);
    expect(interactions('AuditEvent')).toEqual(['search-type']);
    expect(rest.interaction?.map((i) => i.code)).toEqual(['transaction', 'batch']);
    expect(rest.operation?.map((o) => [o.name, o.definition])).toEqual([
      ['ccda', CCDA_OPERATION_URL],
      ['verify', 'https://phr-ledger.dev/fhir/OperationDefinition/verify'],
    ]);
  });

  it('lists the pull: a search on every other R4 type, $everything on Patient, the answers that come later', () => {
    const searched = (rest.resource ?? [])
      .filter((r) => r.interaction?.some((i) => i.code === 'search-type'))
      .map((r) => r.type);
    expect(searched).toEqual([...r4ResourceTypes()]);
    expect(resource('Patient')?.operation?.map((o) => o.name)).toEqual(['everything']);
    expect(rest.documentation).toContain('https://gw.example/fhir/_pull/{id}');
  });

  it('lists no pull when the gateway cannot pull (ledger mode none)', () => {
    const without = statementOf(table(false));
    expect(without.resource?.map((r) => r.type)).toEqual(['AuditEvent', 'Consent']);
    expect(without.documentation).not.toContain('_pull');
  });

  it('lets exactly the roles each route declares through its access check', () => {
    const principal = (role: Principal['role'], mspId: string): Principal => ({
      role,
      mspId,
      id: 'caller',
      emergency: false,
      certificatePem: '',
    });
    const refusal = (check: () => void): number | undefined => {
      try {
        check();
        return undefined;
      } catch (err) {
        return err instanceof FhirError ? err.status : -1;
      }
    };
    for (const route of table()) {
      for (const role of ALL_ROLES) {
        const caller = principal(role, role === Roles.Patient ? PATIENTS_MSP_ID : HOSPITAL);
        const declared = route.access.roles === 'any' || route.access.roles.includes(role);
        expect([route.method, route.path, role, refusal(() => route.access.check(caller))]).toEqual([
          route.method,
          route.path,
          role,
          declared ? undefined : 403,
        ]);
      }
    }
    const ingest = table().find((r) => r.method === 'POST' && r.path === '/fhir');
    expect(refusal(() => ingest?.access.check(principal(Roles.Ehr, 'Hospital2MSP')))).toBe(403);
  });
});
