/**
 * The slice of a pino logger this code uses, so tests and the gateway can pass `pino()` directly.
 * Callers must keep health data, names, MRNs and push tokens out of every field they log.
 */
export interface LogFn {
  (fields: object, message?: string): void;
}

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

const noop: LogFn = () => undefined;

/** For callers that do not care (unit tests of unrelated parts). */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
