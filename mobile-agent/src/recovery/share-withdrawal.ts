import { randomUUID } from 'node:crypto';
import { EnvelopeError, GUARDIAN_SHARE_WITHDRAWN_KIND, seal } from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import { TransportError } from '../transport/transport-error';
import { chooseHospital, type RecoveryDeps } from './recovery-deps';
import { guardianShareWithdrawnAad, type GuardianShareWithdrawnPayload } from './recovery-messages';
import { lastRecoverySetup } from './recovery-setup';

/** What became of one guardian's share when the patient erased their records. */
export interface GuardianWithdrawal {
  guardian: string;
  /** The withdrawal reached the guardian's mailbox (its agent deletes the share at its next sync). */
  sent: boolean;
  /** Why not, when not. */
  reason?: string;
}

/**
 * `phr-agent erase`, before the ledger's Erase (issue 15 items 4 and 5): every guardian that holds
 * a share of this patient's recovery secret — those the ledger names now, and those of the last
 * setup — is told to delete it: a `guardian-share-withdrawn` message sealed to the guardian's
 * registered key and signed by this patient's identity, relayed through the gateway that relayed
 * the shares. The guardian's agent deletes the share only when the patient's registered identity
 * signed it.
 *
 * A guardian not reached is named, and does not stop the erasure: once the ledger marks the
 * patient erased the shares move no pseudonym, and what they could still open (a copy of a
 * backup made elsewhere) the patient is told to destroy.
 * @throws what reading this patient's vault throws; a guardian's failure is in its entry.
 */
export async function withdrawShares(
  d: Pick<RecoveryDeps, 'pseudonym' | 'identity' | 'vault' | 'ledger' | 'profile' | 'transport' | 'log' | 'now'>,
  guardiansOnLedger: readonly string[],
): Promise<GuardianWithdrawal[]> {
  const setup = await lastRecoverySetup(d.vault);
  const guardians = [...new Set([...guardiansOnLedger, ...(setup?.guardians ?? [])])].sort();
  if (guardians.length === 0) return [];
  const hospital = d.profile.hospitals.find((h) => h.name === setup?.hospital) ?? chooseHospital(d.profile, undefined);
  const withdrawnAt = (d.now?.() ?? new Date()).toISOString();
  const results: GuardianWithdrawal[] = [];
  for (const guardian of guardians) {
    try {
      const record = await d.ledger.readPatient(guardian);
      const payload: GuardianShareWithdrawnPayload = {
        v: 1,
        pseudonym: d.pseudonym,
        guardian,
        withdrawnAt,
        reason: 'erased',
      };
      const envelope = seal(
        Buffer.from(JSON.stringify(payload), 'utf8'),
        { algorithm: record.encryptionAlgorithm, publicKey: record.encryptionPublicKey },
        guardianShareWithdrawnAad({ pseudonym: d.pseudonym, guardian }),
        d.identity,
      );
      await d.transport(hospital).relay(guardian, {
        messageId: `withdrawn-${randomUUID()}`,
        kind: GUARDIAN_SHARE_WITHDRAWN_KIND,
        envelope,
      });
      results.push({ guardian, sent: true });
    } catch (err) {
      if (!(err instanceof TransportError || err instanceof LedgerError || err instanceof EnvelopeError)) throw err;
      d.log.warn({ guardian, err: err.message }, 'erase: a guardian was not told to delete its share');
      results.push({ guardian, sent: false, reason: err.message });
    }
  }
  return results;
}
