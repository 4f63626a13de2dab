import type { RequestHandler, Response } from 'express';
import type { TLSSocket } from 'node:tls';
import type { Role } from '@phr/common';
import type { ClientCertificateAuthenticator } from '../auth/client-certificate';
import type { Principal } from '../auth/principal';
import { checkRole } from './access';

/** Establishes the caller from its TLS client certificate for every request that reaches a route. */
export function authenticate(authenticator: ClientCertificateAuthenticator): RequestHandler {
  return (req, res, next) => {
    res.locals.principal = authenticator.authenticate(req.socket as TLSSocket);
    next();
  };
}

export function principalOf(res: Response): Principal {
  return res.locals.principal as Principal;
}

/**
 * Route middleware, placed before the body is read: the caller must hold one of `roles` (issued by
 * `mspId` when given). The role is in the client certificate, so a caller that may not use the
 * route is answered 403 without the gateway reading (or waiting for) its body.
 */
export function allow(roles: readonly Role[], mspId?: string): RequestHandler {
  return (_req, res, next) => {
    requireRole(res, roles, mspId);
    next();
  };
}

/** The caller must hold one of `roles`, issued by `mspId` (this hospital) when given. */
export function requireRole(res: Response, roles: readonly Role[], mspId?: string): Principal {
  const p = principalOf(res);
  checkRole(p, roles, mspId);
  return p;
}
