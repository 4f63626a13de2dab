import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { PatientRecord, RebuildAnswer, RebuiltDelivery } from '@phr/common';
import type { IngestPool } from '../ingest/ingest-pool';
import type { Logger } from '../logger';
import type { MailboxStore } from '../mailbox';
import { inTransaction } from '../store/database';
import type { LocalDeliveryStatus } from '../store/delivery-store';
import type { KeptDeliveries, KeptDelivery } from './kept-deliveries';
import { LifecycleError } from './lifecycle-error';
import type { PatientKeys } from './patient-keys';

export interface RebuildDeps {
  db: DatabaseSync;
  keys: PatientKeys;
  kept: KeptDeliveries;
  mailbox: MailboxStore;
  /** Seals again on the ingest threads: the kept plaintext never reaches the event loop. */
  pool: Pick<IngestPool, 'reseal' | 'threads'>;
  hospitalMspId: string;
  log: Logger;
}

interface DeliveryRow {
  delivery_id: string;
  status: LocalDeliveryStatus;
}

/** A delivery to seal again, and the mail that will carry it. */
interface Resend {
  deliveryId: string;
  messageId: string;
  kept: Uint8Array;
}

/**
 * A rebuild without a backup (`POST /rebuild/{pseudonym}`; the HDMS recovery service): every
 * delivery this gateway made to the patient that it still keeps is sealed again to the patient's
 * current encryption key and queued in the mailbox as mail of kind `delivery`. The payload is the
 * one first sealed (kept-deliveries.ts), so its elements verify against the same ledger root.
 *
 * One mail per delivery and key version: its id is `{deliveryId}.rebuild-k{keyVersion}`, so asking
 * again (a retry, a second device) queues nothing twice; after a key rotation it is sent again.
 */
export class RebuildService {
  private readonly forPatient: StatementSync;
  private readonly sentBefore: StatementSync;
  private readonly recordSent: StatementSync;
  private readonly removeAll: StatementSync;

  constructor(private readonly d: RebuildDeps) {
    // The tables: store/migrations/ (deliveries: v1; rebuild_sent: v2).
    this.forPatient = d.db.prepare('SELECT delivery_id, status FROM deliveries WHERE pseudonym = ? ORDER BY seq');
    this.sentBefore = d.db.prepare('SELECT message_id FROM rebuild_sent WHERE delivery_id = ? AND key_version = ?');
    this.recordSent = d.db.prepare(
      `INSERT INTO rebuild_sent (delivery_id, key_version, pseudonym, message_id, sent_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    );
    this.removeAll = d.db.prepare('DELETE FROM rebuild_sent WHERE pseudonym = ?');
  }

  /**
   * Rebuilds the patient's deliveries from this gateway. `patient` must be the ledger's record
   * read now (PatientDirectory.fresh): its key is the one the agent holds after a restore.
   * @throws LifecycleError ERASED when the patient erased their records (here or on the ledger).
   */
  async rebuild(patient: PatientRecord): Promise<RebuildAnswer> {
    const { pseudonym, keyVersion } = patient;
    if (patient.erasedAt !== undefined || this.d.keys.isErased(pseudonym)) {
      throw new LifecycleError('ERASED', 'the patient erased their records: there is nothing to rebuild');
    }
    const key = this.d.keys.existing(pseudonym);
    const answers: RebuiltDelivery[] = [];
    const resends: Resend[] = [];
    for (const row of this.forPatient.all(pseudonym) as unknown as DeliveryRow[]) {
      const deliveryId = row.delivery_id;
      const kept = this.d.kept.get(deliveryId);
      const judged = this.judge(row, kept, key !== undefined, pseudonym);
      if (judged || !kept?.body) {
        answers.push(judged ?? { deliveryId, status: 'not-kept' });
        continue;
      }
      const messageId = `${deliveryId}.rebuild-k${keyVersion}`;
      answers.push({ deliveryId, status: 'resent', messageId });
      if (!this.sentBefore.get(deliveryId, keyVersion)) resends.push({ deliveryId, messageId, kept: kept.body });
    }
    if (resends.length === 0 || !key) return { deliveries: answers };

    const failed = new Set<string>();
    await forEachAtMost(this.d.pool.threads, resends, async (r) => {
      let envelopeJson: string;
      try {
        envelopeJson = await this.d.pool.reseal({
          deliveryId: r.deliveryId,
          pseudonym,
          senderMspId: this.d.hospitalMspId,
          kept: r.kept,
          key,
          recipient: { algorithm: patient.encryptionAlgorithm, publicKey: patient.encryptionPublicKey },
        });
      } catch (err) {
        // A kept blob that does not open is damaged storage: say so for this one, rebuild the rest.
        this.d.log.error(
          { deliveryId: r.deliveryId, err: err instanceof Error ? err.message : String(err) },
          'a kept delivery could not be sealed again',
        );
        failed.add(r.deliveryId);
        return;
      }
      const queued = inTransaction(this.d.db, () => {
        // An erasure that ran while this was sealed has the last word: nothing is queued after it.
        if (this.d.keys.isErased(pseudonym)) return false;
        this.d.mailbox.enqueue({ pseudonym, messageId: r.messageId, kind: 'delivery', body: envelopeJson });
        this.recordSent.run(r.deliveryId, keyVersion, pseudonym, r.messageId, new Date().toISOString());
        return true;
      });
      if (!queued) failed.add(r.deliveryId);
    });
    if (this.d.keys.isErased(pseudonym)) {
      throw new LifecycleError('ERASED', 'the patient erased their records while they were being rebuilt');
    }
    this.d.mailbox.announce(pseudonym);
    this.d.log.info({ pseudonym, resent: resends.length - failed.size, keyVersion }, 'deliveries rebuilt');
    return {
      deliveries: answers.map((a) =>
        failed.has(a.deliveryId)
          ? { deliveryId: a.deliveryId, status: 'not-kept', reason: 'the copy kept here is damaged and cannot be read' }
          : a,
      ),
    };
  }

  /** Deletes the patient's rebuild bookkeeping (the erasure's transaction); how many rows. */
  destroyAll(pseudonym: string): number {
    return Number(this.removeAll.run(pseudonym).changes);
  }

  /** Why a delivery cannot be resent; undefined when it can. */
  private judge(
    row: DeliveryRow,
    kept: KeptDelivery | undefined,
    haveKey: boolean,
    pseudonym: string,
  ): RebuiltDelivery | undefined {
    const deliveryId = row.delivery_id;
    if (row.status !== 'committed') {
      return {
        deliveryId,
        status: 'not-committed',
        reason:
          row.status === 'failed'
            ? 'the ledger refused this delivery, so it cannot be verified'
            : 'the delivery is not on the ledger yet; ask again later',
      };
    }
    if (!kept || kept.pseudonym !== pseudonym || !haveKey) {
      return {
        deliveryId,
        status: 'not-kept',
        reason: 'this gateway did not keep a copy (delivered before it kept deliveries, or it keeps none)',
      };
    }
    if (this.d.kept.expired(kept)) {
      return { deliveryId, status: 'expired', reason: `the copy was kept until ${kept.keptUntil}` };
    }
    return undefined;
  }
}

/** Runs `fn` over `items`, at most `limit` at once. */
async function forEachAtMost<T>(limit: number, items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}
