import { Router, type NextFunction, type Request, type Response } from 'express';
import { badRequest, FhirError, isPseudonym, isRecordId, notFoundError } from '@phr/common';
import { asBodyError, bodyReader, type BodyReader } from '../http/body';
import type { WakeupRegistry } from '../notify/create-notifier';
import { silentLogger, type Logger } from '../notify/logger';
import { FCM_TOKEN_PATTERN, type WakeupChannel } from '../notify/wakeup-channels';
import { parseFetchQuery, parseSequence } from './fetch-query';
import { MailboxError } from './mailbox-error';
import type { MailboxStore, MailMessage } from './mailbox-store';
import { SseStream } from './sse-stream';
import { waitForMail } from './wait-for-mail';

export interface MailboxRouterDeps {
  store: MailboxStore;
  /** Channel registrations and the local channel that feeds the SSE streams (from createNotifier). */
  wakeups: WakeupRegistry;
  /**
   * Resolves when the authenticated caller is the patient `pseudonym`; rejects with FhirError 401/403
   * otherwise. Runs first in every route, before anything is parsed or read from the mailbox.
   */
  authorizePatient(req: Request, res: Response, pseudonym: string): Promise<void>;
  log?: Logger;
  /** SSE heartbeat interval; default 15 s. */
  heartbeatMs?: number;
  /** Aborted on gateway shutdown: long-polls answer at once and SSE streams end. */
  shutdown?: AbortSignal;
  /** Reads request bodies (the gateway's limits); default: a reader with the default idle timeout. */
  body?: BodyReader;
}

/** Wake-up registrations are tiny; anything bigger is not one. */
const WAKEUP_BODY_LIMIT = 8 * 1024;
const SSE_RETRY_MS = 5000;

/**
 * The patient's mailbox API, mounted at `/mailbox`. The agent fetches its mail (long-poll), listens
 * for wake-ups (SSE), acknowledges each message, and registers how it wants to be woken. Pseudonyms
 * are random ids, so they may appear in paths; mail bodies are encrypted envelopes.
 */
export function mailboxRouter(deps: MailboxRouterDeps): Router {
  const router = Router();
  const parseJson = (deps.body ?? bodyReader()).json(WAKEUP_BODY_LIMIT);
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const log = deps.log ?? silentLogger;

  router.use((_req, res, next) => {
    // Mail and wake-up state are per-patient and change constantly: no cache may keep them.
    res.set('Cache-Control', 'no-store');
    next();
  });

  router.get('/:pseudonym/messages', async (req, res) => {
    const pseudonym = await authorized(deps, req, res);
    const query = parseFetchQuery(req.query);
    const lifetime = requestLifetime(res, deps.shutdown);
    try {
      const deadline = Date.now() + query.waitMs;
      let messages = deps.store.fetch(pseudonym, query);
      // Loop: a wake-up may concern mail at or below our cursor, or be acked by another device first.
      while (messages.length === 0 && Date.now() < deadline) {
        const outcome = await waitForMail(deps.store, pseudonym, deadline - Date.now(), lifetime.signal);
        if (lifetime.clientGone) return;
        if (outcome === 'aborted') break;
        messages = deps.store.fetch(pseudonym, query);
      }
      res.json({ messages: messages.map(wireMessage), next: messages.at(-1)?.sequence ?? query.after });
    } finally {
      lifetime.dispose();
    }
  });

  router.get('/:pseudonym/events', async (req, res) => {
    const pseudonym = await authorized(deps, req, res);
    const after = req.query.after;
    if (after !== undefined && typeof after !== 'string') throw badRequest('after must be given once');
    // Last-Event-ID is what EventSource sends on reconnect; ?after= serves clients that cannot set it.
    const lastEventId = parseSequence(req.get('Last-Event-ID'), 'Last-Event-ID') ?? parseSequence(after, 'after') ?? 0;
    const stream = new SseStream(res, { heartbeatMs, retryMs: SSE_RETRY_MS });
    const sendMail = (sequence: number) => stream.send('mail', String(sequence), JSON.stringify({ sequence }));
    // Subscribe before looking at the mailbox, so mail arriving in between is not missed.
    const unsubscribe = deps.wakeups.local.subscribe(pseudonym, (hint) => sendMail(hint.sequence));
    const onShutdown = () => stream.end();
    deps.shutdown?.addEventListener('abort', onShutdown, { once: true });
    if (deps.shutdown?.aborted) stream.end();
    const latest = deps.store.latestPendingSequence(pseudonym);
    if (latest !== undefined && latest > lastEventId) sendMail(latest);
    log.debug({ pseudonym }, 'mailbox event stream opened');
    await stream.closed;
    unsubscribe();
    deps.shutdown?.removeEventListener('abort', onShutdown);
    log.debug({ pseudonym }, 'mailbox event stream closed');
  });

  router.post('/:pseudonym/messages/:messageId/ack', async (req, res) => {
    const pseudonym = await authorized(deps, req, res);
    const messageId = req.params.messageId;
    if (!isRecordId(messageId)) throw badRequest('messageId is malformed');
    try {
      res.json(deps.store.ack(pseudonym, messageId));
    } catch (err) {
      if (err instanceof MailboxError && err.code === 'not-found') {
        throw notFoundError('no such message in this mailbox');
      }
      throw err;
    }
  });

  router.put('/:pseudonym/wakeup', async (req, res) => {
    const pseudonym = await authorized(deps, req, res);
    if (!req.is('application/json')) throw new FhirError(415, 'wake-up registration must be application/json');
    await runParser(parseJson, req, res);
    const registration = deps.wakeups.channels.register(pseudonym, parseWakeupChannel(req.body));
    log.info({ pseudonym, channel: registration.channel }, 'wake-up channel registered'); // never the token
    res.json({
      channel: registration.channel,
      effectiveChannel: registration.channel === 'fcm' && deps.wakeups.fcmEnabled ? 'fcm' : 'local',
      updatedAt: registration.updatedAt,
    });
  });

  return router;
}

async function authorized(deps: MailboxRouterDeps, req: Request, res: Response): Promise<string> {
  const pseudonym = String(req.params.pseudonym);
  await deps.authorizePatient(req, res, pseudonym);
  if (!isPseudonym(pseudonym)) throw badRequest('pseudonym is malformed');
  return pseudonym;
}

/** What the agent gets: the opaque envelope and its place in the queue, not our bookkeeping. */
function wireMessage(m: MailMessage) {
  return {
    sequence: m.sequence,
    messageId: m.messageId,
    kind: m.kind,
    body: m.body,
    createdAt: m.createdAt,
    attempts: m.attempts,
  };
}

/** Tracks whether the client is still there, and aborts waits when it leaves or the gateway stops. */
function requestLifetime(res: Response, shutdown: AbortSignal | undefined) {
  const controller = new AbortController();
  const state = { clientGone: false, signal: controller.signal, dispose: () => undefined as void };
  const onClose = () => {
    if (!res.writableFinished) state.clientGone = true;
    controller.abort();
  };
  const onShutdown = () => controller.abort();
  res.on('close', onClose);
  shutdown?.addEventListener('abort', onShutdown, { once: true });
  if (shutdown?.aborted) controller.abort();
  state.dispose = () => {
    res.off('close', onClose);
    shutdown?.removeEventListener('abort', onShutdown);
  };
  return state;
}

function parseWakeupChannel(body: unknown): WakeupChannel {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('body must be a JSON object');
  }
  const { channel, token, ...rest } = body as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw badRequest(`unknown field: ${extra[0]}`);
  if (channel === 'local') {
    if (token !== undefined) throw badRequest('token is only allowed with channel "fcm"');
    return { channel: 'local' };
  }
  if (channel === 'fcm') {
    if (typeof token !== 'string' || !FCM_TOKEN_PATTERN.test(token)) {
      throw badRequest('token must be an FCM registration token');
    }
    return { channel: 'fcm', token };
  }
  throw badRequest('channel must be "local" or "fcm"');
}

type Middleware = (req: Request, res: Response, next: NextFunction) => void;

/** Runs the body reader and names its errors (bad JSON, too large) for a wake-up registration. */
function runParser(parser: Middleware, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    parser(req, res, (err?: unknown) => {
      if (err === undefined || err === null) return resolve();
      const status = (err as { status?: unknown }).status;
      if (status === 413) return reject(new FhirError(413, 'wake-up registration is too large', { cause: err }));
      if (status === 400) return reject(new FhirError(400, 'body is not valid JSON', { cause: err }));
      reject(asBodyError(err)); // a body that stopped coming (408), or a client that left
    });
  });
}
