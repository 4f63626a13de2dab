import type { ErrorRequestHandler, RequestHandler } from 'express';
import { FhirError, operationOutcome } from '@phr/common';
import type { Logger } from '../logger';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/**
 * The one place errors become HTTP answers: every error is an OperationOutcome with the right
 * status. Unexpected errors are logged (message only, never request content) and answered 500.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const fhir = toFhirError(err);
    if (fhir.status >= 500 && fhir.status !== 503) {
      log.error(
        {
          err: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
          path: req.route?.path,
        },
        'request failed',
      );
    }
    if (fhir.status === 401) res.setHeader('WWW-Authenticate', 'Mutual-TLS realm="phr-gateway"');
    if (fhir.status === 503) res.setHeader('Retry-After', '5');
    res.status(fhir.status).type(FHIR_JSON).send(JSON.stringify(fhir.outcome));
  };
}

export function toFhirError(err: unknown): FhirError {
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
