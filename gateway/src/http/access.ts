import { forbiddenError, Roles, type Role } from '@phr/common';
import type { Principal } from '../auth/principal';
import { requireReaderRole } from '../fhir/handlers/patient-reader';
import { requireRequester } from '../pull/pull-service';

/**
 * Who may use a route, as the route table declares it. The check runs from the client certificate
 * before the route looks at a parameter or reads a body, so a caller who may not use a route learns
 * nothing from it and never makes the gateway wait for a body.
 */
export interface Access {
  /** The roles the route is for; `any`: every caller with a certificate from a trusted CA. */
  readonly roles: readonly Role[] | 'any';
  /** Throws the 403 (an OperationOutcome) for a caller who may not. */
  check(principal: Principal): void;
}

export const anyCaller: Access = { roles: 'any', check: () => undefined };

/** One of `roles`, issued by `mspId` (this hospital) when given. */
export function withRole(roles: readonly Role[], mspId?: string): Access {
  return { roles, check: (p) => checkRole(p, roles, mspId) };
}

/**
 * A patient (whose ownership of the pseudonym the handler checks next, once it has read it) or an
 * admin of this hospital; `what` names what they read, for the refusal.
 */
export function patientReaders(hospitalMspId: string, what: string): Access {
  return { roles: [Roles.Patient, Roles.Admin], check: (p) => void requireReaderRole(p, hospitalMspId, what) };
}

/** Whoever may pull records: clinicians, third-party agents, researchers, of any trusted CA. */
export const requesters: Access = {
  roles: [Roles.Clinician, Roles.Agent, Roles.Researcher],
  check: requireRequester,
};

export function checkRole(p: Principal, roles: readonly Role[], mspId?: string): void {
  if (!roles.includes(p.role)) throw forbiddenError(`role ${p.role} may not do this; needs ${roles.join(' or ')}`);
  if (mspId && p.mspId !== mspId) throw forbiddenError(`only identities of ${mspId} may do this`);
}
