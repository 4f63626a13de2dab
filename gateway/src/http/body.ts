import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQueryString } from 'node:querystring';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { FhirError } from '@phr/common';

/**
 * Request bodies, read only by routes that have already checked who is calling (issue 12). The
 * gateway never reads more than the route's limit, nor waits longer than the idle timeout for the
 * next piece: a declared length over the limit is a 413 before any byte is read, a body that grows
 * past it is a 413 at that byte, and one that stops coming is a 408. The HTTP edge then closes
 * the connection instead of draining the rest (edge.ts). Answers 100 Continue only when the
 * route starts reading, so a client that asks first sends nothing to a caller that is refused.
 */
export interface BodyReader {
  /** The body as it came (inflated if it was compressed), at most `maxBytes`. */
  read(req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<Buffer>;
  /**
   * At least the first `bytes` of the body (fewer only if the body is shorter), to tell what a
   * body is without reading all of it. What is read is kept for `read`.
   */
  peek(req: IncomingMessage, res: ServerResponse, bytes: number, maxBytes: number): Promise<Buffer>;
  /** Middleware: `req.body` becomes the raw Buffer. */
  raw(maxBytes: number): RequestHandler;
  /** Middleware: `req.body` becomes the parsed JSON object or array (400 if it is not JSON; undefined if empty). */
  json(maxBytes: number): RequestHandler;
  /**
   * Middleware: `req.body` becomes the fields of an `application/x-www-form-urlencoded` body;
   * another content type is left unread (`req.body` stays undefined).
   */
  form(maxBytes: number): RequestHandler;
}

export interface BodyReaderOptions {
  /** No byte for this long while a body is being read: 408. */
  idleTimeoutMs: number;
}

export const DEFAULT_BODY_IDLE_TIMEOUT_MS = 20_000;

const PEEKED = Symbol('phr.peekedBody');
const DONE = Symbol('phr.bodyDone');
const CONTINUED = Symbol('phr.continued');
type Peekable = IncomingMessage & { [PEEKED]?: Buffer[]; [DONE]?: boolean; [CONTINUED]?: boolean };

export function bodyReader(options: BodyReaderOptions = { idleTimeoutMs: DEFAULT_BODY_IDLE_TIMEOUT_MS }): BodyReader {
  const { idleTimeoutMs } = options;

  const read = async (req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<Buffer> => {
    const encoding = contentEncoding(req);
    const raw = await readUpTo(req, res, maxBytes, Infinity, idleTimeoutMs);
    return encoding === 'identity' ? raw : inflate(raw, encoding, maxBytes);
  };

  const middleware =
    (
      maxBytes: number,
      parse: (body: Buffer, req: Request) => unknown,
      applies: (req: Request) => boolean = () => true,
    ) =>
    (req: Request, res: Response, next: NextFunction): void => {
      if (!applies(req)) return next();
      read(req, res, maxBytes).then(
        (body) => {
          try {
            req.body = parse(body, req);
          } catch (err) {
            return next(err);
          }
          next();
        },
        (err: unknown) => next(err),
      );
    };

  return {
    read,
    async peek(req, res, bytes, maxBytes) {
      contentEncoding(req); // 415 before reading if the encoding is one the gateway cannot read
      return readUpTo(req, res, maxBytes, bytes, idleTimeoutMs);
    },
    raw: (maxBytes) => middleware(maxBytes, (body) => body),
    json: (maxBytes) => middleware(maxBytes, parseJsonBody),
    form: (maxBytes) =>
      middleware(
        maxBytes,
        (body) => ({ ...parseQueryString(body.toString('utf8'), undefined, undefined, { maxKeys: 1000 }) }),
        (req) => mediaType(req.headers['content-type']) === 'application/x-www-form-urlencoded',
      ),
  };
}

/** The media type of a Content-Type header, lower case, without parameters ('' if absent). */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Whether the request has a body at all (a length above 0, or chunked). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function tooLarge(maxBytes: number): FhirError {
  return new FhirError(413, [
    {
      severity: 'error',
      code: 'too-costly',
      diagnostics: `the request body is larger than this endpoint accepts (${maxBytes} bytes)`,
    },
  ]);
}

/**
 * Reads until the body ends or `wanted` bytes are in; rejects at the first byte over `maxBytes`.
 * What was read stays on the request, so a later call continues where this one stopped.
 */
function readUpTo(
  req: Peekable,
  res: ServerResponse,
  maxBytes: number,
  wanted: number,
  idleTimeoutMs: number,
): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) return Promise.reject(tooLarge(maxBytes));
  const chunks = (req[PEEKED] ??= []);
  const have = () => chunks.reduce((n, c) => n + c.length, 0);
  if (req[DONE] || !hasBody(req) || have() >= wanted) return Promise.resolve(Buffer.concat(chunks));
  if (/^100-continue$/i.test(req.headers['expect'] ?? '') && !res.headersSent && !req[CONTINUED]) {
    req[CONTINUED] = true;
    res.writeContinue();
  }

  return new Promise<Buffer>((resolve, reject) => {
    let received = have();
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        finish(
          new FhirError(408, [
            {
              severity: 'error',
              code: 'timeout',
              diagnostics: `the request body stopped: nothing arrived for ${idleTimeoutMs / 1000} s`,
            },
          ]),
        );
      }, idleTimeoutMs);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) return finish(tooLarge(maxBytes));
      chunks.push(chunk);
      if (received >= wanted) return finish();
      arm();
    };
    const onEnd = () => {
      req[DONE] = true;
      finish();
    };
    const onClose = () => {
      if (!req[DONE]) finish(new ClientGoneError());
    };
    const onError = () => finish(new ClientGoneError());
    const finish = (err?: Error) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onError);
      // Not another byte off the wire: what is left is for nobody; the edge closes the connection.
      if (!req[DONE]) req.pause();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onError);
    arm();
    req.resume();
  });
}

/** The client went away while its body was being read: nobody is left to answer. */
/**
 * What the body middleware passed to `next`, as the Error it is: the reader and its parsers fail
 * with Errors only; anything else would be wrapped, the value kept as the cause.
 */
export function asBodyError(err: unknown): Error {
  return err instanceof Error ? err : new Error('the request body could not be read', { cause: err });
}

export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
  constructor() {
    super('the client closed the connection before its request body arrived');
  }
}

type Encoding = 'identity' | 'gzip' | 'deflate' | 'br';

function contentEncoding(req: IncomingMessage): Encoding {
  const value = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (value === 'identity' || value === 'gzip' || value === 'deflate' || value === 'br') return value;
  throw new FhirError(415, `Content-Encoding ${value} is not supported: send identity, gzip, deflate or br`);
}

/** Inflates a compressed body, refusing (413) one that would grow past the same limit. */
function inflate(body: Buffer, encoding: Exclude<Encoding, 'identity'>, maxBytes: number): Buffer {
  const options = { maxOutputLength: maxBytes };
  try {
    if (encoding === 'gzip') return gunzipSync(body, options);
    if (encoding === 'deflate') return inflateSync(body, options);
    return brotliDecompressSync(body, options);
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(maxBytes);
    throw new FhirError(400, `the request body is not valid ${encoding} data`, { cause: err });
  }
}

function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return undefined; // no body: the route says what it needed
  const text = body.toString('utf8');
  const first = /\S/.exec(text)?.[0];
  if (first !== '{' && first !== '[') throw new FhirError(400, 'the request body must be a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new FhirError(400, `the request body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}
