import { Agent, request, type Dispatcher } from 'undici';
import { outcomeText } from '@phr/common';
import type { GatewayTransport, MailMessage, PullReply, WakeupRegistration } from './gateway-transport';
import { TransportError, type TransportErrorCode } from './transport-error';

export interface HttpsGatewayOptions {
  baseUrl: string;
  pseudonym: string;
  /** Roots that may sign the gateway's TLS certificate (the hospital's CA). */
  caPem: string;
  /** The patient's own certificate and key: mutual TLS is how the gateway knows the patient. */
  certificatePem: string;
  privateKeyPem: string;
  /** Per request, on top of any long-poll wait. */
  timeoutMs?: number;
}

const STATUS_CODES: Record<number, TransportErrorCode> = { 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND' };

/** The gateway over HTTPS with the patient's client certificate (undici, one keep-alive pool). */
export class HttpsGatewayTransport implements GatewayTransport {
  private readonly dispatcher: Agent;
  private readonly timeoutMs: number;
  private readonly mailbox: string;

  constructor(private readonly o: HttpsGatewayOptions) {
    this.dispatcher = new Agent({
      connect: { ca: o.caPem, cert: o.certificatePem, key: o.privateKeyPem },
      keepAliveTimeout: 10_000,
    });
    this.timeoutMs = o.timeoutMs ?? 15_000;
    this.mailbox = `/mailbox/${encodeURIComponent(o.pseudonym)}`;
  }

  async fetchMail(after: number, waitMs: number): Promise<{ messages: MailMessage[]; next: number }> {
    const wait = Math.min(30, Math.max(0, Math.round(waitMs / 100) / 10));
    return this.call('GET', `${this.mailbox}/messages?after=${after}&wait=${wait}`, undefined, waitMs);
  }

  async ack(messageId: string): Promise<void> {
    await this.call('POST', `${this.mailbox}/messages/${encodeURIComponent(messageId)}/ack`);
  }

  async registerWakeup(registration: WakeupRegistration): Promise<{ effectiveChannel: string }> {
    return this.call('PUT', `${this.mailbox}/wakeup`, registration);
  }

  async issueLinkCode(): Promise<{ code: string; expiresAt: string }> {
    return this.call('POST', '/identity/link-codes', { pseudonym: this.o.pseudonym });
  }

  async replyPull(requestId: string, reply: PullReply): Promise<{ status: string }> {
    return this.call('POST', `${this.mailbox}/requests/${encodeURIComponent(requestId)}/answer`, reply);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async call<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown, extraMs = 0): Promise<T> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(new URL(path, this.o.baseUrl), {
        method,
        dispatcher: this.dispatcher,
        headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headersTimeout: this.timeoutMs + extraMs,
        bodyTimeout: this.timeoutMs + extraMs,
      });
    } catch (err) {
      throw new TransportError('UNREACHABLE', `${this.o.baseUrl} cannot be reached`, undefined, { cause: err });
    }
    const text = await res.body.text();
    if (res.statusCode >= 400) {
      throw new TransportError(
        STATUS_CODES[res.statusCode] ?? 'HTTP_ERROR',
        `${method} ${path.split('?')[0]} answered ${res.statusCode}: ${outcomeText(text)}`,
        res.statusCode,
      );
    }
    try {
      return (text === '' ? undefined : JSON.parse(text)) as T;
    } catch (err) {
      throw new TransportError('BAD_RESPONSE', `${method} ${path} did not answer JSON`, res.statusCode, { cause: err });
    }
  }
}
