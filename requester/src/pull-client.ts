import { createPublicKey } from 'node:crypto';
import {
  fabricX509Id,
  formatCodeRef,
  generateEncryptionKeyPair,
  identityKey,
  isPseudonym,
  outcomeText,
  PULL_STATUS_PATH,
  RESOURCE_TYPE_PATTERN,
  type CodeRef,
  type DisclosedElement,
  type PurposeOfUse,
} from '@phr/common';
import { Agent, request, type Dispatcher } from 'undici';
import { readAnswerBundle, requestIdFromLocation } from './answer-bundle';
import { PullRequestError, type PullRequestErrorCode } from './errors';
import type { RequesterLedger } from './ledger';
import { verifyAnswer } from './verify-answer';

export interface PullClientOptions {
  /** e.g. https://127.0.0.1:8443 */
  gatewayUrl: string;
  /** Roots that may sign the gateway's TLS certificate (the hospital's CA). */
  caPem: string;
  /** The requester's certificate and key, from a hospital CA: mutual TLS is how the gateway knows us. */
  certificatePem: string;
  privateKeyPem: string;
  /** MSP of the CA that issued our certificate: with it, our identity key, to which answers are bound. */
  mspId: string;
  ledger: RequesterLedger;
  /** Root of the patients' CA, when known (see AnswerContext.patientsCaPem). */
  patientsCaPem?: string;
  /** Deadline of each HTTP exchange, whole body included. Default 30 s. */
  timeoutMs?: number;
}

export interface SearchOptions {
  /** FHIR resource type, e.g. Observation. */
  type: string;
  patient: string;
  codes?: CodeRef[];
  purpose?: PurposeOfUse;
  /** Emergency access without consent (clinicians with phr.emergency; purpose becomes ETREAT). */
  breakGlass?: boolean;
  /** Ask for 202 at once (Prefer: respond-async) instead of waiting for the agent. */
  async?: boolean;
  /** POST /fhir/{type}/_search with a form body instead of GET (long code lists, no codes in logs). */
  post?: boolean;
}

export type EverythingOptions = Omit<SearchOptions, 'type' | 'patient' | 'codes' | 'post'>;

/** A request the gateway still holds: what polling needs to open the answer once it comes. */
export interface PendingPull {
  requestId: string;
  pseudonym: string;
  /** PKCS#8 PEM of the one-time answer key. Secret: whoever holds it can read the answer. */
  answerPrivateKeyPem: string;
}

export interface VerifiedPull {
  requestId: string;
  status: 'answered' | 'pending';
  breakGlass: boolean;
  /** Verified elements only: an answer that fails anywhere is refused as a whole (PullVerificationError). */
  elements: DisclosedElement[];
  resources: Record<string, unknown>[];
  deliveriesChecked: number;
  ledgerReads: number;
  answeredAt?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const STATUS_CODES: Record<number, PullRequestErrorCode> = { 401: 'UNAUTHORIZED', 403: 'DENIED', 404: 'NOT_FOUND' };

/**
 * Pulls a patient's records through a hospital gateway (SPEC flow 3) and verifies every element
 * against the ledger before returning it. A fresh X25519 answer key per request: the gateway
 * relays the sealed answer but can never read it, and an old answer can never be replayed into a
 * new request because it was sealed to a key that no longer exists.
 */
export class PullClient {
  readonly requesterId: string;
  private readonly dispatcher: Agent;
  private readonly timeoutMs: number;
  /** Answer keys of requests the gateway answered with 202; forgotten once answered or refused. */
  private readonly pendingPulls = new Map<string, PendingPull>();

  constructor(private readonly o: PullClientOptions) {
    this.requesterId = identityKey(o.mspId, fabricX509Id(o.certificatePem));
    this.timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.dispatcher = new Agent({
      connect: { ca: o.caPem, cert: o.certificatePem, key: o.privateKeyPem },
      keepAliveTimeout: 10_000,
    });
  }

  async search(options: SearchOptions): Promise<VerifiedPull> {
    if (!RESOURCE_TYPE_PATTERN.test(options.type)) {
      throw new PullRequestError('BAD_REQUEST', `${options.type} is not a FHIR resource type`);
    }
    const params = new URLSearchParams({ patient: checkPatient(options.patient) });
    if (options.codes && options.codes.length > 0) {
      params.set('code', options.codes.map(formatCodeRef).join(','));
    }
    const type = encodeURIComponent(options.type);
    return options.post
      ? this.ask('POST', `/fhir/${type}/_search`, options, params.toString())
      : this.ask('GET', `/fhir/${type}?${params.toString()}`, options);
  }

  async everything(patient: string, options: EverythingOptions = {}): Promise<VerifiedPull> {
    return this.ask('GET', `/fhir/Patient/${encodeURIComponent(checkPatient(patient))}/$everything`, {
      ...options,
      patient,
    });
  }

  /** Asks again for a request that was answered 202. `pending` is needed when another process made it. */
  async poll(requestId: string, pending?: PendingPull): Promise<VerifiedPull> {
    const known = pending ?? this.pendingPulls.get(requestId);
    if (!known || known.requestId !== requestId) {
      throw new PullRequestError('NOT_FOUND', `no answer key for request ${requestId}: it was not made here`);
    }
    const res = await this.exchange('GET', `${PULL_STATUS_PATH}${encodeURIComponent(requestId)}`, {});
    return this.settle(res, known, false);
  }

  /** The answer key of a pending request, so a later process can poll it (keep it secret). */
  pending(requestId: string): PendingPull | undefined {
    return this.pendingPulls.get(requestId);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async ask(
    method: 'GET' | 'POST',
    path: string,
    o: EverythingOptions & { patient: string },
    form?: string,
  ): Promise<VerifiedPull> {
    const keys = generateEncryptionKeyPair('X25519');
    const answerKey = createPublicKey(keys.publicKeyPem).export({ type: 'spki', format: 'der' }).toString('base64');
    const headers: Record<string, string> = {
      'x-answer-key': answerKey,
      'x-purpose-of-use': o.purpose ?? (o.breakGlass ? 'ETREAT' : 'TREAT'),
    };
    if (o.breakGlass) headers['x-break-glass'] = 'true';
    if (o.async) headers.prefer = 'respond-async';
    if (form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await this.exchange(method, path, headers, form);
    // The request id is only known from the answer; the key waits here until then.
    return this.settle(res, { requestId: '', pseudonym: o.patient, answerPrivateKeyPem: keys.privateKeyPem }, true);
  }

  private async settle(res: HttpResult, key: PendingPull, fresh: boolean): Promise<VerifiedPull> {
    if (res.status === 202) {
      const requestId = requestIdFromLocation(res.location, res.status);
      if (!fresh && requestId !== key.requestId) {
        throw new PullRequestError('BAD_RESPONSE', `polling ${key.requestId} answered for ${requestId}`, res.status);
      }
      const pending = { ...key, requestId };
      this.pendingPulls.set(requestId, pending);
      return {
        requestId,
        status: 'pending',
        breakGlass: false,
        elements: [],
        resources: [],
        deliveriesChecked: 0,
        ledgerReads: 0,
      };
    }
    if (res.status !== 200) {
      // A refusal ends the request: its key is of no further use.
      if (!fresh) this.pendingPulls.delete(key.requestId);
      throw httpError(res);
    }
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch (err) {
      throw new PullRequestError('BAD_RESPONSE', 'the gateway answer is not JSON', res.status, undefined, {
        cause: err,
      });
    }
    const { receipt, envelope } = readAnswerBundle(body, res.status);
    if (!fresh && receipt.requestId !== key.requestId) {
      throw new PullRequestError('BAD_RESPONSE', `polling ${key.requestId} answered ${receipt.requestId}`, res.status);
    }
    this.pendingPulls.delete(receipt.requestId);
    const verified = await verifyAnswer(
      envelope,
      {
        requestId: receipt.requestId,
        pseudonym: key.pseudonym,
        requesterId: this.requesterId,
        answerPrivateKeyPem: key.answerPrivateKeyPem,
        ...(this.o.patientsCaPem !== undefined ? { patientsCaPem: this.o.patientsCaPem } : {}),
      },
      this.o.ledger,
    );
    return {
      requestId: receipt.requestId,
      status: 'answered',
      breakGlass: receipt.breakGlass,
      elements: verified.elements,
      resources: verified.resources,
      deliveriesChecked: verified.deliveriesChecked,
      ledgerReads: verified.ledgerReads,
      answeredAt: verified.answeredAt,
    };
  }

  private async exchange(
    method: Dispatcher.HttpMethod,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<HttpResult> {
    const url = new URL(path, this.o.gatewayUrl);
    // headers and body timeouts bound each wait; this bounds the whole exchange
    const deadline = AbortSignal.timeout(this.timeoutMs);
    try {
      const res = await request(url, {
        method,
        dispatcher: this.dispatcher,
        headers: { accept: 'application/fhir+json', ...headers },
        ...(body !== undefined ? { body } : {}),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: deadline,
      });
      const location = res.headers['content-location'];
      return {
        status: res.statusCode,
        text: await res.body.text(),
        location: Array.isArray(location) ? location[0] : location,
      };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (deadline.aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        throw new PullRequestError(
          'TIMEOUT',
          `${method} ${url.pathname} took longer than ${this.timeoutMs} ms`,
          undefined,
          undefined,
          {
            cause: err,
          },
        );
      }
      throw new PullRequestError('UNREACHABLE', `${this.o.gatewayUrl} cannot be reached`, undefined, undefined, {
        cause: err,
      });
    }
  }
}

interface HttpResult {
  status: number;
  text: string;
  location: string | undefined;
}

function checkPatient(patient: string): string {
  if (isPseudonym(patient)) return patient;
  // the guard (`value is string`) narrows `patient` to never here; at run time it is the string given
  throw new PullRequestError('BAD_REQUEST', `${String(patient)} is not a patient pseudonym`);
}

function httpError(res: HttpResult): PullRequestError {
  const diagnostics = outcomeText(res.text);
  const code = STATUS_CODES[res.status] ?? (res.status >= 400 && res.status < 500 ? 'BAD_REQUEST' : 'HTTP_ERROR');
  const what = code === 'DENIED' ? 'denied' : `the gateway answered ${res.status}`;
  return new PullRequestError(code, `${what}: ${diagnostics}`, res.status, diagnostics);
}
