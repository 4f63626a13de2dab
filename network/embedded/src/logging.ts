import pino from 'pino';

export type Logger = pino.Logger;

/**
 * One JSON log line per event, to stdout: the network scripts give each process its own log file.
 * Ledger values, transaction arguments and certificates are never passed to the logger.
 */
export function createLogger(service: string, level = process.env.PHR_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service } });
}
