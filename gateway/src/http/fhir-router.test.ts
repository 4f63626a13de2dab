import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Roles, type Role } from '@phr/common';
import pino from 'pino';
import { EVERY_OTHER_TYPE } from '../fhir/capability-statement';
import { anyCaller, withRole } from './access';
import { bodyReader } from './body';
import { errorHandler, notFoundHandler } from './error-handler';
import type { FhirRoute, RouteHandler } from './fhir-route';
import { fhirRouter } from './fhir-router';

/** Answers which route took the request, with the parameters it got. */
const says =
  (name: string): RouteHandler =>
  (req, res, params) => {
    res.json({ name, type: req.params['type'], params });
  };

const search = (path: string, type: string, name: string, form = true): FhirRoute => ({
  method: 'GET',
  path,
  ...(form ? { searchForm: { maxBytes: 1024 } } : {}),
  access: withRole([Roles.Clinician]),
  answers: [{ kind: 'type', type, code: 'search-type' }],
  handler: says(name),
});

// The generic route first: the router, not the table's order, puts the literal ones before it.
const routes: FhirRoute[] = [
  search('/fhir/:type', EVERY_OTHER_TYPE, 'pull'),
  search('/fhir/Consent', 'Consent', 'consents'),
  // Its own search, but no POST form of it: POST /fhir/AuditEvent/_search is no pull either.
  search('/fhir/AuditEvent', 'AuditEvent', 'audit', false),
  {
    method: 'GET',
    path: '/fhir/metadata',
    access: anyCaller,
    answers: [{ kind: 'capabilities' }],
    handler: says('metadata'),
  },
  {
    method: 'POST',
    path: '/fhir/Consent',
    access: anyCaller,
    answers: [{ kind: 'type', type: 'Consent', code: 'create' }],
    handler: says('create'),
  },
];

describe('fhirRouter', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    const app = express();
    app.use((req, res, next) => {
      res.locals.principal = { role: (req.get('x-role') ?? Roles.Clinician) as Role, mspId: 'M', id: 'x' };
      next();
    });
    app.use(fhirRouter(routes, bodyReader()));
    app.use(notFoundHandler);
    app.use(errorHandler(pino({ level: 'silent' })));
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const call = async (method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) => {
    const res = await fetch(`${url}${path}`, { method, ...init });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it('tries literal paths before a parameter, whatever the order of the table', async () => {
    expect((await call('GET', '/fhir/Consent?patient=p')).json['name']).toBe('consents');
    expect((await call('GET', '/fhir/metadata')).json['name']).toBe('metadata');
    expect((await call('GET', '/fhir/Observation?patient=p')).json).toEqual({
      name: 'pull',
      type: 'Observation',
      params: { patient: 'p' },
    });
  });

  it('gives :type no type the table declares the interaction for, and no segment FHIR reserves', async () => {
    expect((await call('POST', '/fhir/Consent/_search')).json['name']).toBe('consents');
    for (const path of [
      '/fhir/AuditEvent/_search',
      '/fhir/metadata/_search',
      '/fhir/$verify/_search',
      '/fhir/_pull/_search',
    ]) {
      expect([path, (await call('POST', path)).status]).toEqual([path, 404]);
    }
    for (const path of ['/fhir/$everything', '/fhir/_history']) expect((await call('GET', path)).status).toBe(404);
  });

  it('answers a search as POST {path}/_search too, with the form fields as parameters', async () => {
    const res = await call('POST', '/fhir/Condition/_search?patient=p', {
      body: 'code=a%7Cb',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.json).toEqual({ name: 'pull', type: 'Condition', params: { patient: 'p', code: 'a|b' } });
  });

  it('checks who is calling before the route looks at anything', async () => {
    for (const [method, path] of [
      ['GET', '/fhir/Observation'],
      ['POST', '/fhir/Observation/_search'],
      ['GET', '/fhir/Consent'],
    ] as const) {
      const res = await call(method, path, { headers: { 'x-role': Roles.Ehr } });
      expect([method, path, res.status]).toEqual([method, path, 403]);
    }
    expect((await call('POST', '/fhir/Consent', { headers: { 'x-role': Roles.Ehr } })).json['name']).toBe('create');
  });

  it('refuses a table that declares the same route twice, or :type without a type it stands for', () => {
    expect(() => fhirRouter([...routes, search('/fhir/consent', 'Other', 'again')], bodyReader())).toThrow(
      /declares GET \/fhir\/consent twice/,
    );
    expect(() =>
      fhirRouter(
        [
          {
            method: 'GET',
            path: '/fhir/:type',
            access: anyCaller,
            answers: [{ kind: 'capabilities' }],
            handler: says('x'),
          },
        ],
        bodyReader(),
      ),
    ).toThrow(/answers for no type/);
  });
});
