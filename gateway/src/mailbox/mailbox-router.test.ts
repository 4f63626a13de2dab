import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import express, { type NextFunction, type Request, type Response } from 'express';
import { FhirError, forbiddenError, newPseudonym, unauthorized } from '@phr/common';
import { createNotifier, type Notifier } from '../notify/create-notifier';
import type { LocalNotifier } from '../notify/local-notifier';
import { silentLogger } from '../notify/logger';
import type { WakeupChannelStore } from '../notify/wakeup-channels';
import { mailboxRouter } from './mailbox-router';
import { MailboxStore } from './mailbox-store';
import { openDatabase } from '../store/database';

/** A canary: if it ever shows up in a wake-up, health data leaked into a notification. */
const CANARY = 'Hemoglobin-A1c-CANARY-7.9';
const body = (n: number) => JSON.stringify({ ciphertext: `${CANARY}-${n}` });
const msgId = (n: number) => `delivery-${String(n).padStart(8, '0')}`;

describe('mailbox router', () => {
  let dir: string;
  let db: DatabaseSync;
  let mailbox: MailboxStore;
  let channels: WakeupChannelStore;
  let local: LocalNotifier;
  let notify: Notifier;
  let server: Server;
  let base: string;
  let shutdown: AbortController;
  const alice = newPseudonym();
  const bob = newPseudonym();

  /** Stand-in for the lead's mTLS check: the test names the caller in a header. */
  const authorizePatient = async (req: Request, _res: Response, pseudonym: string) => {
    const caller = req.get('x-test-patient');
    if (!caller) throw unauthorized('no client certificate');
    if (caller !== pseudonym) throw forbiddenError('not this patient');
  };

  const as = (patient: string, init: RequestInit = {}): RequestInit => ({
    ...init,
    headers: { 'x-test-patient': patient, ...(init.headers as Record<string, string> | undefined) },
  });

  const enqueue = (pseudonym: string, n: number) =>
    mailbox.enqueueNow({ pseudonym, messageId: msgId(n), kind: 'delivery', body: body(n) });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailbox-router-'));
    db = openDatabase(join(dir, 'gateway.sqlite'));
    db.exec('PRAGMA journal_mode = WAL');
    mailbox = new MailboxStore(db);
    notify = createNotifier({ db, mailbox, log: silentLogger });
    ({ channels, local } = notify.wakeups);
    shutdown = new AbortController();
    const app = express();
    app.use(
      '/mailbox',
      mailboxRouter({
        store: mailbox,
        wakeups: notify.wakeups,
        authorizePatient,
        log: silentLogger,
        heartbeatMs: 50,
        shutdown: shutdown.signal,
      }),
    );
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      if (err instanceof FhirError) res.status(err.status).type('application/fhir+json').json(err.outcome);
      else
        res.status(500).json({ resourceType: 'OperationOutcome', issue: [{ severity: 'fatal', code: 'exception' }] });
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mailbox`;
  });

  afterEach(async () => {
    shutdown.abort();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await notify.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const expectOutcome = async (res: globalThis.Response, status: number, code: string) => {
    expect(res.status).toBe(status);
    const outcome = (await res.json()) as { resourceType: string; issue: { code: string }[] };
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0]?.code).toBe(code);
  };

  describe('GET /:pseudonym/messages', () => {
    it('returns pending mail in order, redelivers it until acknowledged, and pages with a cursor', async () => {
      enqueue(alice, 1);
      enqueue(alice, 2);
      enqueue(bob, 3);
      const first = await fetch(`${base}/${alice}/messages`, as(alice));
      expect(first.status).toBe(200);
      expect(first.headers.get('cache-control')).toBe('no-store');
      const page = (await first.json()) as {
        messages: { sequence: number; messageId: string; body: string; attempts: number }[];
        next: number;
      };
      expect(page.messages.map((m) => [m.sequence, m.messageId, m.body, m.attempts])).toEqual([
        [1, msgId(1), body(1), 1],
        [2, msgId(2), body(2), 1],
      ]);
      expect(page.next).toBe(2);

      const again = (await (await fetch(`${base}/${alice}/messages?limit=1`, as(alice))).json()) as typeof page;
      expect(again.messages.map((m) => [m.messageId, m.attempts])).toEqual([[msgId(1), 2]]);
      expect(again.next).toBe(1);
      const rest = (await (await fetch(`${base}/${alice}/messages?after=1`, as(alice))).json()) as typeof page;
      expect(rest.messages.map((m) => m.messageId)).toEqual([msgId(2)]);
      const empty = (await (await fetch(`${base}/${alice}/messages?after=2`, as(alice))).json()) as typeof page;
      expect(empty).toEqual({ messages: [], next: 2 });
    });

    it('long-polls: answers within milliseconds of an enqueue', async () => {
      const started = Date.now();
      const pending = fetch(`${base}/${alice}/messages?wait=10`, as(alice));
      await new Promise((r) => setTimeout(r, 100));
      enqueue(bob, 9); // another patient's mail must not end Alice's wait
      await new Promise((r) => setTimeout(r, 50));
      const enqueuedAt = Date.now();
      enqueue(alice, 1);
      const res = await pending;
      const answeredAt = Date.now();
      const page = (await res.json()) as { messages: { messageId: string }[]; next: number };
      expect(page.messages.map((m) => m.messageId)).toEqual([msgId(1)]);
      expect(page.next).toBe(1);
      expect(enqueuedAt - started).toBeGreaterThanOrEqual(150);
      expect(answeredAt - enqueuedAt).toBeLessThan(250);
    });

    it('long-polls: times out empty', async () => {
      const started = Date.now();
      const res = await fetch(`${base}/${alice}/messages?wait=0.3&after=4`, as(alice));
      expect(await res.json()).toEqual({ messages: [], next: 4 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    });

    it('stops waiting when the client disconnects (the mail is not handed to a dead socket)', async () => {
      const abort = new AbortController();
      const pending = fetch(`${base}/${alice}/messages?wait=10`, as(alice, { signal: abort.signal }));
      await new Promise((r) => setTimeout(r, 100));
      abort.abort();
      await expect(pending).rejects.toThrow();
      await new Promise((r) => setTimeout(r, 50));
      enqueue(alice, 1);
      await new Promise((r) => setTimeout(r, 50));
      expect(mailbox.pending(alice).map((m) => m.attempts)).toEqual([0]);
    });

    it('answers waiting long-polls at once on shutdown', async () => {
      const started = Date.now();
      const pending = fetch(`${base}/${alice}/messages?wait=10`, as(alice));
      await new Promise((r) => setTimeout(r, 100));
      shutdown.abort();
      const res = await pending;
      expect(await res.json()).toEqual({ messages: [], next: 0 });
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it.each([
      ['wait=31'],
      ['wait=abc'],
      ['wait=-1'],
      ['limit=0'],
      ['limit=101'],
      ['limit=1.5'],
      ['after=-1'],
      ['after=1&after=2'],
    ])('rejects bad query %s with 400', async (query) => {
      await expectOutcome(await fetch(`${base}/${alice}/messages?${query}`, as(alice)), 400, 'invalid');
    });

    it('needs the patient: 401 without credentials, 403 for another patient, 400 for a malformed path', async () => {
      enqueue(alice, 1);
      await expectOutcome(await fetch(`${base}/${alice}/messages`), 401, 'login');
      await expectOutcome(await fetch(`${base}/${alice}/messages`, as(bob)), 403, 'forbidden');
      await expectOutcome(await fetch(`${base}/not-a-pseudonym/messages`, as('not-a-pseudonym')), 400, 'invalid');
      expect(mailbox.pending(alice).map((m) => m.attempts)).toEqual([0]);
    });
  });

  describe('POST /:pseudonym/messages/:messageId/ack', () => {
    it('acknowledges idempotently; unknown, foreign and malformed ids are refused', async () => {
      enqueue(alice, 1);
      enqueue(alice, 2);
      const url = `${base}/${alice}/messages/${msgId(1)}/ack`;
      const res = await fetch(url, as(alice, { method: 'POST' }));
      expect(res.status).toBe(200);
      const ack = await res.json();
      expect(ack).toEqual({ messageId: msgId(1), sequence: 1, ackedAt: expect.any(String) });
      expect(await (await fetch(url, as(alice, { method: 'POST' }))).json()).toEqual(ack);

      await expectOutcome(await fetch(url, { method: 'POST' }), 401, 'login');
      await expectOutcome(await fetch(url, as(bob, { method: 'POST' })), 403, 'forbidden');
      // Bob, authenticated as himself, names Alice's message in his own mailbox: not found, not acked.
      await expectOutcome(
        await fetch(`${base}/${bob}/messages/${msgId(2)}/ack`, as(bob, { method: 'POST' })),
        404,
        'not-found',
      );
      await expectOutcome(
        await fetch(`${base}/${alice}/messages/${msgId(7)}/ack`, as(alice, { method: 'POST' })),
        404,
        'not-found',
      );
      await expectOutcome(
        await fetch(`${base}/${alice}/messages/x/ack`, as(alice, { method: 'POST' })),
        400,
        'invalid',
      );

      const page = (await (await fetch(`${base}/${alice}/messages`, as(alice))).json()) as {
        messages: { messageId: string }[];
      };
      expect(page.messages.map((m) => m.messageId)).toEqual([msgId(2)]);
    });
  });

  describe('GET /:pseudonym/events (SSE)', () => {
    /** Reads the stream until `until` matches the text so far, or fails after `ms`. */
    async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, until: RegExp, ms = 2000) {
      const decoder = new TextDecoder();
      let text = '';
      const deadline = Date.now() + ms;
      while (!until.test(text)) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error(`timed out; stream so far: ${JSON.stringify(text)}`);
        let timer: NodeJS.Timeout | undefined;
        const chunk = await Promise.race([
          reader.read(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out; stream so far: ${JSON.stringify(text)}`)), remaining);
          }),
        ]).finally(() => clearTimeout(timer));
        if (chunk.done) break;
        text += decoder.decode(chunk.value, { stream: true });
      }
      return text;
    }

    async function connect(patient: string, headers: Record<string, string> = {}) {
      const abort = new AbortController();
      const res = await fetch(`${base}/${patient}/events`, as(patient, { signal: abort.signal, headers }));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const reader = res.body!.getReader();
      return { reader, close: () => abort.abort() };
    }

    it('sends a mail event with only the sequence, plus heartbeats, and nothing about the mail', async () => {
      const { reader, close } = await connect(alice);
      const opening = await readUntil(reader, /: heartbeat\n\n/);
      expect(opening).toMatch(/^retry: \d+\n\n/);
      expect(opening).not.toMatch(/event: mail/);

      enqueue(bob, 5);
      enqueue(alice, 1);
      const text = await readUntil(reader, /event: mail\n/);
      expect(text).toMatch(/id: 1\nevent: mail\ndata: \{"sequence":1\}\n\n/);
      expect(text).not.toContain(CANARY);
      expect(text).not.toContain(msgId(1));
      expect(text).not.toContain('ciphertext');
      close();
      await new Promise((r) => setTimeout(r, 100));
      expect(local.subscriberCount(alice)).toBe(0);
    });

    it('tells a (re)connecting client about mail it has not seen (Last-Event-ID)', async () => {
      enqueue(alice, 1);
      enqueue(alice, 2);
      const fresh = await connect(alice);
      expect(await readUntil(fresh.reader, /event: mail/)).toMatch(/id: 2\nevent: mail\ndata: \{"sequence":2\}/);
      fresh.close();

      const behind = await connect(alice, { 'Last-Event-ID': '1' });
      expect(await readUntil(behind.reader, /event: mail/)).toMatch(/id: 2\nevent: mail/);
      behind.close();

      const upToDate = await connect(alice, { 'Last-Event-ID': '2' });
      const text = await readUntil(upToDate.reader, /(: heartbeat\n\n[^]*){2}/);
      expect(text).not.toMatch(/event: mail/);
      upToDate.close();
    });

    it('refuses a bad Last-Event-ID and unauthenticated callers before opening a stream', async () => {
      await expectOutcome(
        await fetch(`${base}/${alice}/events`, as(alice, { headers: { 'Last-Event-ID': 'x' } })),
        400,
        'invalid',
      );
      await expectOutcome(await fetch(`${base}/${alice}/events`), 401, 'login');
      await expectOutcome(await fetch(`${base}/${alice}/events`, as(bob)), 403, 'forbidden');
      expect(local.subscriberCount(alice)).toBe(0);
    });

    it('ends streams on shutdown', async () => {
      const { reader } = await connect(alice);
      await readUntil(reader, /retry: /);
      shutdown.abort();
      const ended = setTimeout(() => void reader.cancel(), 2000); // a hang fails the assertion below
      let done = false;
      let chunks = 0;
      while (!done) {
        const next = await reader.read();
        done = next.done;
        if (!next.done) chunks++;
      }
      clearTimeout(ended);
      expect(chunks).toBeLessThan(10); // ended by the server, not by the 2 s cancel (heartbeats every 50 ms)
      expect(local.subscriberCount(alice)).toBe(0);
    });
  });

  describe('PUT /:pseudonym/wakeup', () => {
    const put = (patient: string, payload: string, type = 'application/json') =>
      fetch(
        `${base}/${patient}/wakeup`,
        as(patient, { method: 'PUT', body: payload, headers: { 'content-type': type } }),
      );
    const token = 'fcm-token_abc:APA91b-0123456789';

    it('registers FCM and local channels without echoing the token', async () => {
      const res = await put(alice, JSON.stringify({ channel: 'fcm', token }));
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ channel: 'fcm', effectiveChannel: 'local', updatedAt: expect.any(String) });
      expect(text).not.toContain(token);
      expect(channels.fcmToken(alice)).toBe(token);

      const local = (await (await put(alice, JSON.stringify({ channel: 'local' }))).json()) as { channel: string };
      expect(local.channel).toBe('local');
      expect(channels.get(alice)).toMatchObject({ channel: 'local' });
      expect(channels.fcmToken(alice)).toBeUndefined();
    });

    it.each([
      ['{"channel":"sms"}'],
      ['{"channel":"fcm"}'],
      ['{"channel":"fcm","token":"short"}'],
      ['{"channel":"fcm","token":"has spaces in it and more"}'],
      ['{"channel":"local","token":"fcm-token_abc:APA91b-0123456789"}'],
      ['{"channel":"local","extra":1}'],
      ['["local"]'],
      ['{"channel":'],
    ])('rejects %s with 400', async (payload) => {
      await expectOutcome(await put(alice, payload), 400, 'invalid');
      expect(channels.get(alice)).toBeUndefined();
    });

    it('rejects non-JSON, oversized bodies and other patients', async () => {
      await expectOutcome(await put(alice, 'channel=local', 'application/x-www-form-urlencoded'), 415, 'not-supported');
      await expectOutcome(
        await put(alice, JSON.stringify({ channel: 'fcm', token: 'a'.repeat(9000) })),
        413,
        'too-costly',
      );
      const res = await fetch(
        `${base}/${alice}/wakeup`,
        as(bob, { method: 'PUT', body: '{"channel":"local"}', headers: { 'content-type': 'application/json' } }),
      );
      await expectOutcome(res, 403, 'forbidden');
      expect(channels.get(alice)).toBeUndefined();
    });
  });
});
