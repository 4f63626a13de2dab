import type { RequestHandler, Response } from 'express';
import type { TLSSocket } from 'node:tls';
import { forbiddenError, type Role } from '@phr/common';
import type { ClientCertificateAuthenticator } from '../auth/client-certificate';
import type { Principal } from '../auth/principal';

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

/** The caller must hold one of `roles`, issued by `mspId` (this hospital) when given. */
export function requireRole(res: Response, roles: readonly Role[], mspId?: string): Principal {
  const p = principalOf(res);
  if (!roles.includes(p.role)) throw forbiddenError(`role ${p.role} may not do this; needs ${roles.join(' or ')}`);
  if (mspId && p.mspId !== mspId) throw forbiddenError(`only identities of ${mspId} may do this`);
  return p;
}
