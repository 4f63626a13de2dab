import { Agent, request, type Dispatcher } from 'undici';
import { isRecordId, outcomeText, type ResearchExtractList } from '@phr/common';
import { ResearchError } from './research-errors';

export interface ResearchGatewayOptions {
  /** The collecting hospital's gateway (the offer's `collectVia`), https. */
  gatewayUrl: string;
  /** Root of the gateway's TLS certificate (PEM). */
  caPem: string;
  /** The researcher's certificate and key: mutual TLS names it to the gateway. */
  certificatePem: string;
  privateKeyPem: string;
  timeoutMs: number;
}

/** Extracts fetched per request: the gateway's default page. */
const PAGE = 100;

/**
 * The largest answer read: a page of 100 extracts at the gateway's 2 MB per posted extract is well
 * under it, and a gateway that answers more cannot exhaust the researcher's memory.
 */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/**
 * The researcher's side of the gateway's research extract mailbox: fetch an offer's sealed
 * extracts, acknowledge those kept. Every request has a deadline.
 */
export class ResearchGateway {
  private readonly dispatcher: Agent;

  constructor(private readonly o: ResearchGatewayOptions) {
    this.dispatcher = new Agent({
      connect: { ca: o.caPem, cert: o.certificatePem, key: o.privateKeyPem },
      keepAliveTimeout: 10_000,
    });
  }

  /**
   * The offer's waiting extracts, oldest first, one page; `after` is the previous page's `next`.
   * @throws ResearchError HTTP_ERROR (the gateway's words), UNREACHABLE, TIMEOUT or BAD_RESPONSE
   *   (also for an answer over MAX_RESPONSE_BYTES).
   */
  async extracts(offerId: string, after?: string): Promise<ResearchExtractList> {
    const query = `_count=${PAGE}${after === undefined ? '' : `&after=${encodeURIComponent(after)}`}`;
    const res = await this.exchange('GET', `/research/offers/${encodeURIComponent(offerId)}/extracts?${query}`);
    if (res.status !== 200) throw httpError(res);
    let answer: unknown;
    try {
      answer = JSON.parse(res.text);
    } catch (err) {
      throw new ResearchError('BAD_RESPONSE', 'the gateway answered something that is not JSON', res.status, {
        cause: err,
      });
    }
    if (!isExtractList(answer)) throw new ResearchError('BAD_RESPONSE', 'the gateway answered no list of extracts');
    return answer;
  }

  /**
   * Tells the gateway an extract is kept here: it drops its copy.
   * @throws ResearchError as `extracts` does.
   */
  async acknowledge(offerId: string, participationId: string): Promise<void> {
    const path = `/research/offers/${encodeURIComponent(offerId)}/extracts/${encodeURIComponent(participationId)}`;
    const res = await this.exchange('DELETE', path);
    if (res.status !== 204) throw httpError(res);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async exchange(method: Dispatcher.HttpMethod, path: string): Promise<{ status: number; text: string }> {
    const url = new URL(path, this.o.gatewayUrl);
    const deadline = AbortSignal.timeout(this.o.timeoutMs);
    try {
      const res = await request(url, {
        method,
        dispatcher: this.dispatcher,
        headers: { accept: 'application/json' },
        headersTimeout: this.o.timeoutMs,
        bodyTimeout: this.o.timeoutMs,
        signal: deadline,
      });
      return { status: res.statusCode, text: await cappedText(res) };
    } catch (err) {
      if (err instanceof ResearchError) throw err;
      const code = (err as { code?: unknown }).code;
      if (deadline.aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        throw new ResearchError(
          'TIMEOUT',
          `${method} ${url.pathname} took longer than ${this.o.timeoutMs} ms`,
          undefined,
          {
            cause: err,
          },
        );
      }
      throw new ResearchError('UNREACHABLE', `${this.o.gatewayUrl} cannot be reached`, undefined, { cause: err });
    }
  }
}

/**
 * The body as text, refused past MAX_RESPONSE_BYTES: by its declared length before reading, and by
 * counting while reading (a chunked answer declares none).
 */
async function cappedText(res: Dispatcher.ResponseData): Promise<string> {
  const tooLarge = () =>
    new ResearchError('BAD_RESPONSE', `the gateway answered more than ${MAX_RESPONSE_BYTES} bytes`, res.statusCode);
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_RESPONSE_BYTES) {
    res.body.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_RESPONSE_BYTES) {
      res.body.destroy();
      throw tooLarge();
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function httpError(res: { status: number; text: string }): ResearchError {
  return new ResearchError('HTTP_ERROR', `the gateway answered ${res.status}: ${outcomeText(res.text)}`, res.status);
}

function isExtractList(value: unknown): value is ResearchExtractList {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<ResearchExtractList>;
  return (
    typeof v.more === 'boolean' &&
    (v.next === undefined || (typeof v.next === 'string' && v.next.length > 0 && v.next.length <= 1024)) &&
    Array.isArray(v.extracts) &&
    v.extracts.every(
      (e) => typeof e === 'object' && e !== null && isRecordId(e.participationId) && typeof e.envelope === 'object',
    )
  );
}
