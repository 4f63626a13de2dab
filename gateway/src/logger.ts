import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Structured JSON logs. Request bodies, FHIR resources, identifiers and names are never passed to
 * the logger; the redaction list is a second line of defence for fields that might slip in.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'phr-gateway' },
      redact: {
        paths: ['*.mrn', '*.name', '*.identifier', '*.resource', '*.body', 'req.headers.authorization'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
