import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { FhirError } from '@phr/common';
import type { Logger } from '../logger';
import { hasBody } from './body';
import { rawOutcomeResponse, sendOutcome } from './error-handler';

/**
 * The gateway's HTTPS server and what it does before any route runs (issue 12): how long a client
 * may take, how many connections it may hold, and never reading a body nobody will use.
 *
 * Timeouts. The TLS handshake must finish within `handshakeTimeoutMs`; then the request line and
 * headers within `headersTimeoutMs`, the whole request within `requestTimeoutMs`, and an idle
 * kept-alive connection is closed after `keepAliveTimeoutMs`. (A body that stops coming while a
 * route reads it is the body reader's 408, body.ts.) Where HTTP can still answer, a timeout is a
 * 408 OperationOutcome and the connection closes; a connection still in its handshake is closed.
 *
 * Connections. At most `maxConnections` in all: more are closed as they are accepted (nothing can
 * be answered before a TLS handshake, and doing one would spend what the limit protects). Below
 * that, a connection counts against its client: its remote address until the handshake shows a
 * trusted certificate, that certificate after. Many clients share an address (a hospital's NAT, a
 * mobile carrier's), so certificate holders are counted per certificate only, and the address
 * limit (`maxConnectionsPerAddress`) binds only handshakes in progress and connections without a
 * trusted certificate, closed as they arrive. A certificate over `maxConnectionsPerClient` gets
 * its requests answered 503 (throttled) on that connection, which then closes.
 */
export interface EdgeLimits {
  handshakeTimeoutMs: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** Also how long a small body nobody will read may take to arrive before its connection is closed. */
  bodyIdleTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  maxConnectionsPerAddress: number;
}

export interface EdgeTls {
  cert: Buffer;
  key: Buffer;
  /** CAs whose client certificates are trusted. */
  ca: Buffer[];
}

export interface Edge {
  server: Server;
  /** Hands every request (and every `Expect: 100-continue`) that passed the edge to `app`. */
  serve(app: RequestListener): void;
}

export function createEdge(tls: EdgeTls, limits: EdgeLimits, log: Logger): Edge {
  const server = createServer({
    cert: tls.cert,
    key: tls.key,
    ca: tls.ca,
    requestCert: true,
    // Untrusted or missing client certificates still complete the handshake, so that they get a
    // 401 OperationOutcome instead of a bare TLS alert.
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
    handshakeTimeout: limits.handshakeTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the header and request deadlines on this interval (30 s by default, which would
    // add up to 30 s to each): a tenth of the shortest, within 100 ms to 1 s.
    connectionsCheckingInterval: Math.min(
      1000,
      Math.max(100, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 10)),
    ),
  });
  server.maxConnections = limits.maxConnections;
  const guard = new ConnectionGuard(limits, log);
  guard.attach(server);
  const responses = new WeakMap<object, ServerResponse>();
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    answerClientError(err, socket, responses.get(socket), limits);
  });

  return {
    server,
    serve(app) {
      const listener = (req: IncomingMessage, res: ServerResponse) => {
        responses.set(req.socket, res);
        closeIfBodyLeftUnread(req, res, limits.bodyIdleTimeoutMs);
        if (guard.isOverLimit(req.socket)) {
          sendOutcome(
            res,
            new FhirError(503, [
              {
                severity: 'error',
                code: 'throttled',
                diagnostics:
                  `this client already has ${limits.maxConnectionsPerClient} connections open to the gateway, ` +
                  'the most it may: reuse them (keep-alive) or close some',
              },
            ]),
            { Connection: 'close' },
          );
          return;
        }
        app(req, res);
      };
      server.on('request', listener);
      // Without this listener Node answers 100 Continue at once; the body reader answers it when a
      // route, having checked the caller, starts reading.
      server.on('checkContinue', listener);
    },
  };
}

/**
 * A response sent before the request's body has all arrived says `Connection: close`, and Node
 * then closes the connection after it, instead of reading the rest of the body to throw it away
 * (up to the request timeout) so that the connection could be kept alive. Only a small declared
 * body is still drained for keep-alive (it is often in the same packet as the headers): if it has
 * not all arrived `graceMs` after the answer, the connection is closed.
 */
function closeIfBodyLeftUnread(req: IncomingMessage, res: ServerResponse, graceMs: number): void {
  if (!hasBody(req)) return;
  const declared = Number(req.headers['content-length']);
  if (req.headers['transfer-encoding'] === undefined && declared <= DRAINED_BODY_BYTES) {
    res.once('finish', () => {
      if (req.complete) return;
      const timer = setTimeout(() => {
        if (!req.complete) req.socket.destroy();
      }, graceMs);
      timer.unref();
      req.once('end', () => clearTimeout(timer));
    });
    return;
  }
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  res.writeHead = (...args: unknown[]) => {
    if (!req.complete) res.setHeader('Connection', 'close');
    return writeHead(...args);
  };
}

/** A body this small that nobody read is drained rather than the connection closed. */
const DRAINED_BODY_BYTES = 64 * 1024;

/** Errors Node reports on a connection rather than on a request: timeouts, bad HTTP, TLS failures. */
function answerClientError(
  err: NodeJS.ErrnoException,
  socket: Duplex,
  current: ServerResponse | undefined,
  limits: EdgeLimits,
): void {
  // A response may be written only if none is under way on this connection. TLS errors (a
  // handshake that failed or timed out) have no HTTP answer: clientErrorOutcome gives none.
  const canAnswer = socket.writable && (!current || current.writableEnded || !current.headersSent);
  const answer = canAnswer ? clientErrorOutcome(err, current, limits) : undefined;
  if (!answer) {
    socket.destroy();
    return;
  }
  const timer = setTimeout(() => socket.destroy(), 2000);
  timer.unref();
  socket.end(rawOutcomeResponse(answer), () => {
    clearTimeout(timer);
    socket.destroy();
  });
}

function clientErrorOutcome(
  err: NodeJS.ErrnoException,
  current: ServerResponse | undefined,
  limits: EdgeLimits,
): FhirError | undefined {
  const code = err.code ?? '';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    // A request whose headers arrived has a response under way; otherwise its headers did not arrive.
    const inRequest = current !== undefined && !current.writableEnded;
    return new FhirError(408, [
      {
        severity: 'error',
        code: 'timeout',
        diagnostics: inRequest
          ? `the request did not arrive in time: the whole request must arrive within ${seconds(limits.requestTimeoutMs)}`
          : `the request headers did not arrive in time: they must arrive within ${seconds(limits.headersTimeoutMs)}`,
      },
    ]);
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return new FhirError(431, [
      {
        severity: 'error',
        code: 'too-costly',
        diagnostics: 'the request headers are larger than this gateway accepts',
      },
    ]);
  }
  if (code.startsWith('HPE_')) {
    return new FhirError(400, [
      { severity: 'error', code: 'structure', diagnostics: 'the request is not valid HTTP/1.1' },
    ]);
  }
  return undefined;
}

const seconds = (ms: number) => `${ms / 1000} s`;

interface Slot {
  key: string;
}

/** Counts open connections per client (see the comment on EdgeLimits) and refuses those over the limits. */
class ConnectionGuard {
  private readonly open = new Map<string, number>();
  private readonly byPeer = new Map<string, Slot>();
  private readonly overLimit = new WeakSet<object>();
  private readonly warned = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly limits: EdgeLimits,
    private readonly log: Logger,
  ) {}

  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.accepted(socket));
    server.on('secureConnection', (socket: TLSSocket) => this.secured(socket));
    // Node closes connections over maxConnections itself, before anything else sees them.
    server.on('drop', () => this.warn('total', {}, 'connection refused: the gateway has maxConnections open'));
  }

  isOverLimit(socket: object): boolean {
    return this.overLimit.has(socket);
  }

  private accepted(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    const slot: Slot = { key: `address ${address}` };
    if ((this.open.get(slot.key) ?? 0) >= this.limits.maxConnectionsPerAddress) {
      this.warn('address', { address }, 'connection refused: too many connections without a trusted certificate');
      socket.destroy();
      return;
    }
    this.add(slot.key, 1);
    const peer = `${address} ${socket.remotePort ?? ''}`;
    this.byPeer.set(peer, slot);
    socket.once('close', () => {
      this.add(slot.key, -1);
      if (this.byPeer.get(peer) === slot) this.byPeer.delete(peer);
    });
  }

  /** After the handshake: a trusted certificate moves the connection from its address to its certificate. */
  private secured(socket: TLSSocket): void {
    const slot = this.byPeer.get(`${socket.remoteAddress ?? 'unknown'} ${socket.remotePort ?? ''}`);
    if (!slot || !socket.authorized) return;
    const cert = socket.getPeerX509Certificate();
    if (!cert) return;
    this.add(slot.key, -1);
    slot.key = `client ${cert.fingerprint256}`;
    if (this.add(slot.key, 1) > this.limits.maxConnectionsPerClient) {
      this.overLimit.add(socket);
      this.warn('client', { client: cert.fingerprint256.slice(0, 23) }, 'requests refused: too many connections');
    }
  }

  private add(key: string, delta: number): number {
    const n = (this.open.get(key) ?? 0) + delta;
    if (n <= 0) this.open.delete(key);
    else this.open.set(key, n);
    return n;
  }

  /** One warning per limit and 10 s, saying how many were left out. */
  private warn(limit: string, detail: Record<string, string>, message: string): void {
    const now = Date.now();
    const last = this.warned.get(limit);
    if (last && now - last.at < 10_000) {
      last.suppressed += 1;
      return;
    }
    this.warned.set(limit, { at: now, suppressed: 0 });
    this.log.warn({ limit, ...detail, ...(last?.suppressed ? { alsoRefused: last.suppressed } : {}) }, message);
  }
}
