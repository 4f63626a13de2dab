import { randomUUID } from 'node:crypto';
import { openEnvelope, seal } from '@phr/common';
import type { RecoveryDeps } from './recovery-deps';
import { hospitalByName } from '../profile/network-profile';
import { GuardianStore, type KeptRequest, type KeptShare } from './guardian-store';
import { RecoveryError } from './recovery-error';
import {
  guardianShareAad,
  GuardianSharePayloadSchema,
  parsePayload,
  recoveryApprovalAad,
  type RecoveryApprovalPayload,
} from './recovery-messages';

export interface GuardianDecision {
  requestId: string;
  /** The patient being recovered. */
  pseudonym: string;
  hospital: string;
  outcome: 'approved' | 'denied';
}

/**
 * `phr-agent recovery approve REQUEST_ID` (a guardian): the approval is logged first as a
 * `recovery` access event on the patient's own log (so the patient sees every share that left),
 * then the kept share is opened and sealed again to the request's one-time key — nothing else of
 * it leaves this agent — and left at the gateway that holds the request. Repeating it after a
 * failure logs no second event.
 *
 * @throws RecoveryError UNKNOWN_REQUEST (never received; run `phr-agent inbox` first), EXPIRED,
 * NOT_GUARDIAN (no share kept, or the patient no longer names this agent a guardian).
 */
export async function approveRecovery(d: RecoveryDeps, requestId: string): Promise<GuardianDecision> {
  const { request, share } = await decidable(d, requestId);
  const patient = await d.ledger.readPatient(request.pseudonym);
  if (!patient.guardians?.includes(d.pseudonym)) {
    throw new RecoveryError('NOT_GUARDIAN', `patient ${request.pseudonym} no longer names you as a guardian`);
  }
  const hospital = hospitalByName(d.profile, request.hospital);
  const opened = parsePayload(
    GuardianSharePayloadSchema,
    openEnvelope(
      share.envelope,
      d.encryptionPrivateKeyPem,
      guardianShareAad({ pseudonym: share.pseudonym, guardian: d.pseudonym, setupId: share.setupId }),
    ),
    'the kept share',
  );
  await logOnce(d, request, 'success');
  const payload: RecoveryApprovalPayload = {
    v: 1,
    requestId: request.requestId,
    pseudonym: request.pseudonym,
    guardian: d.pseudonym,
    setupId: opened.setupId,
    threshold: opened.threshold,
    shareCount: opened.shareCount,
    share: opened.share,
  };
  const envelope = seal(
    Buffer.from(JSON.stringify(payload), 'utf8'),
    { algorithm: 'X25519', publicKey: request.ephemeralPublicKey },
    recoveryApprovalAad({ requestId: request.requestId, pseudonym: request.pseudonym, guardian: d.pseudonym }),
    d.identity,
  );
  await d.transport(hospital).approve(request.requestId, { guardian: d.pseudonym, envelope });
  await new GuardianStore(d.vault).decide(request.requestId, 'approved', now(d));
  d.log.info({ requestId: request.requestId, patient: request.pseudonym }, 'recovery approved');
  return { requestId: request.requestId, pseudonym: request.pseudonym, hospital: hospital.name, outcome: 'approved' };
}

/**
 * `phr-agent recovery deny REQUEST_ID`: nothing is sent; the refusal is logged as a `recovery`
 * event (outcome denied) on the patient's log, so the patient learns someone tried.
 * @throws RecoveryError as `approveRecovery`, except that an expired request may be denied.
 */
export async function denyRecovery(d: RecoveryDeps, requestId: string): Promise<GuardianDecision> {
  const { request } = await decidable(d, requestId, { allowExpired: true });
  await logOnce(d, request, 'denied');
  await new GuardianStore(d.vault).decide(request.requestId, 'denied', now(d));
  return { requestId: request.requestId, pseudonym: request.pseudonym, hospital: request.hospital, outcome: 'denied' };
}

/** What this agent guards, and the requests that reached it (newest first). */
export async function guardianship(d: Pick<RecoveryDeps, 'vault'>): Promise<{
  shares: Omit<KeptShare, 'envelope'>[];
  requests: KeptRequest[];
}> {
  const store = new GuardianStore(d.vault);
  const shares = (await store.shares()).map(({ envelope: _sealed, ...rest }) => rest);
  return { shares, requests: await store.requests() };
}

async function decidable(
  d: RecoveryDeps,
  requestId: string,
  options: { allowExpired?: boolean } = {},
): Promise<{ request: KeptRequest; share: KeptShare }> {
  const store = new GuardianStore(d.vault);
  const request = await store.request(requestId);
  if (!request) {
    throw new RecoveryError(
      'UNKNOWN_REQUEST',
      `no recovery request ${requestId} reached this agent; run \`phr-agent inbox\` to fetch new mail first`,
    );
  }
  if (!options.allowExpired && Date.parse(request.expiresAt) <= now(d).getTime()) {
    throw new RecoveryError('EXPIRED', `recovery request ${requestId} expired at ${request.expiresAt}`);
  }
  const share = await store.share(request.pseudonym);
  if (!share) throw new RecoveryError('NOT_GUARDIAN', `you hold no share for patient ${request.pseudonym}`);
  return { request, share };
}

/** One event per request and outcome, also when the command is run again after a failure. */
async function logOnce(d: RecoveryDeps, request: KeptRequest, outcome: 'success' | 'denied'): Promise<void> {
  const key = `recovery-logged:${request.requestId}:${outcome}`;
  if (await d.vault.getMeta(key)) return;
  await d.ledger.recordGuardianAccess({
    eventId: randomUUID(),
    pseudonym: request.pseudonym,
    action: 'recovery',
    outcome,
    references: [request.requestId],
  });
  await d.vault.setMeta(key, now(d).toISOString());
}

function now(d: Pick<RecoveryDeps, 'now'>): Date {
  return d.now?.() ?? new Date();
}
