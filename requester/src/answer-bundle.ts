import {
  PULL_ANSWER_CONTENT_TYPE,
  PULL_RECEIPT_EXTENSION_URL,
  PULL_STATUS_PATH,
  type SealedEnvelope,
} from '@phr/common';
import { PullRequestError } from './errors';

export interface PullReceipt {
  requestId: string;
  status: string;
  breakGlass: boolean;
}

interface Extension {
  url?: unknown;
  valueString?: unknown;
  valueCode?: unknown;
  valueBoolean?: unknown;
  extension?: Extension[];
}

const bad = (message: string, status: number) => new PullRequestError('BAD_RESPONSE', message, status);

/**
 * Reads the 200 searchset Bundle: its pull receipt and the sealed answer inside the Binary. Only
 * the shape is checked here; what the envelope says is for verifyAnswer to judge.
 */
export function readAnswerBundle(body: unknown, status = 200): { receipt: PullReceipt; envelope: SealedEnvelope } {
  const bundle = body as {
    resourceType?: unknown;
    type?: unknown;
    meta?: { extension?: Extension[] };
    entry?: { resource?: { resourceType?: unknown; contentType?: unknown; data?: unknown } }[];
  } | null;
  if (
    typeof bundle !== 'object' ||
    bundle === null ||
    bundle.resourceType !== 'Bundle' ||
    bundle.type !== 'searchset'
  ) {
    throw bad('the gateway did not answer with a searchset Bundle', status);
  }
  const receiptExt = bundle.meta?.extension?.find((e) => e.url === PULL_RECEIPT_EXTENSION_URL);
  if (!receiptExt || !Array.isArray(receiptExt.extension)) throw bad('the answer Bundle has no pull receipt', status);
  const sub = (url: string) => receiptExt.extension?.find((e) => e.url === url);
  const requestId = sub('requestId')?.valueString;
  const receiptStatus = sub('status')?.valueCode;
  const breakGlass = sub('breakGlass')?.valueBoolean;
  if (typeof requestId !== 'string' || requestId === '' || typeof receiptStatus !== 'string') {
    throw bad('the pull receipt has no request id or status', status);
  }

  const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
  if (entries.length !== 1) throw bad(`the answer Bundle has ${entries.length} entries, not 1`, status);
  const binary = entries[0]?.resource;
  if (
    typeof binary !== 'object' ||
    binary === null ||
    binary.resourceType !== 'Binary' ||
    binary.contentType !== PULL_ANSWER_CONTENT_TYPE ||
    typeof binary.data !== 'string'
  ) {
    throw bad('the answer Bundle does not hold a sealed pull answer', status);
  }
  let envelope: SealedEnvelope;
  try {
    envelope = JSON.parse(Buffer.from(binary.data, 'base64').toString('utf8')) as SealedEnvelope;
  } catch (err) {
    throw new PullRequestError('BAD_RESPONSE', 'the sealed answer is not JSON', status, undefined, { cause: err });
  }
  return { receipt: { requestId, status: receiptStatus, breakGlass: breakGlass === true }, envelope };
}

/** The request id of a 202's Content-Location (`/fhir/_pull/<requestId>`, possibly absolute). */
export function requestIdFromLocation(location: string | undefined, status: number): string {
  if (!location) throw bad('the gateway answered 202 without a Content-Location', status);
  const path = new URL(location, 'https://gateway.invalid').pathname;
  if (!path.startsWith(PULL_STATUS_PATH)) throw bad(`unexpected status location ${location}`, status);
  const id = decodeURIComponent(path.slice(PULL_STATUS_PATH.length));
  if (id === '' || id.includes('/')) throw bad(`unexpected status location ${location}`, status);
  return id;
}
