import { Agent, request, type Dispatcher } from 'undici';
import {
  BACKUP_MEDIA_TYPE,
  outcomeText,
  type BackupVersion,
  type ErasureAnswer,
  type RebuildAnswer,
} from '@phr/common';
import type {
  GatewayTransport,
  MailMessage,
  PullReply,
  ResearchExtractPost,
  WakeupRegistration,
} from './gateway-transport';
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

const STATUS_CODES: Record<number, TransportErrorCode> = {
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'TOO_LARGE',
};

/** Extra time for a backup's upload or download (up to the gateway's size limit, 64 MiB by default). */
const BACKUP_MS = 120_000;

/** The gateway over HTTPS with the patient's client certificate (undici, one keep-alive pool). */
export class HttpsGatewayTransport implements GatewayTransport {
  private readonly dispatcher: Agent;
  private readonly timeoutMs: number;
  private readonly mailbox: string;
  private readonly patient: string;

  constructor(private readonly o: HttpsGatewayOptions) {
    this.dispatcher = new Agent({
      connect: { ca: o.caPem, cert: o.certificatePem, key: o.privateKeyPem },
      keepAliveTimeout: 10_000,
    });
    this.timeoutMs = o.timeoutMs ?? 15_000;
    this.mailbox = `/mailbox/${encodeURIComponent(o.pseudonym)}`;
    this.patient = encodeURIComponent(o.pseudonym);
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

  async putBackup(archive: Uint8Array): Promise<BackupVersion> {
    const bytes = await this.send('PUT', `/backup/${this.patient}`, { bytes: archive }, BACKUP_MS);
    return this.json<BackupVersion>('PUT', `/backup/${this.patient}`, bytes);
  }

  async getBackup(version?: number): Promise<Buffer> {
    const query = version === undefined ? '' : `?version=${encodeURIComponent(String(version))}`;
    return this.send('GET', `/backup/${this.patient}${query}`, { accept: BACKUP_MEDIA_TYPE }, BACKUP_MS);
  }

  async listBackups(): Promise<BackupVersion[]> {
    return (await this.call<{ versions: BackupVersion[] }>('GET', `/backup/${this.patient}/versions`)).versions;
  }

  async requestRebuild(): Promise<RebuildAnswer> {
    return this.call('POST', `/rebuild/${this.patient}`, {});
  }

  async postResearchExtract(extract: ResearchExtractPost): Promise<void> {
    await this.call('POST', '/research/extracts', extract);
  }

  async requestErasure(): Promise<ErasureAnswer> {
    return this.call('POST', `/erasure/${this.patient}`, {});
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async call<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown, extraMs = 0): Promise<T> {
    const bytes = await this.send(method, path, body === undefined ? {} : { json: body }, extraMs);
    return this.json<T>(method, path, bytes);
  }

  private json<T>(method: string, path: string, bytes: Buffer): T {
    const text = bytes.toString('utf8');
    try {
      return (text === '' ? undefined : JSON.parse(text)) as T;
    } catch (err) {
      throw new TransportError('BAD_RESPONSE', `${method} ${path.split('?')[0]} did not answer JSON`, undefined, {
        cause: err,
      });
    }
  }

  /** One request; the answer's bytes, or a TransportError for a failure or a 4xx/5xx (with the OperationOutcome's text). */
  private async send(
    method: Dispatcher.HttpMethod,
    path: string,
    content: { json?: unknown; bytes?: Uint8Array; accept?: string },
    extraMs = 0,
  ): Promise<Buffer> {
    const headers: Record<string, string> = { accept: content.accept ?? 'application/json' };
    let body: string | Uint8Array | undefined;
    if (content.bytes !== undefined) {
      headers['content-type'] = BACKUP_MEDIA_TYPE;
      body = content.bytes;
    } else if (content.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(content.json);
    }
    let res: Dispatcher.ResponseData;
    try {
      res = await request(new URL(path, this.o.baseUrl), {
        method,
        dispatcher: this.dispatcher,
        headers,
        ...(body === undefined ? {} : { body }),
        headersTimeout: this.timeoutMs + extraMs,
        bodyTimeout: this.timeoutMs + extraMs,
      });
    } catch (err) {
      throw new TransportError('UNREACHABLE', `${this.o.baseUrl} cannot be reached`, undefined, { cause: err });
    }
    const bytes = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode >= 400) {
      throw new TransportError(
        STATUS_CODES[res.statusCode] ?? 'HTTP_ERROR',
        `${method} ${path.split('?')[0]} answered ${res.statusCode}: ${outcomeText(bytes.toString('utf8'))}`,
        res.statusCode,
      );
    }
    return bytes;
  }
}
