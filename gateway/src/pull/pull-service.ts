import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { DatabaseSync } from 'node:sqlite';
import {
  badRequest,
  DATA_CATEGORIES,
  FhirError,
  forbiddenError,
  isChaincodeErrorCode,
  isRecordId,
  newSalt,
  notFoundError,
  possibleCategoriesOfType,
  PULL_REQUEST_KIND,
  pullQueryHash,
  pullRequestAad,
  Roles,
  seal,
  type ChaincodeErrorCode,
  type ConsentScope,
  type EnvelopeSigner,
  type PullRequest,
} from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import type { Principal } from '../auth/principal';
import type { PatientDirectory } from '../identity/patient-directory';
import type { Logger } from '../logger';
import type { MailboxStore } from '../mailbox';
import { inTransaction } from '../store/database';
import { pullBundle } from './pull-bundle';
import type { GatewayAccessEvent, PullLedger } from './pull-ledger';
import type { PullSearch } from './pull-search';
import type { PullStore, StoredPull } from './pull-store';

export interface PullDeps {
  db: DatabaseSync;
  store: PullStore;
  ledger: PullLedger;
  patients: PatientDirectory;
  mailbox: MailboxStore;
  signer: EnvelopeSigner;
  hospitalMspId: string;
  log: Logger;
  /** How long a search waits for the patient's agent before answering 202; default 8 s. */
  waitMs?: number;
}

export type PullOutcome =
  { status: 200; body: Record<string, unknown>; requestId: string } | { status: 202; requestId: string };

const REQUESTER_ROLES: readonly string[] = [Roles.Clinician, Roles.Agent, Roles.Researcher];
const MAX_REFERENCES = 256;

/**
 * What it means when the chaincode refuses the success event of an answered pull. The consent is
 * checked again as the event is written, and it may have been revoked (or have expired) since the
 * gateway decided: then the access is denied, with these words for the requester. The other
 * refusals are the gateway's own fault and can never succeed on a retry.
 */
const SUCCESS_EVENT_REFUSED: Record<ChaincodeErrorCode, { deny: string } | 'fault'> = {
  CONSENT_REQUIRED: { deny: 'the consent no longer covers this request' },
  FORBIDDEN: { deny: 'the ledger does not allow this access' },
  NOT_FOUND: 'fault',
  CONFLICT: 'fault',
  INVALID_ARGUMENT: 'fault',
  INVALID_STATE: 'fault',
};

/** Only requesters pull: clinicians, third-party agents, researchers (403 otherwise). */
export function requireRequester(principal: Pick<Principal, 'role'>): void {
  if (!REQUESTER_ROLES.includes(principal.role)) {
    throw forbiddenError(`role ${principal.role} may not pull records; needs clinician, agent or researcher`);
  }
}

/** What the patient's agent posts back: a sealed answer, or that it declines. */
type AgentReply =
  | { decision: 'answer'; envelope: Record<string, unknown>; deliveryIds: string[]; elementCount: number }
  | { decision: 'decline'; reason: string };

/**
 * The pull flow at the gateway (SPEC flow 3): consent first (on the ledger), then the request
 * relayed to the patient's agent through the mailbox, and the agent's sealed answer handed to the
 * requester. Every outcome is an access event on the ledger; the gateway never sees the data.
 */
export class PullService {
  private readonly answered = new EventEmitter();

  constructor(private readonly d: PullDeps) {
    this.answered.setMaxListeners(0);
  }

  async search(s: PullSearch, principal: Principal, signal?: AbortSignal): Promise<PullOutcome> {
    requireRequester(principal);
    const patient = await this.d.patients.require(s.pseudonym);
    const asked: ConsentScope = {
      categories: s.query.everything
        ? [...DATA_CATEGORIES]
        : [...new Set(s.query.resourceTypes.flatMap((t) => possibleCategoriesOfType(t)))].sort(),
      codes: s.query.codes,
    };
    const queryHash = pullQueryHash(s.query, s.purpose, newSalt());
    const event = (
      outcome: GatewayAccessEvent['outcome'],
      scope: ConsentScope,
      extra: Partial<GatewayAccessEvent> = {},
    ) =>
      this.audit({
        eventId: randomUUID(),
        pseudonym: s.pseudonym,
        action: 'pull',
        outcome,
        purpose: s.purpose,
        scope,
        references: [],
        queryHash,
        breakGlass: false,
        requester: { id: principal.id, role: principal.role, emergency: principal.emergency },
        ...extra,
      });

    let permitted: ConsentScope = asked;
    let consentIds: string[] = [];
    if (s.breakGlass) {
      if (principal.role !== Roles.Clinician || !principal.emergency || s.purpose !== 'ETREAT') {
        await event('denied', asked);
        throw forbiddenError('break-glass is only for clinicians with emergency access, with purpose ETREAT');
      }
    } else {
      const evaluation = await this.ledgerCall(() =>
        this.d.ledger.evaluateConsent(s.pseudonym, {
          requesterOrg: principal.mspId,
          requesterId: principal.id,
          purpose: s.purpose,
          categories: asked.categories,
          codes: asked.codes,
        }),
      );
      if (evaluation.decision === 'deny') {
        await event('denied', asked);
        throw forbiddenError(`the patient's consent does not cover this request: ${evaluation.reason}`);
      }
      permitted = evaluation.permitted;
      consentIds = evaluation.consentIds;
    }

    const requestId = randomUUID();
    const now = new Date();
    const request: PullRequest = {
      version: 1,
      requestId,
      pseudonym: s.pseudonym,
      gateway: this.d.hospitalMspId,
      requester: { ...principalRef(principal), emergency: principal.emergency },
      purpose: s.purpose,
      query: s.query,
      permitted,
      breakGlass: s.breakGlass,
      consentIds,
      queryHash,
      answerKey: s.answerKey,
      createdAt: now.toISOString(),
    };
    const envelope = seal(
      Buffer.from(JSON.stringify(request)),
      { algorithm: patient.encryptionAlgorithm, publicKey: patient.encryptionPublicKey },
      pullRequestAad(request),
      this.d.signer,
    );
    inTransaction(this.d.db, () => {
      this.d.store.insert(
        {
          requestId,
          pseudonym: s.pseudonym,
          requesterId: principal.id,
          requesterRole: principal.role,
          requesterEmergency: principal.emergency,
          purpose: s.purpose,
          query: s.query,
          permitted,
          breakGlass: s.breakGlass,
          queryHash,
        },
        now,
      );
      this.d.mailbox.enqueue({
        pseudonym: s.pseudonym,
        messageId: requestId,
        kind: PULL_REQUEST_KIND,
        body: JSON.stringify(envelope),
      });
    });
    this.d.mailbox.announce(s.pseudonym);
    this.d.log.info({ requestId, requester: principal.id, breakGlass: s.breakGlass }, 'pull relayed to the patient');
    return this.outcome(requestId, principal, s.async ? 0 : (this.d.waitMs ?? 8_000), signal);
  }

  /** The requester comes back for an answer; waits up to `waitMs` for one. */
  async status(requestId: string, principal: Principal, waitMs: number, signal?: AbortSignal): Promise<PullOutcome> {
    return this.outcome(requestId, principal, waitMs, signal);
  }

  /** The patient's agent (already authorized as the owner of `pseudonym`) answers or declines. */
  async reply(pseudonym: string, requestId: string, body: unknown): Promise<{ status: StoredPull['status'] }> {
    const pull = this.d.store.get(requestId);
    if (!pull || pull.pseudonym !== pseudonym) throw notFoundError('no such request for this patient');
    if (pull.status !== 'waiting') return { status: pull.status };
    const reply = parseReply(body);
    const base = {
      eventId: randomUUID(),
      pseudonym,
      action: 'pull' as const,
      purpose: pull.purpose,
      scope: pull.permitted,
      queryHash: pull.queryHash,
      breakGlass: false,
      requester: { id: pull.requesterId, role: pull.requesterRole, emergency: pull.requesterEmergency },
    };
    const now = new Date();
    if (reply.decision === 'decline') {
      await this.audit({ ...base, outcome: 'denied', references: [] });
      this.d.store.deny(requestId, `the patient's agent declined: ${reply.reason}`, now);
    } else {
      try {
        await this.d.ledger.recordAccess({
          ...base,
          outcome: 'success',
          breakGlass: pull.breakGlass,
          references: reply.deliveryIds.slice(0, MAX_REFERENCES),
        });
      } catch (err) {
        const code = err instanceof LedgerError && isChaincodeErrorCode(err.code) ? err.code : undefined;
        const refused = code === undefined ? 'fault' : SUCCESS_EVENT_REFUSED[code];
        if (refused === 'fault') throw auditFailure(err);
        // No data goes out, and the patient's access log says so before the requester hears it.
        await this.audit({ ...base, eventId: randomUUID(), outcome: 'denied', references: [] });
        this.d.store.deny(requestId, refused.deny, now);
        this.answered.emit(requestId);
        this.d.log.info({ requestId, code }, 'pull denied by the ledger as its answer was released');
        return { status: 'denied' };
      }
      this.d.store.answer(requestId, JSON.stringify(reply.envelope), now);
    }
    this.answered.emit(requestId);
    this.d.log.info({ requestId, decision: reply.decision }, 'pull answered by the patient');
    return { status: this.d.store.get(requestId)?.status ?? 'waiting' };
  }

  private async outcome(requestId: string, principal: Principal, waitMs: number, signal?: AbortSignal) {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const pull = this.d.store.get(requestId);
      if (!pull || pull.requesterId !== principal.id) throw notFoundError('no such request of yours');
      if (pull.status === 'answered') {
        return { status: 200 as const, requestId, body: pullBundle(pull) };
      }
      if (pull.status === 'denied') throw forbiddenError(pull.reason ?? 'denied');
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) return { status: 202 as const, requestId };
      await this.waitFor(requestId, left, signal);
    }
  }

  private waitFor(requestId: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.answered.off(requestId, done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.answered.once(requestId, done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Denials are written before the requester hears of them; a ledger outage is a 503, never silence. */
  private async audit(event: GatewayAccessEvent): Promise<void> {
    try {
      await this.d.ledger.recordAccess(event);
    } catch (err) {
      throw auditFailure(err);
    }
  }

  private async ledgerCall<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new FhirError(503, 'the ledger cannot be reached to check consent; retry later', { cause: err });
    }
  }
}

/** An access event that could not be written: a 502 when the chaincode refused it, a 503 (retry) otherwise. */
function auditFailure(err: unknown): FhirError {
  if (err instanceof LedgerError && isChaincodeErrorCode(err.code)) {
    return new FhirError(
      502,
      [{ severity: 'error', code: 'exception', diagnostics: 'the ledger refused the access log entry' }],
      { cause: err },
    );
  }
  return new FhirError(503, 'the access log on the ledger cannot be written now; retry later', { cause: err });
}

function principalRef(p: Principal) {
  return { mspId: p.mspId, role: p.role, id: p.id };
}

function parseReply(body: unknown): AgentReply {
  const b = body as Partial<Record<string, unknown>> | null;
  if (!b || typeof b !== 'object') throw badRequest('the reply must be a JSON object');
  if (b['decision'] === 'decline') {
    const reason = typeof b['reason'] === 'string' ? b['reason'].slice(0, 200) : 'no reason given';
    return { decision: 'decline', reason };
  }
  if (b['decision'] !== 'answer') throw badRequest('decision must be "answer" or "decline"');
  const envelope = b['envelope'];
  if (
    !envelope ||
    typeof envelope !== 'object' ||
    typeof (envelope as { ciphertext?: unknown }).ciphertext !== 'string'
  ) {
    throw badRequest('envelope must be a sealed envelope');
  }
  const ids = b['deliveryIds'];
  if (!Array.isArray(ids) || !ids.every(isRecordId)) throw badRequest('deliveryIds must be delivery ids');
  const count = b['elementCount'];
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0)
    throw badRequest('elementCount must be a count');
  return {
    decision: 'answer',
    envelope: envelope as Record<string, unknown>,
    deliveryIds: [...new Set(ids)],
    elementCount: count,
  };
}
