import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import express from 'express';
import { FhirError } from '@phr/common';
import { bodyReader } from './body';

/** The body reader behind a plain HTTP server: what it answers, and when. */
describe('bodyReader', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    const app = express();
    const body = bodyReader({ idleTimeoutMs: 300 });
    app.post('/raw', body.raw(64 * 1024), (req, res) => {
      res.json({ bytes: (req.body as Buffer).length });
    });
    app.post('/json', body.json(1024), (req, res) => {
      res.json({ body: req.body as unknown });
    });
    app.post('/form', body.form(1024), (req, res) => {
      res.json({ body: (req.body as unknown) ?? null });
    });
    app.post('/peek', async (req, res) => {
      const first = await body.peek(req, res, 4, 64 * 1024);
      const all = await body.read(req, res, 64 * 1024);
      res.json({ first: first.toString(), all: all.toString() });
    });
    app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      const status = err instanceof FhirError ? err.status : 500;
      res.status(status).json({ status, message: (err as Error).message });
    });
    server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const post = async (path: string, body: Buffer | string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', body, headers });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it('reads a body, and an empty one', async () => {
    expect(await post('/raw', 'x'.repeat(1000))).toEqual({ status: 200, json: { bytes: 1000 } });
    expect(await post('/raw', '')).toEqual({ status: 200, json: { bytes: 0 } });
  });

  it('refuses a declared length over the limit, and a body that grows past it', async () => {
    expect((await post('/raw', 'x'.repeat(64 * 1024 + 1))).status).toBe(413);
    const chunked = new ReadableStream({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(new TextEncoder().encode('y'.repeat(20_000)));
        c.close();
      },
    });
    const res = await fetch(`${url}/raw`, { method: 'POST', body: chunked, duplex: 'half' });
    expect(res.status).toBe(413);
  });

  it('inflates gzip within the same limit, and refuses a small body that inflates past it', async () => {
    expect(await post('/raw', gzipSync('z'.repeat(50_000)), { 'content-encoding': 'gzip' })).toEqual({
      status: 200,
      json: { bytes: 50_000 },
    });
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect((await post('/raw', bomb, { 'content-encoding': 'gzip' })).status).toBe(413);
    expect((await post('/raw', 'not gzip', { 'content-encoding': 'gzip' })).status).toBe(400);
    expect((await post('/raw', 'x', { 'content-encoding': 'compress' })).status).toBe(415);
  });

  it('parses JSON objects and forms, and says what is wrong with the rest', async () => {
    expect(await post('/json', '{"a":1}')).toEqual({ status: 200, json: { body: { a: 1 } } });
    expect((await post('/json', '"a string"')).status).toBe(400);
    expect((await post('/json', '{"a":')).status).toBe(400);
    expect(
      await post('/form', 'patient=pt1&code=a&code=b', { 'content-type': 'application/x-www-form-urlencoded' }),
    ).toEqual({ status: 200, json: { body: { patient: 'pt1', code: ['a', 'b'] } } });
    expect(await post('/form', '{}', { 'content-type': 'application/json' })).toEqual({
      status: 200,
      json: { body: null },
    });
  });

  it('peeks at the start of a body and still reads all of it', async () => {
    expect(await post('/peek', 'abcdefgh')).toEqual({ status: 200, json: { first: 'abcdefgh', all: 'abcdefgh' } });
  });

  it('answers 408 when a body stops coming', async () => {
    const port = (server.address() as AddressInfo).port;
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    socket.write('POST /raw HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789');
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 1000));
    socket.destroy();
    const text = Buffer.concat(received).toString();
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toMatch(/nothing arrived for 0\.3 s/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
  });
});
