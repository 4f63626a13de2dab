import { Router, type Request, type Response } from 'express';
import {
  badRequest,
  FhirError,
  forbiddenError,
  isPseudonym,
  isRecordId,
  MAX_RELAY_BYTES,
  notFoundError,
  Roles,
  unprocessable,
  type PatientRecord,
  type RecoveryApprovals,
  type RecoveryOpened,
  type RelayAccepted,
} from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import { allow, principalOf } from '../http/authenticate';
import { mediaType, type BodyReader } from '../http/body';
import type { PatientDirectory } from '../identity/patient-directory';
import type { LedgerPort } from '../ledger/ledger-port';
import type { Logger } from '../logger';
import { parseApprovalPost, parseRecoveryOpen, parseRelayPost } from './recovery-bodies';
import { RecoveryStoreError, type RecoveryStore, type StoredRequest } from './recovery-store';

export interface RecoveryLimits {
  /** How long a recovery request takes approvals, and its opener may read them. */
  requestTtlMs: number;
  /** Relayed messages one sender may post in an hour (a setup with 10 guardians, and retries). */
  relaysPerHour: number;
  /**
   * Relayed messages one patient's mailbox may take in an hour, from everyone together: many
   * senders (each within its own limit) cannot bury a guardian's mailbox in mail.
   */
  relaysPerTargetPerHour: number;
  /** Recovery requests one device may open in an hour. */
  requestsPerHour: number;
}

export const DEFAULT_RECOVERY_LIMITS: Readonly<RecoveryLimits> = Object.freeze({
  requestTtlMs: 72 * 60 * 60 * 1000,
  relaysPerHour: 30,
  relaysPerTargetPerHour: 60,
  requestsPerHour: 5,
});

export interface RecoveryRouterDeps {
  store: RecoveryStore;
  /** Owner checks (the guardian's own pseudonym) and the patients' records. */
  patients: PatientDirectory;
  /**
   * Read at once, not from a cache, where the answer grants something: the patient's recovery key,
   * and whether a caller is one of their guardians (the ledger never lists them to a gateway).
   */
  ledger: Pick<LedgerPort, 'readPatient' | 'isGuardian'>;
  body: BodyReader;
  log: Logger;
  limits?: Partial<RecoveryLimits>;
  now?: () => Date;
}

const OPEN_BODY_BYTES = 4 * 1024;
const HOUR_MS = 60 * 60 * 1000;

/**
 * Key recovery with guardians, at the gateway (issue 15 item 4). Not FHIR: mounted beside the
 * mailbox. Every route is for enrolled patients (mutual TLS, role patient) and checks the caller
 * before it reads a body.
 *
 * - `POST /relay/{pseudonym}`: a patient posts a small sealed message (a guardian's share, its
 *   withdrawal, a recovery request) into another patient's mailbox; the gateway records who sent
 *   it, and limits how many each sender posts and each mailbox takes in an hour.
 * - `POST /recovery`: a new device opens a request for the shares of a pseudonym, with a one-time
 *   X25519 key the guardians seal their shares to.
 * - `POST /recovery/{requestId}/approvals`: a guardian (a patient the ledger confirms, by
 *   `PatientRegistry.IsGuardian`, among the patient's guardians) leaves its sealed share.
 * - `GET /recovery/{requestId}/approvals`: the approvals, for the device that opened the request.
 *
 * The gateway never holds anything it could open: the shares are sealed to keys it does not have.
 */
export function recoveryRouter(d: RecoveryRouterDeps): Router {
  const router = Router();
  const limits = { ...DEFAULT_RECOVERY_LIMITS, ...d.limits };
  const now = d.now ?? (() => new Date());
  const patient = allow([Roles.Patient]);
  const relayJson = jsonBody(d.body, MAX_RELAY_BYTES);
  const openJson = jsonBody(d.body, OPEN_BODY_BYTES);

  router.use(['/relay', '/recovery'], (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  router.post('/relay/:pseudonym', patient, async (req, res) => {
    const caller = principalOf(res);
    const target = String(req.params.pseudonym);
    if (!isPseudonym(target)) throw badRequest('pseudonym is malformed');
    const at = now();
    const post = parseRelayPost(await relayJson(req, res), caller);
    // A retry of mail already queued is answered whatever the limit: it adds nothing.
    if (!d.store.isRelayed(post.messageId)) {
      const since = hourBefore(at);
      throttle(
        res,
        d.store.relayedSince(caller.id, since),
        limits.relaysPerHour,
        'relayed messages from this identity',
      );
      throttle(
        res,
        d.store.relayedToSince(target, since),
        limits.relaysPerTargetPerHour,
        'relayed messages to this patient',
      );
    }
    const record = await registered(d.patients, target);
    if (record.erasedAt) throw new FhirError(410, 'this patient erased their record; nothing can be sent to them');
    const mail = withConflicts(() =>
      d.store.relay(
        {
          messageId: post.messageId,
          kind: post.kind,
          target,
          senderId: caller.id,
          senderMsp: caller.mspId,
          body: JSON.stringify(post.envelope),
        },
        at,
      ),
    );
    d.log.info({ sender: caller.id, target, kind: post.kind }, 'patient mail relayed');
    const answer: RelayAccepted = { messageId: mail.messageId, kind: post.kind, queuedAt: mail.createdAt };
    res.status(202).json(answer);
  });

  router.post('/recovery', patient, async (req, res) => {
    const caller = principalOf(res);
    const at = now();
    const open = parseRecoveryOpen(await openJson(req, res));
    // A retried POST (same id) is answered whatever the limit: it opens nothing new.
    if (!d.store.request(open.requestId)) {
      throttle(res, d.store.openedSince(caller.id, hourBefore(at)), limits.requestsPerHour, 'recovery requests');
    }
    const record = await fresh(d.ledger, open.pseudonym);
    if (record.erasedAt) throw new FhirError(410, 'this patient erased their record; there is nothing to recover');
    if (record.owner === caller.id) throw unprocessable('this device already owns the pseudonym: nothing to recover');
    // Whether the patient named guardians is not the gateway's to know (the ledger does not list
    // them): a request nobody may approve is harmless, and expires.
    if (!record.recoveryPublicKey) {
      throw unprocessable('this patient has no recovery key on the ledger, so no shares could rebuild one');
    }
    d.store.purge(at);
    const { request, created } = withConflicts(() =>
      d.store.open({
        ...open,
        requesterId: caller.id,
        createdAt: at.toISOString(),
        expiresAt: new Date(at.getTime() + limits.requestTtlMs).toISOString(),
      }),
    );
    if (created) {
      d.log.info(
        { requester: caller.id, pseudonym: open.pseudonym, requestId: open.requestId },
        'recovery request opened',
      );
    }
    res.status(created ? 201 : 200).json(opened(request));
  });

  router.post('/recovery/:requestId/approvals', patient, async (req, res) => {
    const caller = principalOf(res);
    const request = openRequest(d.store, String(req.params.requestId), now());
    const approval = parseApprovalPost(await relayJson(req, res), caller, request);
    await d.patients.authorizeOwner(caller, approval.guardian);
    if (!(await isGuardian(d.ledger, request.pseudonym, approval.guardian))) {
      throw forbiddenError('you are not among the guardians this patient named on the ledger');
    }
    const { approvedAt, created } = d.store.approve(
      {
        requestId: request.requestId,
        guardian: approval.guardian,
        guardianId: caller.id,
        envelope: JSON.stringify(approval.envelope),
      },
      now(),
    );
    d.log.info(
      { guardian: approval.guardian, pseudonym: request.pseudonym, requestId: request.requestId },
      'recovery approved by a guardian',
    );
    res.status(created ? 201 : 200).json({ requestId: request.requestId, guardian: approval.guardian, approvedAt });
  });

  router.get('/recovery/:requestId/approvals', patient, (req, res) => {
    const caller = principalOf(res);
    const at = now();
    d.store.purge(at);
    const request = d.store.request(checkedRequestId(String(req.params.requestId)));
    // Another device's request reads as no request at all: ids cannot be probed.
    if (!request || request.requesterId !== caller.id) throw notFoundError('no such recovery request of yours');
    if (expired(request, at)) throw expiredError(request);
    const answer: RecoveryApprovals = {
      requestId: request.requestId,
      pseudonym: request.pseudonym,
      expiresAt: request.expiresAt,
      approvals: d.store.approvals(request.requestId),
    };
    res.json(answer);
  });

  return router;
}

function openRequest(store: RecoveryStore, requestId: string, at: Date): StoredRequest {
  const request = store.request(checkedRequestId(requestId));
  if (!request) throw notFoundError('no such recovery request');
  if (expired(request, at)) throw expiredError(request);
  return request;
}

function checkedRequestId(requestId: string): string {
  if (!isRecordId(requestId)) throw badRequest('request id is malformed');
  return requestId;
}

function expired(request: StoredRequest, at: Date): boolean {
  return Date.parse(request.expiresAt) <= at.getTime();
}

function expiredError(request: StoredRequest): FhirError {
  return new FhirError(410, `this recovery request expired at ${request.expiresAt}; start a new one`);
}

function opened(r: StoredRequest): RecoveryOpened {
  return {
    requestId: r.requestId,
    pseudonym: r.pseudonym,
    ephemeralPublicKey: r.ephemeralPublicKey,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
  };
}

function hourBefore(at: Date): string {
  return new Date(at.getTime() - HOUR_MS).toISOString();
}

function throttle(res: Response, used: number, limit: number, what: string): void {
  if (used < limit) return;
  res.setHeader('Retry-After', String(HOUR_MS / 1000));
  throw new FhirError(429, `too many ${what} in the last hour (${limit}); try again later`);
}

/** The patient's record from the directory (cached): is there such a patient at all. */
async function registered(patients: PatientDirectory, pseudonym: string): Promise<PatientRecord> {
  let record: PatientRecord | undefined;
  try {
    record = await patients.get(pseudonym);
  } catch (err) {
    if (err instanceof LedgerError && err.code === 'NOT_FOUND') record = undefined;
    else throw new FhirError(503, 'the ledger is unreachable; retry later', { cause: err });
  }
  if (!record) throw notFoundError('no patient with this pseudonym is registered');
  return record;
}

/** The patient's record as the ledger holds it now: guardians and recovery key decide. */
async function fresh(ledger: Pick<LedgerPort, 'readPatient'>, pseudonym: string): Promise<PatientRecord> {
  let record: PatientRecord | undefined;
  try {
    record = await ledger.readPatient(pseudonym);
  } catch (err) {
    if (err instanceof LedgerError && err.code === 'NOT_FOUND') record = undefined;
    else throw new FhirError(503, 'the ledger is unreachable; retry later', { cause: err });
  }
  if (!record) throw notFoundError('no patient with this pseudonym is registered');
  return record;
}

/** The ledger's word, now, on whether `candidate` is one of the patient's guardians. */
async function isGuardian(
  ledger: Pick<LedgerPort, 'isGuardian'>,
  pseudonym: string,
  candidate: string,
): Promise<boolean> {
  try {
    return await ledger.isGuardian(pseudonym, candidate);
  } catch (err) {
    if (err instanceof LedgerError && err.code === 'NOT_FOUND') {
      throw notFoundError('no patient with this pseudonym is registered');
    }
    throw new FhirError(503, 'the ledger is unreachable; retry later', { cause: err });
  }
}

function withConflicts<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof RecoveryStoreError) throw new FhirError(409, err.message, { cause: err });
    throw err;
  }
}

/** The body as JSON, at most `maxBytes`, after the caller was checked; only application/json. */
function jsonBody(body: BodyReader, maxBytes: number): (req: Request, res: Response) => Promise<unknown> {
  return async (req, res) => {
    if (mediaType(req.headers['content-type']) !== 'application/json') {
      throw new FhirError(415, 'the body must be application/json');
    }
    const bytes = await body.read(req, res, maxBytes);
    try {
      return JSON.parse(bytes.toString('utf8')) as unknown;
    } catch (err) {
      throw new FhirError(400, 'the body is not valid JSON', { cause: err });
    }
  };
}
