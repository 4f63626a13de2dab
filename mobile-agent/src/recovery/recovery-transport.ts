import { Agent, request, type Dispatcher } from 'undici';
import {
  outcomeText,
  type RecoveryApprovalPost,
  type RecoveryApprovals,
  type RecoveryOpen,
  type RecoveryOpened,
  type RelayAccepted,
  type RelayPost,
} from '@phr/common';
import type { HospitalProfile } from '../profile/network-profile';
import { TransportError, type TransportErrorCode } from '../transport/transport-error';

/**
 * A hospital gateway's recovery routes as the agent reaches them (the mailbox itself is the
 * GatewayTransport's). Behind an interface so a phone shell can bring its own HTTP stack.
 */
export interface RecoveryTransport {
  /** Puts sealed mail into another patient's mailbox (`POST /relay/{pseudonym}`). */
  relay(target: string, post: RelayPost): Promise<RelayAccepted>;
  /** A new device opens a request for the guardians' shares (`POST /recovery`). */
  openRequest(open: RecoveryOpen): Promise<RecoveryOpened>;
  /** A guardian leaves its sealed share (`POST /recovery/{id}/approvals`). */
  approve(requestId: string, post: RecoveryApprovalPost): Promise<{ approvedAt: string }>;
  /** The approvals so far, for the device that opened the request. @throws TransportError status 410 once expired. */
  approvals(requestId: string): Promise<RecoveryApprovals>;
  close(): Promise<void>;
}

/** How an agent gets a hospital's recovery transport for an identity (the default: HTTPS, mutual TLS). */
export type RecoveryTransportFactory = (
  hospital: HospitalProfile,
  identity: { certificatePem: string; privateKeyPem: string },
) => RecoveryTransport;

export const httpsRecoveryTransport: RecoveryTransportFactory = (hospital, identity) =>
  new HttpsRecoveryTransport({
    baseUrl: hospital.gatewayUrl,
    caPem: hospital.caRootCertPem,
    certificatePem: identity.certificatePem,
    privateKeyPem: identity.privateKeyPem,
  });

const STATUS_CODES: Record<number, TransportErrorCode> = { 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND' };

/** The recovery routes over HTTPS with the caller's client certificate (undici, one keep-alive pool). */
export class HttpsRecoveryTransport implements RecoveryTransport {
  private readonly dispatcher: Agent;

  constructor(
    private readonly o: { baseUrl: string; caPem: string; certificatePem: string; privateKeyPem: string },
    private readonly timeoutMs = 15_000,
  ) {
    this.dispatcher = new Agent({
      connect: { ca: o.caPem, cert: o.certificatePem, key: o.privateKeyPem },
      keepAliveTimeout: 10_000,
    });
  }

  relay(target: string, post: RelayPost): Promise<RelayAccepted> {
    return this.call('POST', `/relay/${encodeURIComponent(target)}`, post);
  }

  openRequest(open: RecoveryOpen): Promise<RecoveryOpened> {
    return this.call('POST', '/recovery', open);
  }

  approve(requestId: string, post: RecoveryApprovalPost): Promise<{ approvedAt: string }> {
    return this.call('POST', `/recovery/${encodeURIComponent(requestId)}/approvals`, post);
  }

  approvals(requestId: string): Promise<RecoveryApprovals> {
    return this.call('GET', `/recovery/${encodeURIComponent(requestId)}/approvals`);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async call<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<T> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(new URL(path, this.o.baseUrl), {
        method,
        dispatcher: this.dispatcher,
        headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (err) {
      throw new TransportError('UNREACHABLE', `${this.o.baseUrl} cannot be reached`, undefined, { cause: err });
    }
    const text = await res.body.text();
    if (res.statusCode >= 400) {
      throw new TransportError(
        STATUS_CODES[res.statusCode] ?? 'HTTP_ERROR',
        `${method} ${path} answered ${res.statusCode}: ${outcomeText(text)}`,
        res.statusCode,
      );
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new TransportError('BAD_RESPONSE', `${method} ${path} did not answer JSON`, res.statusCode, { cause: err });
    }
  }
}
