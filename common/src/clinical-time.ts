const PARTIAL_DATE = /^\d{4}(-\d{2}(-\d{2})?)?$/;
const ZONED_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * FHIR date/dateTime/instant → ISO 8601 that sorts as text: zoned date-times become UTC
 * (`2020-01-02T03:04:05.000Z`); partial dates (`2020`, `2020-01`, `2020-01-02`) stay as they are,
 * since inventing a day or a time zone would claim a precision the sender did not have. The
 * gateway stamps elements with it, and the agent's vault applies it to query bounds too, so
 * `from`/`to` with any offset compare correctly. A partial date sorts before every time it covers.
 */
export function normalizeTime(raw: string): string {
  if (PARTIAL_DATE.test(raw)) return raw;
  if (ZONED_DATE_TIME.test(raw)) {
    const ms = Date.parse(raw);
    if (!Number.isNaN(ms)) return new Date(ms).toISOString();
  }
  return raw;
}
