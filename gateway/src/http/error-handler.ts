import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { FhirError, operationOutcome } from '@phr/common';
import type { Logger } from '../logger';
import { isStorageFull, storageFullError } from '../store/storage-full';
import { ClientGoneError } from './body';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/**
 * The one place errors become HTTP answers: every error is an OperationOutcome with the right
 * status. Unexpected errors are logged (message only, never request content) and answered 500.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  const storageFull = storageFullReporter(log);
  return (err: unknown, req, res, next) => {
    // The client left while its body was coming: nobody is left to answer, and nothing went wrong here.
    if (err instanceof ClientGoneError) return;
    if (res.headersSent) {
      next(err);
      return;
    }
    const fhir = toFhirError(err);
    if (isStorageFull(err)) storageFull();
    if (fhir.status >= 500 && fhir.status !== 503) {
      log.error(
        {
          err: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
          path: (req.route as { path?: unknown } | undefined)?.path,
        },
        'request failed',
      );
    }
    // The edge already answered and closed the connection (a request timeout): nothing to send.
    if (req.socket.destroyed) return;
    // A body that stalled or outgrew its limit is not drained: the connection closes after the answer.
    const close = (fhir.status === 408 || fhir.status === 413) && !req.complete;
    sendOutcome(res, fhir, close ? { Connection: 'close' } : {});
  };
}

/** Answers `fhir` as an OperationOutcome on a response nothing was written to yet. */
export function sendOutcome(res: ServerResponse, fhir: FhirError, headers: Record<string, string> = {}): void {
  if (fhir.status === 401) res.setHeader('WWW-Authenticate', 'Mutual-TLS realm="phr-gateway"');
  if (fhir.status === 503) res.setHeader('Retry-After', '5');
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  const body = Buffer.from(JSON.stringify(fhir.outcome));
  res.statusCode = fhir.status;
  res.setHeader('Content-Type', FHIR_JSON);
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

/**
 * `fhir` as a whole HTTP/1.1 response in bytes, for the edge to write on a connection that has no
 * response object (a request that timed out or could not be parsed); the connection closes after it.
 */
export function rawOutcomeResponse(fhir: FhirError): Buffer {
  const body = JSON.stringify(fhir.outcome);
  return Buffer.from(
    `HTTP/1.1 ${fhir.status} ${STATUS_CODES[fhir.status] ?? ''}\r\n` +
      `Content-Type: ${FHIR_JSON}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      (fhir.status === 503 ? 'Retry-After: 5\r\n' : '') +
      'Cache-Control: no-store\r\n' +
      'Connection: close\r\n\r\n' +
      body,
  );
}

export function toFhirError(err: unknown): FhirError {
  // First: a full disk may reach here wrapped in another error, whose message would mislead.
  if (isStorageFull(err)) return storageFullError(err);
  if (err instanceof FhirError) return err;
  const e = err as { status?: unknown; statusCode?: unknown; type?: unknown; expose?: unknown; message?: unknown };
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status === 413)
    return new FhirError(413, [
      { severity: 'error', code: 'too-costly', diagnostics: 'the request body is larger than this gateway accepts' },
    ]);
  if (status >= 400 && status < 500 && e.expose !== false && typeof e.message === 'string') {
    return new FhirError(status, e.message, { cause: err });
  }
  return new FhirError(
    500,
    [{ severity: 'fatal', code: 'exception', diagnostics: 'internal error; the gateway log has the details' }],
    { cause: err },
  );
}

/**
 * A full data storage is the operator's to fix, so it is logged as an error — once per 10 s at most,
 * with the number of requests refused since, so that a busy gateway does not flood its log.
 */
function storageFullReporter(log: Logger): () => void {
  let lastAt = 0;
  let refused = 0;
  return () => {
    const now = Date.now();
    if (now - lastAt < 10_000) {
      refused += 1;
      return;
    }
    log.error(
      refused > 0 ? { alsoRefused: refused } : {},
      'the data storage is full: requests that write are refused with 503 until space is freed',
    );
    lastAt = now;
    refused = 0;
  };
}

/** Anything no route took. */
export const notFoundHandler: RequestHandler = (req, res) => {
  res
    .status(404)
    .type(FHIR_JSON)
    .send(
      JSON.stringify(
        operationOutcome([
          { severity: 'error', code: 'not-found', diagnostics: `no such endpoint: ${req.method} ${req.path}` },
        ]),
      ),
    );
};
