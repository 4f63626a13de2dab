import { randomUUID } from 'node:crypto';
import type { DeliveryRecord, DeliveryRejectionReason } from '@phr/common';
import type { DeliveryOutcome } from '../agent-api';
import type { AgentLedger } from '../ledger/agent-ledger';
import type { Logger } from '../logger';
import type { HospitalProfile } from '../profile/network-profile';
import type { GatewayTransport, MailMessage } from '../transport/gateway-transport';
import { VaultError } from '../vault/sqlite-vault';
import type { Vault } from '../vault/vault-types';
import { isRecordId, PULL_REQUEST_KIND } from '@phr/common';
import type { PullResponder } from '../requests/pull-responder';
import type { PullReport } from '../agent-api';
import { NotYetCommitted, verifyDelivery } from './delivery-verifier';

/** How long after a key rotation a gateway may still seal to the previous key (its cache of the registry). */
const ROTATION_GRACE_MS = 10 * 60_000;

export interface InboxDeps {
  pseudonym: string;
  /** Answers relayed pull requests; without it they stay queued. */
  responder?: PullResponder;
  /**
   * Other kinds of mail and what takes them (a guardian's recovery mail, by kind): each handler
   * acknowledges what it is done with; without one, mail of that kind stays queued.
   */
  handlers?: ReadonlyMap<string, MailHandler>;
  encryptionPrivateKeyPem: string;
  vault: Vault;
  ledger: AgentLedger;
  log: Logger;
}

/** Takes one message of its kind out of a hospital's mailbox (and acknowledges it when done). */
export type MailHandler = (
  hospital: HospitalProfile,
  transport: GatewayTransport,
  message: MailMessage,
) => Promise<void>;

/**
 * Drains one hospital's mailbox in order: verify, store, acknowledge on the ledger, then in the
 * mailbox. Each step is safe to repeat, so a crash or an outage at any point only means the
 * message comes again and finishes then — stored once, acknowledged once.
 */
export class Inbox {
  constructor(private readonly d: InboxDeps) {}

  /** Pull requests answered (or declined) during the last drain, in order. */
  readonly requests: PullReport[] = [];

  async drain(hospital: HospitalProfile, transport: GatewayTransport, waitMs = 0): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = [];
    let after = 0;
    let wait = waitMs;
    for (;;) {
      const { messages, next } = await transport.fetchMail(after, wait);
      wait = 0;
      if (messages.length === 0) return outcomes;
      for (const message of messages) {
        if (message.kind === PULL_REQUEST_KIND && this.d.responder) {
          this.requests.push(await this.d.responder.handle(hospital, transport, message));
          continue;
        }
        const handler = this.d.handlers?.get(message.kind);
        if (handler) {
          await handler(hospital, transport, message);
          continue;
        }
        if (message.kind !== 'delivery') {
          // Other kinds (data requests) are for other parts of the agent; leave them queued.
          this.d.log.debug({ messageId: message.messageId, kind: message.kind }, 'mail of another kind left queued');
          continue;
        }
        const outcome = await this.handle(hospital, transport, message);
        if (outcome === 'pending') {
          // Order is kept: nothing after an uncommitted delivery is taken before it.
          this.d.log.info({ deliveryId: message.messageId }, 'delivery not on the ledger yet; will retry');
          return outcomes;
        }
        outcomes.push(outcome);
      }
      after = next;
    }
  }

  private async handle(
    hospital: HospitalProfile,
    transport: GatewayTransport,
    message: MailMessage,
  ): Promise<DeliveryOutcome | 'pending'> {
    const deliveryId = deliveryIdOf(message);
    const base = { deliveryId, hospital: hospital.name };
    // Acknowledgements in the mailbox go by the message; everything else by the delivery.
    const ackMail = () => transport.ack(message.messageId);
    const stored = await this.d.vault.delivery(deliveryId);
    if (stored) {
      // Stored on an earlier run that stopped before the notification or the acknowledgements (or a
      // rebuild re-sent what the vault has): finish them.
      await this.notifyStored(hospital, deliveryId, stored.segmentCount);
      await this.acknowledgeOnLedger(deliveryId);
      await ackMail();
      return { ...base, result: 'already-stored' };
    }

    let commitment: DeliveryRecord | undefined;
    let verification;
    try {
      verification = await verifyDelivery({
        deliveryId,
        body: message.body,
        pseudonym: this.d.pseudonym,
        encryptionPrivateKeyPem: this.d.encryptionPrivateKeyPem,
        sender: { mspId: hospital.mspId, caRootCertPem: hospital.caRootCertPem },
        readCommitment: async (id) => (commitment = await this.d.ledger.readDelivery(id)),
      });
    } catch (err) {
      if (err instanceof NotYetCommitted) return 'pending';
      throw err;
    }

    if (verification.ok) {
      if (commitment?.status === 'rejected') {
        // Refused before (e.g. on another device); the ledger's word stands.
        await ackMail();
        return { ...base, result: 'refused', reason: commitment.rejectionReason ?? 'malformed' };
      }
      try {
        await this.d.vault.storeDelivery(verification.delivery, verification.elements);
      } catch (err) {
        // Element ids are the sender's; one that clashes with a stored element must not block the inbox.
        if (!(err instanceof VaultError) && !/SQLITE_CONSTRAINT/.test(String(err))) throw err;
        return this.refuse(
          hospital,
          ackMail,
          deliveryId,
          commitment,
          'malformed',
          'its element ids clash with records already in the vault',
        );
      }
      await this.notifyStored(hospital, deliveryId, verification.delivery.segmentCount);
      // A delivery the patient took before (complete or backup: a rebuild re-sent it) is not acknowledged again.
      await this.acknowledgeOnLedger(deliveryId, commitment);
      await ackMail();
      this.d.log.info({ deliveryId, hospital: hospital.name }, 'delivery verified and stored');
      return { ...base, result: 'stored' };
    }

    if (verification.reason === 'decryption-failed' && (await this.sealedBeforeRotation(commitment))) {
      return this.setAside(hospital, ackMail, deliveryId);
    }
    return this.refuse(hospital, ackMail, deliveryId, commitment, verification.reason, verification.detail);
  }

  /**
   * Whether a delivery that does not decrypt may have been sealed to the key of the patient's
   * previous device: committed before, or shortly after, the registry entry last changed, once a
   * key rotation (a restore) happened. A gateway seals to the key it last read, which it may have
   * read before the rotation. Such mail is not the hospital's fault and must not be rejected.
   */
  private async sealedBeforeRotation(commitment: DeliveryRecord | undefined): Promise<boolean> {
    if (commitment?.status !== 'waiting') return false;
    const patient = await this.d.ledger.readPatient(this.d.pseudonym).catch(() => undefined);
    if (patient === undefined || patient.keyVersion <= 1) return false;
    return Date.parse(commitment.recordedAt) <= Date.parse(patient.updatedAt) + ROTATION_GRACE_MS;
  }

  /**
   * Mail this device can never open (sealed to a previous device's key): taken out of the mailbox,
   * left `waiting` on the ledger, so that `phr-agent rebuild` has the hospital seal it again.
   */
  private async setAside(
    hospital: HospitalProfile,
    ackMail: () => Promise<void>,
    deliveryId: string,
  ): Promise<DeliveryOutcome> {
    const detail = `it was sealed to your previous device's key; \`phr-agent rebuild\` asks ${hospital.displayName} to send it again`;
    this.d.log.warn({ deliveryId, hospital: hospital.name }, 'delivery sealed to a previous key; left waiting');
    await this.d.vault.addNotification(
      'delivery-refused',
      `A delivery from ${hospital.displayName} could not be opened: ${detail}.`,
      deliveryId,
    );
    await ackMail();
    return { deliveryId, hospital: hospital.name, result: 'refused', reason: 'decryption-failed', detail };
  }

  private async refuse(
    hospital: HospitalProfile,
    ackMail: () => Promise<void>,
    deliveryId: string,
    commitment: DeliveryRecord | undefined,
    reason: DeliveryRejectionReason,
    detail: string,
  ): Promise<DeliveryOutcome> {
    const base = { deliveryId, hospital: hospital.name };
    this.d.log.warn({ deliveryId, hospital: hospital.name, reason }, 'delivery refused');
    const onLedger = commitment ?? (await this.d.ledger.readDelivery(deliveryId).catch(() => undefined));
    if (onLedger?.status === 'waiting') await this.d.ledger.rejectDelivery(deliveryId, reason);
    if (!(await this.d.vault.getMeta(`refusal-logged:${deliveryId}`))) {
      await this.d.ledger.recordAccess({
        eventId: randomUUID(),
        pseudonym: this.d.pseudonym,
        action: 'delivery-failed',
        outcome: 'failed',
        references: [deliveryId],
      });
      await this.d.vault.setMeta(`refusal-logged:${deliveryId}`, new Date().toISOString());
    }
    await this.d.vault.addNotification(
      'delivery-refused',
      `A delivery from ${hospital.displayName} was refused and not stored: ${detail}.`,
      deliveryId,
    );
    await ackMail();
    return { ...base, result: 'refused', reason, detail };
  }

  /** Once per delivery (the vault keeps one notification per kind and delivery). */
  private async notifyStored(hospital: HospitalProfile, deliveryId: string, segmentCount: number): Promise<void> {
    await this.d.vault.addNotification(
      'delivery-stored',
      `New records from ${hospital.displayName}: ${segmentCount} resource(s), verified against the ledger.`,
      deliveryId,
    );
  }

  private async acknowledgeOnLedger(deliveryId: string, known?: DeliveryRecord): Promise<void> {
    const record = known ?? (await this.d.ledger.readDelivery(deliveryId));
    if (record?.status === 'waiting') await this.d.ledger.acknowledgeDelivery(deliveryId);
  }
}

/**
 * The delivery a `delivery` message carries. Mail is named after its delivery, except what a
 * rebuild re-sends (a new message id, since the first message may still be in the mailbox's
 * history): that names its delivery in the envelope's associated data, which `verifyDelivery`
 * then binds (the envelope opens only for that delivery, patient and sender).
 */
export function deliveryIdOf(message: MailMessage): string {
  try {
    const aad = (JSON.parse(message.body) as { aad?: { deliveryId?: unknown } } | null)?.aad;
    if (isRecordId(aad?.deliveryId)) return aad.deliveryId;
  } catch {
    // not an envelope: verifyDelivery refuses it under the message's own id
  }
  return message.messageId;
}
