import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Issued } from '@phr/test-support';

/**
 * HTTP/1.1 by hand over TLS or bare TCP, for clients no library would be: headers sent a byte at a
 * time, a body declared and never sent, connections opened and left alone.
 */

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from `since` (the call that started waiting) to the complete response. */
  elapsedMs: number;
}

export interface RawConnection {
  socket: Socket;
  /** Everything the server sent so far. */
  received(): Buffer;
  /** True once the server closed or reset the connection. */
  readonly closed: boolean;
  /** When the connection closed (Date.now()), if it did. */
  readonly closedAt: number | undefined;
  /** Writes, ignoring errors (the server may have closed the connection on purpose). */
  write(data: string | Buffer): void;
  /** The first complete response, or undefined if none arrives within `timeoutMs`. */
  response(timeoutMs: number): Promise<RawResponse | undefined>;
  /** Resolves true when the server closes the connection within `timeoutMs`. */
  closedWithin(timeoutMs: number): Promise<boolean>;
  destroy(): void;
}

function wrap(socket: Socket): RawConnection {
  const chunks: Buffer[] = [];
  let closedAt: number | undefined;
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of waiters) w();
  };
  socket.on('data', (d: Buffer) => {
    chunks.push(d);
    notify();
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closedAt = Date.now();
    notify();
  });
  const received = () => Buffer.concat(chunks);
  const until = <T>(check: () => T | undefined, timeoutMs: number): Promise<T | undefined> =>
    new Promise((resolve) => {
      const first = check();
      if (first !== undefined) return resolve(first);
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        resolve(check());
      }, timeoutMs);
      const waiter = () => {
        const v = check();
        if (v === undefined) return;
        clearTimeout(timer);
        waiters.delete(waiter);
        resolve(v);
      };
      waiters.add(waiter);
    });
  return {
    socket,
    received,
    get closed() {
      return closedAt !== undefined;
    },
    get closedAt() {
      return closedAt;
    },
    write(data) {
      if (!socket.destroyed && socket.writable) socket.write(data, () => undefined);
    },
    async response(timeoutMs) {
      const since = Date.now();
      return until(() => {
        const r = parseResponse(received());
        return r ? { ...r, elapsedMs: Date.now() - since } : undefined;
      }, timeoutMs);
    },
    async closedWithin(timeoutMs) {
      return (await until(() => (closedAt !== undefined ? true : undefined), timeoutMs)) ?? false;
    },
    destroy() {
      socket.destroy();
    },
  };
}

/** A TLS connection to the gateway, with `client`'s certificate if given; resolves once the handshake is done. */
export function tlsConnection(
  port: number,
  caPem: string,
  client?: Issued,
  options: { localAddress?: string } = {},
): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = tlsConnect({
      host: '127.0.0.1',
      port,
      ca: caPem,
      servername: 'localhost',
      ...(client ? { cert: client.certificatePem, key: client.privateKeyPem } : {}),
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    const conn = wrap(socket);
    socket.once('secureConnect', () => resolve(conn));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before the TLS handshake finished')));
  });
}

/** A bare TCP connection (no TLS handshake ever starts); resolves once connected. */
export function tcpConnection(port: number, options: { localAddress?: string } = {}): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({
      host: '127.0.0.1',
      port,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    const conn = wrap(socket);
    socket.once('connect', () => resolve(conn));
    socket.once('error', reject);
  });
}

/** Request line and headers (no body). */
export function head(method: string, path: string, headers: Record<string, string | number> = {}): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: localhost'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return lines.join('\r\n') + '\r\n\r\n';
}

function parseResponse(buf: Buffer): Omit<RawResponse, 'elapsedMs'> | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1]);
  if (!Number.isInteger(status)) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const at = line.indexOf(':');
    if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  const rest = buf.subarray(end + 4);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const eol = rest.indexOf('\r\n', at);
      if (eol < 0) return undefined;
      const size = parseInt(rest.subarray(at, eol).toString('latin1'), 16);
      if (!Number.isFinite(size)) return undefined;
      if (size === 0) return { status, headers, body: Buffer.concat(parts).toString('utf8') };
      if (rest.length < eol + 2 + size + 2) return undefined;
      parts.push(rest.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
  }
  const length = Number(headers['content-length'] ?? 0);
  if (rest.length < length) return undefined;
  return { status, headers, body: rest.subarray(0, length).toString('utf8') };
}
