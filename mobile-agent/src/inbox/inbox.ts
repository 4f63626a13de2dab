import { randomUUID } from 'node:crypto';
import type { DeliveryRecord, DeliveryRejectionReason } from '@phr/common';
import type { DeliveryOutcome } from '../agent-api';
import type { AgentLedger } from '../ledger/agent-ledger';
import type { Logger } from '../logger';
import type { HospitalProfile } from '../profile/network-profile';
import type { GatewayTransport, MailMessage } from '../transport/gateway-transport';
import { VaultError } from '../vault/sqlite-vault';
import type { Vault } from '../vault/vault-types';
import { PULL_REQUEST_KIND } from '@phr/common';
import type { PullResponder } from '../requests/pull-responder';
import type { PullReport } from '../agent-api';
import { NotYetCommitted, verifyDelivery } from './delivery-verifier';

export interface InboxDeps {
  pseudonym: string;
  /** Answers relayed pull requests; without it they stay queued. */
  responder?: PullResponder;
  encryptionPrivateKeyPem: string;
  vault: Vault;
  ledger: AgentLedger;
  log: Logger;
}

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
    const deliveryId = message.messageId;
    const base = { deliveryId, hospital: hospital.name };
    const stored = await this.d.vault.delivery(deliveryId);
    if (stored) {
      // Stored on an earlier run that stopped before the notification or the acknowledgements: finish them.
      await this.notifyStored(hospital, deliveryId, stored.segmentCount);
      await this.acknowledgeOnLedger(deliveryId);
      await transport.ack(deliveryId);
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
        await transport.ack(deliveryId);
        return { ...base, result: 'refused', reason: commitment.rejectionReason ?? 'malformed' };
      }
      try {
        await this.d.vault.storeDelivery(verification.delivery, verification.elements);
      } catch (err) {
        // Element ids are the sender's; one that clashes with a stored element must not block the inbox.
        if (!(err instanceof VaultError) && !/SQLITE_CONSTRAINT/.test(String(err))) throw err;
        return this.refuse(
          hospital,
          transport,
          deliveryId,
          commitment,
          'malformed',
          'its element ids clash with records already in the vault',
        );
      }
      await this.notifyStored(hospital, deliveryId, verification.delivery.segmentCount);
      await this.acknowledgeOnLedger(deliveryId, commitment);
      await transport.ack(deliveryId);
      this.d.log.info({ deliveryId, hospital: hospital.name }, 'delivery verified and stored');
      return { ...base, result: 'stored' };
    }

    return this.refuse(hospital, transport, deliveryId, commitment, verification.reason, verification.detail);
  }

  private async refuse(
    hospital: HospitalProfile,
    transport: GatewayTransport,
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
    await transport.ack(deliveryId);
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
