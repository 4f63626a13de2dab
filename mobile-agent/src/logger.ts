import pino from 'pino';

/** The shape of pino's methods the agent uses; never pass health data, names or keys. */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Diagnostics go to stderr so the CLI's stdout stays the answer. */
export function createLogger(level: string): Logger {
  return pino({ level, base: undefined }, pino.destination(2));
}
