import { Router, type RequestHandler } from 'express';
import { EVERY_OTHER_TYPE, typesDeclaredFor, type Capability } from '../fhir/capability-statement';
import type { Access } from './access';
import { principalOf } from './authenticate';
import type { BodyReader } from './body';
import type { FhirRoute } from './fhir-route';

interface Registration {
  method: FhirRoute['method'];
  path: string;
  route: FhirRoute;
  /** The POST form of a search: the form body's limit. */
  formBytes?: number;
}

/**
 * The Express routes of the route table. Their order is worked out here, not by whoever adds a
 * route: at the first segment where two paths differ in kind, the literal one goes first, so
 * `/fhir/Consent` is always tried before `/fhir/:type`. The same method and path twice is refused.
 */
export function fhirRouter(routes: readonly FhirRoute[], body: BodyReader): Router {
  const capabilities = routes.flatMap((r) => r.answers);
  const registrations: Registration[] = routes.flatMap((route) => [
    { method: route.method, path: route.path, route },
    ...(route.searchForm
      ? [{ method: 'POST' as const, path: `${route.path}/_search`, route, formBytes: route.searchForm.maxBytes }]
      : []),
  ]);
  const seen = new Set<string>();
  for (const r of registrations) {
    // Express matches paths case-insensitively: /fhir/consent is /fhir/Consent.
    const key = `${r.method} ${r.path.toLowerCase()}`;
    if (seen.has(key)) throw new Error(`the route table declares ${r.method} ${r.path} twice`);
    seen.add(key);
  }

  const router = Router();
  for (const r of [...registrations].sort((a, b) => bySpecificity(a.path, b.path))) {
    const chain: RequestHandler[] = [];
    if (segments(r.path).includes(':type')) chain.push(typeGuard(r.route, capabilities));
    chain.push(accessCheck(r.route.access));
    if (r.formBytes === undefined) {
      chain.push((req, res) => r.route.handler(req, res, req.query));
    } else {
      chain.push(body.form(r.formBytes), (req, res) =>
        r.route.handler(req, res, { ...req.query, ...((req.body ?? {}) as object) }),
      );
    }
    router[lowerCase(r.method)](r.path, ...chain);
  }
  return router;
}

/** Who before what: before any parameter or body. */
function accessCheck(access: Access): RequestHandler {
  return (_req, res, next) => {
    access.check(principalOf(res));
    next();
  };
}

/**
 * `:type` is every resource type the table says nothing else of for this interaction: a type with
 * its own declaration (Consent, AuditEvent: served from the ledger) or a segment FHIR reserves is
 * passed on, to end as 404 when no other route takes it.
 */
function typeGuard(route: FhirRoute, capabilities: readonly Capability[]): RequestHandler {
  const codes = route.answers.flatMap((c) => (c.kind === 'type' && c.type === EVERY_OTHER_TYPE ? [c.code] : []));
  if (codes.length === 0) throw new Error(`${route.method} ${route.path} takes :type but answers for no type`);
  const declared = new Set(codes.flatMap((code) => [...typesDeclaredFor(capabilities, code)]));
  return (req, _res, next) => {
    const type = String(req.params['type']);
    if (declared.has(type) || isReserved(type)) return next('route');
    next();
  };
}

/** `[base]/metadata`, `[base]/$operation`, `[base]/_history` and the like are never resource types. */
function isReserved(segment: string): boolean {
  return segment === 'metadata' || segment.startsWith('$') || segment.startsWith('_');
}

function bySpecificity(a: string, b: string): number {
  const x = segments(a);
  const y = segments(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const px = x[i]!.startsWith(':');
    const py = y[i]!.startsWith(':');
    if (px !== py) return px ? 1 : -1;
  }
  // Paths of different lengths never match the same URL: any fixed order will do.
  return x.length - y.length;
}

function segments(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function lowerCase(method: FhirRoute['method']): 'get' | 'post' | 'put' | 'delete' {
  return method.toLowerCase() as 'get' | 'post' | 'put' | 'delete';
}
