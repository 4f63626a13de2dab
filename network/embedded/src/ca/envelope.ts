/**
 * Fabric CA's response body (`fabric-ca/lib/serverendpoint.go`), byte for byte:
 * `{"result":<json or "">\n,"errors":[<{code,message}>\n],"messages":[],"success":<bool>}`, with
 * Go's JSON encoder escaping of `<`, `>`, `&`, U+2028 and U+2029.
 */
export function envelope(result: unknown, error?: { code: number; message: string }): string {
  const head = result === undefined ? '{"result":""' : `{"result":${goJson(result)}\n`;
  const errors = error ? `${goJson({ code: error.code, message: error.message })}\n` : '';
  return `${head},"errors":[${errors}],"messages":[],"success":${error ? 'false' : 'true'}}`;
}

/** JSON as Go's `json.Encoder` writes it (HTML-safe escapes), without the trailing newline. */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
