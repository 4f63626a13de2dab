/**
 * A resource as the JSON the page shows under "Full record". An attachment's base64 is no reading
 * for a person and can be megabytes (a C-CDA is often several hundred kilobytes, once per
 * document on the Records list), so long `data` is named by its size instead; the document page
 * shows it as text and the FHIR download keeps every byte.
 */
import { base64Size, sizeText, strictBase64 } from './document-text';

/** Longer `data` than this is left out of what is shown. */
export const SHOWN_DATA_LIMIT = 1024;

function dataNote(data: string): string {
  const compact = strictBase64(data);
  const size = compact === undefined ? `${data.length} characters` : sizeText(base64Size(compact));
  return `[${size} of data, left out here; the FHIR download has it whole]`;
}

export function recordJson(resource: Record<string, unknown>): string {
  return JSON.stringify(
    resource,
    (key, value: unknown) =>
      key === 'data' && typeof value === 'string' && value.length > SHOWN_DATA_LIMIT ? dataNote(value) : value,
    2,
  );
}
