// @peculiar/x509 (via tsyringe) needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import pino from 'pino';
import { newPseudonym } from '@phr/common';
import { MailboxStore } from '../mailbox/mailbox-store';
import { CompositeNotifier } from './composite-notifier';
import { createNotifier, type Notifier } from './create-notifier';
import { createFcmClient, type FcmClient } from './fcm-config';
import type { LocalNotifier } from './local-notifier';
import type { WakeupChannelStore } from './wakeup-channels';
import { openDatabase } from '../store/database';

const FCM_HOST = 'fcm.googleapis.com';
const PROJECT = 'phr-test-project';
const ACCESS_TOKEN = 'test-access-token-1234';
const CANARY = 'Hemoglobin-A1c-CANARY-7.9';
const TOKEN = 'dAbc123_XYZ:APA91bFakeRegistrationToken-0123456789';

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
type Reply = { status: number; json: unknown; delayMs?: number };

const unregistered: Reply = {
  status: 404,
  json: {
    error: {
      code: 404,
      message: 'Requested entity was not found.',
      status: 'NOT_FOUND',
      details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }],
    },
  },
};

/** A CA and a certificate for fcm.googleapis.com, so firebase-admin's TLS check passes for real. */
async function testPki(): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  const crypto = webcrypto;
  x509.cryptoProvider.set(crypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const caKeys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=Test FCM CA',
    keys: caKeys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const keys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${FCM_HOST}`,
    issuer: ca.subject,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: FCM_HOST }]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { caPem: ca.toString('pem'), certPem: cert.toString('pem'), keyPem };
}

describe('FcmNotifier at the FCM HTTP boundary', () => {
  let server: https.Server;
  let port: number;
  let caPem: string;
  const requests: Recorded[] = [];
  const replies: Reply[] = [];
  const dialled: string[] = [];
  let agent: https.Agent;
  let fcmClient: FcmClient;

  let dir: string;
  let db: DatabaseSync;
  let mailbox: MailboxStore;
  let channels: WakeupChannelStore;
  let local: LocalNotifier;
  let notifier: CompositeNotifier;
  let notify: Notifier;
  let logLines: string[];
  const alice = newPseudonym();

  beforeAll(async () => {
    const pki = await testPki();
    caPem = pki.caPem;
    server = https.createServer({ key: pki.keyPem, cert: pki.certPem }, (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        const reply = replies.shift() ?? {
          status: 200,
          json: { name: `projects/${PROJECT}/messages/0:${requests.length}` },
        };
        setTimeout(() => {
          res.writeHead(reply.status, { 'content-type': 'application/json; charset=UTF-8' });
          res.end(JSON.stringify(reply.json));
        }, reply.delayMs ?? 0);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;

    // Every connection firebase-admin opens to fcm.googleapis.com:443 lands on the local server,
    // with certificate verification against the test CA (so the request really is HTTPS to FCM's name).
    class RedirectingAgent extends https.Agent {
      override createConnection(options: https.RequestOptions & tls.ConnectionOptions) {
        dialled.push(`${options.host}:${options.port}`);
        return tls.connect({ host: '127.0.0.1', port, servername: FCM_HOST, ca: caPem });
      }
    }
    agent = new RedirectingAgent({ keepAlive: false });
    fcmClient = createFcmClient(
      { projectId: PROJECT },
      {
        httpAgent: agent,
        credential: { getAccessToken: async () => ({ access_token: ACCESS_TOKEN, expires_in: 3600 }) },
      },
    );
  });

  afterAll(async () => {
    await fcmClient.close();
    agent.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    requests.length = 0;
    replies.length = 0;
    dialled.length = 0;
    dir = mkdtempSync(join(tmpdir(), 'fcm-'));
    db = openDatabase(join(dir, 'gateway.sqlite'));
    mailbox = new MailboxStore(db);
    logLines = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    });
    notify = createNotifier({ db, mailbox, log: pino({ level: 'debug' }, sink), fcmClient });
    ({ notifier } = notify);
    ({ channels, local } = notify.wakeups);
    expect(notify.wakeups.fcmEnabled).toBe(true);
  });

  afterEach(async () => {
    await notify.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const deliver = (n: number) =>
    mailbox.enqueueNow({
      pseudonym: alice,
      messageId: `delivery-${String(n).padStart(8, '0')}`,
      kind: 'delivery',
      body: JSON.stringify({ ciphertext: `${CANARY}-${n}`, hospital: 'St. Canary General' }),
    });

  it('sends one data-only message with an opaque id to the FCM v1 endpoint', async () => {
    channels.register(alice, { channel: 'fcm', token: TOKEN });
    const localHints: number[] = [];
    local.subscribe(alice, (hint) => localHints.push(hint.sequence));
    deliver(1);
    await notifier.idle();

    expect(dialled).toEqual([`${FCM_HOST}:443`]);
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe(`/v1/projects/${PROJECT}/messages:send`);
    expect(request!.headers.host).toBe(FCM_HOST);
    expect(request!.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(request!.headers['content-type']).toMatch(/^application\/json/);
    const { message, ...rest } = JSON.parse(request!.body) as { message: Record<string, unknown> };
    expect(rest).toEqual({});
    expect(message).not.toHaveProperty('notification');
    expect(message.token).toBe(TOKEN);
    expect(message.data).toEqual({ type: 'phr.mailbox', wakeId: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) });
    expect(message.android).toMatchObject({ priority: 'high', collapse_key: 'phr-mailbox' });
    expect(message.android).not.toHaveProperty('notification');
    expect(message.apns).toEqual({
      headers: { 'apns-push-type': 'background', 'apns-priority': '5', 'apns-collapse-id': 'phr-mailbox' },
      payload: { aps: { 'content-available': 1 } },
    });
    for (const secret of [CANARY, 'St. Canary', 'delivery-', alice]) expect(request!.body).not.toContain(secret);
    // The local channel hears about it too (an open SSE stream), with the sequence only.
    expect(localHints).toEqual([1]);

    deliver(2);
    await notifier.idle();
    const second = JSON.parse(requests[1]!.body) as { message: { data: { wakeId: string } } };
    expect(second.message.data.wakeId).not.toBe((message.data as { wakeId: string }).wakeId);
    expect(logLines.join('')).not.toContain(TOKEN);
  });

  it('marks an UNREGISTERED token dead, falls back to local, and keeps the mail', async () => {
    channels.register(alice, { channel: 'fcm', token: TOKEN });
    const localHints: number[] = [];
    local.subscribe(alice, (hint) => localHints.push(hint.sequence));
    replies.push(unregistered);
    deliver(1);
    await notifier.idle();

    expect(requests).toHaveLength(1);
    expect(channels.get(alice)).toMatchObject({ channel: 'fcm', tokenInvalidAt: expect.any(String) });
    expect(channels.fcmToken(alice)).toBeUndefined();
    expect(mailbox.pending(alice).map((m) => m.sequence)).toEqual([1]);
    const logs = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logs).toContainEqual(expect.objectContaining({ pseudonym: alice, channel: 'fcm', code: 'token-invalid' }));
    expect(logLines.join('')).not.toContain(TOKEN);
    expect(logLines.join('')).not.toContain(CANARY);

    // Dead token: no more FCM requests, local wake-ups continue, mail accumulates in order.
    deliver(2);
    await notifier.idle();
    expect(requests).toHaveLength(1);
    expect(localHints).toEqual([1, 2]);
    expect(mailbox.pending(alice).map((m) => m.sequence)).toEqual([1, 2]);

    // The agent registers a fresh token: FCM resumes.
    channels.register(alice, { channel: 'fcm', token: `${TOKEN}-new` });
    deliver(3);
    await notifier.idle();
    expect(requests).toHaveLength(2);
    expect((JSON.parse(requests[1]!.body) as { message: { token: string } }).message.token).toBe(`${TOKEN}-new`);
  });

  it('keeps the token and the mail on transient and configuration errors', async () => {
    channels.register(alice, { channel: 'fcm', token: TOKEN });
    replies.push({ status: 500, json: { error: { code: 500, message: 'Internal error', status: 'INTERNAL' } } });
    replies.push({
      status: 401,
      json: {
        error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' },
      },
    });
    deliver(1);
    await notifier.idle();
    deliver(2);
    await notifier.idle();

    expect(requests).toHaveLength(2);
    expect(channels.fcmToken(alice)).toBe(TOKEN);
    expect(mailbox.pending(alice).map((m) => m.sequence)).toEqual([1, 2]);
    const logs = logLines.map((l) => JSON.parse(l) as { level: number; code?: string });
    expect(logs).toContainEqual(expect.objectContaining({ level: 40, code: 'unavailable' }));
    expect(logs).toContainEqual(expect.objectContaining({ level: 50, code: 'misconfigured' }));
  });

  it('coalesces a burst into at most one request in flight plus one queued', async () => {
    channels.register(alice, { channel: 'fcm', token: TOKEN });
    replies.push({ status: 200, json: { name: `projects/${PROJECT}/messages/slow` }, delayMs: 150 });
    for (let n = 1; n <= 5; n++) deliver(n);
    await notifier.idle();
    expect(requests).toHaveLength(2);
    expect(mailbox.pending(alice)).toHaveLength(5);
  });

  it('does not use FCM for patients on the local channel, or when FCM is not configured', async () => {
    channels.register(alice, { channel: 'local' });
    deliver(1);
    await notifier.idle();
    const bob = newPseudonym();
    channels.register(bob, { channel: 'fcm', token: TOKEN });
    const localOnly = new CompositeNotifier({ local, logger: pino({ level: 'silent' }) });
    const seen: number[] = [];
    local.subscribe(bob, (hint) => seen.push(hint.sequence));
    await localOnly.wake(bob, { sequence: 7 });
    expect(requests).toHaveLength(0);
    expect(seen).toEqual([7]);
  });
});
