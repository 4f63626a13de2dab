import type { SealedEnvelope } from '@phr/common';
import { z } from 'zod';
import type { Vault } from '../vault/vault-types';

/**
 * What a guardian's agent keeps for the patients it guards, in its vault's key-value table (no
 * schema change): per patient, the share as it arrived — still sealed to this agent's encryption
 * key, opened only to approve a recovery — and the recovery requests that reached it. Nothing of
 * the patient's records is ever here.
 */

export interface KeptShare {
  /** The patient whose share this is. */
  pseudonym: string;
  setupId: string;
  /** When the patient made this split: a newer one replaces an older one. */
  createdAt: string;
  threshold: number;
  shareCount: number;
  /** The hospital (profile name) whose gateway relayed it. */
  hospital: string;
  receivedAt: string;
  envelope: SealedEnvelope;
}

export type RequestStatus = 'pending' | 'approved' | 'denied';

export interface KeptRequest {
  requestId: string;
  /** The patient to be recovered. */
  pseudonym: string;
  /** The hospital (profile name) whose gateway holds the request: where the approval goes. */
  hospital: string;
  ephemeralPublicKey: string;
  checkCode: string;
  requestedAt: string;
  expiresAt: string;
  receivedAt: string;
  status: RequestStatus;
  decidedAt?: string;
}

const SHARE_PREFIX = 'guardian-share:';
/** Per patient, when they withdrew their share: a share made before it is not kept again. */
const WITHDRAWN_PREFIX = 'guardian-share-withdrawn:';
const GUARDED = 'guardian-of';
const REQUEST_PREFIX = 'recovery-request:';
const REQUESTS = 'recovery-requests';
/** Requests listed (newest last); older ones drop off the list. */
const MAX_REQUESTS = 100;

const keptShareSchema = z.object({
  pseudonym: z.string(),
  setupId: z.string(),
  createdAt: z.string(),
  threshold: z.number(),
  shareCount: z.number(),
  hospital: z.string(),
  receivedAt: z.string(),
  envelope: z.record(z.string(), z.unknown()),
});
const keptRequestSchema = z.object({
  requestId: z.string(),
  pseudonym: z.string(),
  hospital: z.string(),
  ephemeralPublicKey: z.string(),
  checkCode: z.string(),
  requestedAt: z.string(),
  expiresAt: z.string(),
  receivedAt: z.string(),
  status: z.enum(['pending', 'approved', 'denied']),
  decidedAt: z.string().optional(),
});
const idList = z.array(z.string());

export class GuardianStore {
  constructor(private readonly vault: Vault) {}

  /**
   * Keeps `share` unless a share of a newer split is kept for the patient, or the patient withdrew
   * their shares after making this one (the same mail again); true when kept.
   */
  async keepShare(share: KeptShare): Promise<boolean> {
    const withdrawnAt = await this.vault.getMeta(WITHDRAWN_PREFIX + share.pseudonym);
    if (withdrawnAt !== undefined && Date.parse(share.createdAt) <= Date.parse(withdrawnAt)) return false;
    const current = await this.share(share.pseudonym);
    if (current && current.createdAt > share.createdAt) return false;
    await this.vault.setMeta(SHARE_PREFIX + share.pseudonym, JSON.stringify(share));
    const guarded = await this.list(GUARDED);
    if (!guarded.includes(share.pseudonym))
      await this.vault.setMeta(GUARDED, JSON.stringify([...guarded, share.pseudonym]));
    return true;
  }

  async share(pseudonym: string): Promise<KeptShare | undefined> {
    const text = await this.vault.getMeta(SHARE_PREFIX + pseudonym);
    return text === undefined ? undefined : (keptShareSchema.parse(JSON.parse(text)) as unknown as KeptShare);
  }

  /**
   * Deletes the share kept for the patient, who withdrew their shares at `withdrawnAt`; true when
   * there was one. Its recovery requests stay listed, and can no longer be approved.
   */
  async forgetShare(pseudonym: string, withdrawnAt: string): Promise<boolean> {
    await this.vault.setMeta(WITHDRAWN_PREFIX + pseudonym, withdrawnAt);
    const deleted = await this.vault.deleteMeta(SHARE_PREFIX + pseudonym);
    const guarded = await this.list(GUARDED);
    if (guarded.includes(pseudonym)) {
      await this.vault.setMeta(GUARDED, JSON.stringify(guarded.filter((p) => p !== pseudonym)));
    }
    return deleted;
  }

  /** Every patient this agent holds a share for. */
  async shares(): Promise<KeptShare[]> {
    const out: KeptShare[] = [];
    for (const pseudonym of await this.list(GUARDED)) {
      const share = await this.share(pseudonym);
      if (share) out.push(share);
    }
    return out;
  }

  /** Keeps a request as it arrived; one already kept (by id) is left as it is. */
  async keepRequest(request: KeptRequest): Promise<boolean> {
    if (await this.request(request.requestId)) return false;
    await this.vault.setMeta(REQUEST_PREFIX + request.requestId, JSON.stringify(request));
    const ids = [...(await this.list(REQUESTS)), request.requestId].slice(-MAX_REQUESTS);
    await this.vault.setMeta(REQUESTS, JSON.stringify(ids));
    return true;
  }

  async request(requestId: string): Promise<KeptRequest | undefined> {
    const text = await this.vault.getMeta(REQUEST_PREFIX + requestId);
    return text === undefined ? undefined : keptRequestSchema.parse(JSON.parse(text));
  }

  /** The requests that reached this agent, newest first. */
  async requests(): Promise<KeptRequest[]> {
    const out: KeptRequest[] = [];
    for (const id of (await this.list(REQUESTS)).reverse()) {
      const request = await this.request(id);
      if (request) out.push(request);
    }
    return out;
  }

  async decide(requestId: string, status: Exclude<RequestStatus, 'pending'>, at: Date): Promise<void> {
    const request = await this.request(requestId);
    if (!request) return;
    await this.vault.setMeta(
      REQUEST_PREFIX + requestId,
      JSON.stringify({ ...request, status, decidedAt: at.toISOString() }),
    );
  }

  private async list(key: string): Promise<string[]> {
    const text = await this.vault.getMeta(key);
    return text === undefined ? [] : idList.parse(JSON.parse(text));
  }
}
