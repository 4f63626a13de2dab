import { X509Certificate } from 'node:crypto';
import {
  EnvelopeError,
  GUARDIAN_SHARE_KIND,
  GUARDIAN_SHARE_WITHDRAWN_KIND,
  openEnvelope,
  RECOVERY_REQUEST_KIND,
  verifyEnvelope,
  type SealedEnvelope,
} from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import type { AgentLedger } from '../ledger/agent-ledger';
import type { Logger } from '../logger';
import type { HospitalProfile } from '../profile/network-profile';
import type { GatewayTransport, MailMessage } from '../transport/gateway-transport';
import type { Vault } from '../vault/vault-types';
import { GuardianStore } from './guardian-store';
import {
  guardianShareAad,
  GuardianSharePayloadSchema,
  guardianShareWithdrawnAad,
  GuardianShareWithdrawnPayloadSchema,
  MalformedRecoveryMessage,
  parsePayload,
  recoveryCheckCode,
  recoveryRequestAad,
  RecoveryRequestPayloadSchema,
} from './recovery-messages';

export interface GuardianMailDeps {
  /** This agent's own pseudonym: the guardian. */
  pseudonym: string;
  encryptionPrivateKeyPem: string;
  vault: Vault;
  ledger: Pick<AgentLedger, 'readPatient'>;
  log: Logger;
  now?: () => Date;
}

/** The mail kinds a guardian's agent takes from its mailboxes. */
export const GUARDIAN_MAIL_KINDS: readonly string[] = [
  GUARDIAN_SHARE_KIND,
  RECOVERY_REQUEST_KIND,
  GUARDIAN_SHARE_WITHDRAWN_KIND,
];

/** A message that will never be good: dropped from the mailbox (acknowledged) after a warning. */
class Discard extends Error {}

/**
 * Whether `err` says something about the message itself, as the inbox refuses a delivery that
 * does not verify: such mail is dropped. Anything else (the ledger or the vault away) leaves it
 * queued for the next sync.
 */
function isTheMessagesFault(err: unknown): boolean {
  return err instanceof Discard || err instanceof EnvelopeError || err instanceof MalformedRecoveryMessage;
}

/**
 * The guardian's side of the mailbox: a patient's share (`guardian-share`) is checked — signed by
 * the identity the ledger registers for that patient, sealed to this agent for this patient — and
 * kept still sealed; a new device's request (`recovery-request`) is kept and shown as a
 * notification with its check code, for the guardian to approve (`phr-agent recovery approve`)
 * once the patient confirmed that code; a patient's withdrawal (`guardian-share-withdrawn`, sent
 * when they erase their records) deletes the kept share. Mail that cannot be checked now (the ledger is away)
 * stays queued for the next sync; mail that fails a check is dropped with a warning.
 */
export class GuardianMail {
  private readonly store: GuardianStore;
  private readonly now: () => Date;

  constructor(private readonly d: GuardianMailDeps) {
    this.store = new GuardianStore(d.vault);
    this.now = d.now ?? (() => new Date());
  }

  async handle(hospital: HospitalProfile, transport: GatewayTransport, message: MailMessage): Promise<void> {
    try {
      if (message.kind === GUARDIAN_SHARE_KIND) await this.share(hospital, message);
      else if (message.kind === RECOVERY_REQUEST_KIND) await this.request(hospital, message);
      else if (message.kind === GUARDIAN_SHARE_WITHDRAWN_KIND) await this.withdrawal(message);
      else return;
    } catch (err) {
      if (!isTheMessagesFault(err)) {
        // Most likely the ledger: try again on the next sync, the mail stays queued.
        this.d.log.warn(
          { messageId: message.messageId, kind: message.kind, err: (err as Error).message },
          'recovery mail left for later',
        );
        return;
      }
      this.d.log.warn(
        { messageId: message.messageId, kind: message.kind, hospital: hospital.name, reason: (err as Error).message },
        'recovery mail dropped: it does not check out',
      );
    }
    await transport.ack(message.messageId);
  }

  private async share(hospital: HospitalProfile, message: MailMessage): Promise<void> {
    const envelope = parseEnvelope(message.body);
    const verified = verifyEnvelope(envelope);
    const aad = envelope.aad;
    if (aad.kind !== GUARDIAN_SHARE_KIND || aad.guardian !== this.d.pseudonym || !aad.pseudonym || !aad.setupId) {
      throw new Discard('the share is not sealed for this guardian');
    }
    // Only the patient's own registered identity may name this agent its guardian.
    await this.fromThePatient(aad.pseudonym, verified.senderCertificate, 'the share');
    const expected = guardianShareAad({ pseudonym: aad.pseudonym, guardian: this.d.pseudonym, setupId: aad.setupId });
    const payload = parsePayload(
      GuardianSharePayloadSchema,
      openEnvelope(verified, this.d.encryptionPrivateKeyPem, expected),
      'the share',
    );
    if (
      payload.pseudonym !== aad.pseudonym ||
      payload.guardian !== this.d.pseudonym ||
      payload.setupId !== aad.setupId
    ) {
      throw new Discard('the share does not match its envelope');
    }
    const kept = await this.store.keepShare({
      pseudonym: payload.pseudonym,
      setupId: payload.setupId,
      createdAt: payload.createdAt,
      threshold: payload.threshold,
      shareCount: payload.shareCount,
      hospital: hospital.name,
      receivedAt: this.now().toISOString(),
      envelope,
    });
    if (!kept) return;
    this.d.log.info({ patient: payload.pseudonym }, 'guardian share kept');
    await this.d.vault.addNotification(
      'recovery',
      `You are now a recovery guardian for patient ${payload.pseudonym}: if they lose their device, ` +
        `${payload.threshold} of their ${payload.shareCount} guardians and paper codes can let them back in. ` +
        'You cannot see their records.',
      `share:${payload.pseudonym}:${payload.setupId}`,
    );
  }

  /**
   * The patient erased their records and withdraws the share: it is deleted, if the patient's own
   * registered identity signed the withdrawal and no newer share (a later setup) replaced it.
   */
  private async withdrawal(message: MailMessage): Promise<void> {
    const envelope = parseEnvelope(message.body);
    const verified = verifyEnvelope(envelope);
    const aad = envelope.aad;
    if (aad.kind !== GUARDIAN_SHARE_WITHDRAWN_KIND || aad.guardian !== this.d.pseudonym || !aad.pseudonym) {
      throw new Discard('the withdrawal is not sealed for this guardian');
    }
    const kept = await this.store.share(aad.pseudonym);
    if (!kept) throw new Discard('this agent holds no share for the patient');
    await this.fromThePatient(aad.pseudonym, verified.senderCertificate, 'the withdrawal');
    const payload = parsePayload(
      GuardianShareWithdrawnPayloadSchema,
      openEnvelope(
        verified,
        this.d.encryptionPrivateKeyPem,
        guardianShareWithdrawnAad({ pseudonym: aad.pseudonym, guardian: this.d.pseudonym }),
      ),
      'the withdrawal',
    );
    if (payload.pseudonym !== aad.pseudonym || payload.guardian !== this.d.pseudonym) {
      throw new Discard('the withdrawal does not match its envelope');
    }
    if (Date.parse(kept.createdAt) > Date.parse(payload.withdrawnAt)) {
      throw new Discard('the share kept is newer than the withdrawal');
    }
    await this.store.forgetShare(payload.pseudonym, payload.withdrawnAt);
    this.d.log.info({ patient: payload.pseudonym }, 'guardian share withdrawn and deleted');
    await this.d.vault.addNotification(
      'recovery',
      `Patient ${payload.pseudonym} erased their records and withdrew the recovery share you kept for them: ` +
        'it was deleted, and you are no longer their guardian.',
      `withdrawn:${payload.pseudonym}:${payload.withdrawnAt}`,
    );
  }

  /**
   * Checks that `signer` is the certificate the ledger registers for the patient now.
   * @throws Discard when it is not, or the patient is not registered; the ledger's error otherwise.
   */
  private async fromThePatient(pseudonym: string, signer: string, what: string): Promise<void> {
    const patient = await this.d.ledger.readPatient(pseudonym).catch((err: unknown) => {
      if (err instanceof LedgerError && err.code === 'NOT_FOUND') throw new Discard('the patient is not registered');
      throw err;
    });
    if (!sameCertificate(signer, patient.signingCertificate)) {
      throw new Discard(`${what} is not signed by the patient's registered identity`);
    }
  }

  private async request(hospital: HospitalProfile, message: MailMessage): Promise<void> {
    const envelope = parseEnvelope(message.body);
    const verified = verifyEnvelope(envelope);
    const aad = envelope.aad;
    if (aad.kind !== RECOVERY_REQUEST_KIND || aad.guardian !== this.d.pseudonym || !aad.pseudonym || !aad.requestId) {
      throw new Discard('the request is not sealed for this guardian');
    }
    const share = await this.store.share(aad.pseudonym);
    // Not a patient this agent guards: nothing it could give; no need to bother the guardian.
    if (!share) throw new Discard('this agent holds no share for the patient');
    const expected = recoveryRequestAad({
      requestId: aad.requestId,
      pseudonym: aad.pseudonym,
      guardian: this.d.pseudonym,
    });
    const payload = parsePayload(
      RecoveryRequestPayloadSchema,
      openEnvelope(verified, this.d.encryptionPrivateKeyPem, expected),
      'the recovery request',
    );
    if (
      payload.requestId !== aad.requestId ||
      payload.pseudonym !== aad.pseudonym ||
      payload.hospital !== hospital.mspId
    ) {
      throw new Discard('the recovery request does not match its envelope or the gateway it came through');
    }
    const checkCode = recoveryCheckCode(payload.requestId, payload.ephemeralPublicKey);
    const kept = await this.store.keepRequest({
      requestId: payload.requestId,
      pseudonym: payload.pseudonym,
      hospital: hospital.name,
      ephemeralPublicKey: payload.ephemeralPublicKey,
      checkCode,
      requestedAt: payload.requestedAt,
      expiresAt: payload.expiresAt,
      receivedAt: this.now().toISOString(),
      status: 'pending',
    });
    if (!kept) return;
    this.d.log.info({ patient: payload.pseudonym, requestId: payload.requestId }, 'recovery request received');
    await this.d.vault.addNotification(
      'recovery',
      `A new device asks to recover patient ${payload.pseudonym}'s records (request ${payload.requestId}, ` +
        `check code ${checkCode}, open until ${payload.expiresAt}). Approve only once the patient has told you ` +
        `this check code themselves: phr-agent recovery approve ${payload.requestId}`,
      `request:${payload.requestId}`,
    );
  }
}

/** The envelope as far as this agent reads it before `verifyEnvelope` checks the rest. */
function parseEnvelope(body: string): SealedEnvelope {
  let envelope: unknown;
  try {
    envelope = JSON.parse(body);
  } catch {
    throw new Discard('the mail is not an envelope');
  }
  const aad = (envelope as { aad?: unknown } | null)?.aad;
  if (typeof aad !== 'object' || aad === null || Array.isArray(aad)) {
    throw new Discard('the mail is not an envelope with associated data');
  }
  return envelope as SealedEnvelope;
}

function sameCertificate(a: string, b: string): boolean {
  try {
    return new X509Certificate(a).raw.equals(new X509Certificate(b).raw);
  } catch {
    return false;
  }
}
