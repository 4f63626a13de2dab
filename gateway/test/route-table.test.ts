import type { Express } from 'express';
import type { CapabilityStatement, CapabilityStatementRest } from 'fhir/r4';
import { r4ResourceTypes } from '../src/fhir/r4-resource-types';
import { GatewayHarness, type HttpAnswer, type OutcomeBody } from '@phr/test-support/gateway';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(120_000);

/** A route as Express holds it. */
interface Registered {
  method: string;
  path: string;
}

/** Every route of the app, nested routers included, with its full path. */
function registeredRoutes(app: Express): Registered[] {
  interface Layer {
    route?: { path: unknown; methods: Record<string, boolean> };
    handle?: { stack?: Layer[] };
    /** The mount path as given to `use` (router's Layer). */
    rawPath?: string | RegExp | (string | RegExp)[];
  }
  const found: Registered[] = [];
  const walk = (stack: readonly Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) {
          if (method !== '_all')
            found.push({ method: method.toUpperCase(), path: `${prefix}${String(layer.route.path)}` });
        }
      } else if (layer.handle?.stack) {
        const mount = String(layer.rawPath ?? '/');
        walk(layer.handle.stack, mount === '/' ? prefix : `${prefix}${mount}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return found;
}

/** The 404 of a path no route takes (the final handler), not a route's own "no such consent". */
function unrouted(answer: HttpAnswer): boolean {
  const diagnostics = (answer.json as OutcomeBody | undefined)?.issue?.[0]?.diagnostics ?? '';
  return answer.status === 404 && diagnostics.startsWith('no such endpoint');
}

const isFhirPath = (path: string) => path === '/fhir' || path.startsWith('/fhir/') || path === '/ccda';

describe('the CapabilityStatement says exactly what the gateway answers (route table)', () => {
  let h: GatewayHarness;
  let rest: CapabilityStatementRest;
  let pseudonym: string;
  /** As a clinician: every route answers it, if only with 403, so a 404 can only mean "no route". */
  const probe = (method: string, path: string) => h.request(h.clients.clinician, method, path);

  beforeAll(async () => {
    h = await GatewayHarness.create();
    const cs = (await probe('GET', '/fhir/metadata')).json as CapabilityStatement;
    rest = cs.rest?.[0] as CapabilityStatementRest;
    pseudonym = (await h.newPatient('routes')).pseudonym;
  });
  afterAll(async () => {
    await h.close();
  });

  /** Whether the statement lists `route`, read by FHIR's URL grammar. */
  function listed({ method, path }: Registered): boolean {
    const resource = (type: string) => rest.resource?.find((r) => r.type === type);
    const has = (type: string, code: string) => resource(type)?.interaction?.some((i) => i.code === code) ?? false;
    const hasOperation = (name: string, type?: string) =>
      ((type ? resource(type)?.operation : rest.operation) ?? []).some((o) => o.name === name);
    if (path === '/ccda') return method === 'POST' && hasOperation('ccda');
    const [, type, third, fourth, ...more] = path.split('/').filter((s) => s !== '');
    if (more.length > 0) return false;
    if (type === undefined) return method === 'POST' && (rest.interaction ?? []).some((i) => i.code === 'transaction');
    if (type === 'metadata') return method === 'GET' && third === undefined;
    if (type.startsWith('$')) return third === undefined && hasOperation(type.slice(1));
    if (type === '_pull') return method === 'GET' && (rest.documentation ?? '').includes('/fhir/_pull/{id}');
    // Which types `:type` takes is checked on its own below.
    const search = (t: string) =>
      type === ':type' ? (rest.resource ?? []).some((r) => has(r.type, 'search-type')) : has(t, 'search-type');
    if (third === undefined) return method === 'GET' ? search(type) : method === 'POST' && has(type, 'create');
    if (third === '_search') return method === 'POST' && fourth === undefined && search(type);
    if (!third.startsWith(':')) return false;
    if (fourth === undefined) return method === 'GET' && has(type, 'read');
    return fourth.startsWith('$') && hasOperation(fourth.slice(1), type);
  }

  it('answers every interaction it lists', async () => {
    const asked: [method: string, path: string, what: string][] = [];
    for (const i of rest.interaction ?? []) asked.push(['POST', '/fhir', i.code]);
    for (const op of rest.operation ?? []) {
      // ccda is not FHIR's: its documentation says it is at /ccda, beside /fhir.
      asked.push(['POST', op.name === 'ccda' ? '/ccda' : `/fhir/$${op.name}`, `$${op.name}`]);
    }
    for (const r of rest.resource ?? []) {
      for (const i of r.interaction ?? []) {
        const what = `${i.code} ${r.type}`;
        if (i.code === 'search-type') {
          asked.push(['GET', `/fhir/${r.type}`, what], ['POST', `/fhir/${r.type}/_search`, what]);
        } else if (i.code === 'read') asked.push(['GET', `/fhir/${r.type}/consent-none-0009`, what]);
        else if (i.code === 'create') asked.push(['POST', `/fhir/${r.type}`, what]);
        else asked.push(['?', '?', `${what}: an interaction this test does not know`]);
      }
      for (const op of r.operation ?? [])
        asked.push(['GET', `/fhir/${r.type}/${pseudonym}/$${op.name}`, `$${op.name}`]);
    }
    if (rest.documentation?.includes('/fhir/_pull/{id}')) {
      asked.push(['GET', '/fhir/_pull/0b0f8b0e-0d4e-4c39-9a57-6f0f0a0a0a0a', 'the answers that come later']);
    }
    expect(asked.length).toBeGreaterThan(2 * 146);

    const unanswered: string[] = [];
    for (const [method, path, what] of asked) {
      if (method === '?' || unrouted(await probe(method, path))) unanswered.push(`${what}: ${method} ${path}`);
    }
    expect(unanswered).toEqual([]);
  });

  it('lists every FHIR route the gateway has', () => {
    const routes = registeredRoutes(h.gateway.app).filter((r) => isFhirPath(r.path));
    // the table's routes, and the POST form of each search
    expect(routes.length).toBeGreaterThanOrEqual(14);
    const unlisted = routes.filter((r) => !listed(r)).map((r) => `${r.method} ${r.path}`);
    expect(unlisted).toEqual([]);
  });

  it('takes in /fhir/{type} exactly the types it lists a search for', async () => {
    const differ: string[] = [];
    for (const type of r4ResourceTypes()) {
      const searchable = rest.resource
        ?.find((r) => r.type === type)
        ?.interaction?.some((i) => i.code === 'search-type');
      for (const [method, path] of [
        ['GET', `/fhir/${type}`],
        ['POST', `/fhir/${type}/_search`],
      ] as const) {
        if (unrouted(await probe(method, path)) === Boolean(searchable)) {
          differ.push(`${method} ${path}: ${searchable ? 'listed, not answered' : 'answered, not listed'}`);
        }
      }
    }
    expect(differ).toEqual([]);
  });
});
