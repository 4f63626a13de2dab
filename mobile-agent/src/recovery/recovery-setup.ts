import { randomUUID } from 'node:crypto';
import { deriveRecoveryKeys, GUARDIAN_SHARE_KIND, isPseudonym, seal, type PatientRecord } from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import { z } from 'zod';
import type { Vault } from '../vault/vault-types';
import { chooseHospital, type RecoveryDeps } from './recovery-deps';
import { RecoveryError } from './recovery-error';
import { guardianShareAad, type GuardianSharePayload } from './recovery-messages';
import { checkThreshold, MAX_SHARES, paperCode, splitSecret } from './shares';

export interface SetupOptions {
  /** Pseudonyms of the patients who will hold a share each (their agents get it by mail). */
  guardians: readonly string[];
  /** How many shares to print as paper codes. */
  paper: number;
  /** How many shares rebuild the secret: at least 2, at most guardians + paper. */
  threshold: number;
  /** The hospital whose gateway relays the shares; the first one in the profile when absent. */
  hospital?: string;
}

export interface RecoverySetup {
  setupId: string;
  createdAt: string;
  threshold: number;
  shareCount: number;
  guardians: string[];
  /** The printed shares: shown once, never stored. */
  paperCodes: string[];
  hospital: string;
  /** The recovery code itself, when this setup made the recovery secret (shown once). */
  recoveryCode?: string;
}

/** What the vault keeps of the last setup: who holds shares and how many are needed; never a share. */
export const RECOVERY_SETUP_META = 'recovery-setup';

/** The last setup as the vault keeps it (`RECOVERY_SETUP_META`). */
export interface RecoverySetupSummary {
  setupId: string;
  createdAt: string;
  threshold: number;
  shareCount: number;
  guardians: string[];
  /** How many paper codes were printed. */
  paper: number;
  /** The hospital whose gateway relayed the guardians' shares. */
  hospital: string;
}

const summarySchema = z.object({
  setupId: z.string(),
  createdAt: z.string(),
  threshold: z.number(),
  shareCount: z.number(),
  guardians: z.array(z.string()),
  paper: z.number(),
  hospital: z.string(),
});

/**
 * The last recovery setup of this patient; undefined when there was none.
 * @throws ZodError when the vault holds something else under its key.
 */
export async function lastRecoverySetup(vault: Pick<Vault, 'getMeta'>): Promise<RecoverySetupSummary | undefined> {
  const text = await vault.getMeta(RECOVERY_SETUP_META);
  return text === undefined ? undefined : summarySchema.parse(JSON.parse(text));
}

/**
 * `phr-agent recovery setup` (issue 15 item 4): splits the recovery secret with Shamir's scheme
 * into one share per guardian and per paper code, names the guardians on the ledger
 * (`SetGuardians`, so the gateway takes their approvals), seals each guardian's share to that
 * guardian's registered encryption key, signed by the patient, and mails it through a gateway;
 * the paper codes are returned to be printed. Everything is checked before anything is sent.
 *
 * Running it again makes a new split: the guardians keep the newest share, and shares of the old
 * split no longer combine with the new ones. Old paper codes still combine among themselves, so
 * they are to be destroyed.
 *
 * @throws RecoveryError INVALID_ARGUMENT for unusable counts or guardians, UNKNOWN_GUARDIAN for a
 * guardian not registered (or erased); LedgerError/TransportError as the ledger and gateway fail.
 */
export async function setupRecovery(d: RecoveryDeps, o: SetupOptions): Promise<RecoverySetup> {
  const guardians = checkGuardians(d.pseudonym, o.guardians);
  if (!Number.isSafeInteger(o.paper) || o.paper < 0 || o.paper > MAX_SHARES) {
    throw new RecoveryError('INVALID_ARGUMENT', `--paper must be a number from 0 to ${MAX_SHARES}`);
  }
  const shareCount = guardians.length + o.paper;
  try {
    checkThreshold(shareCount, o.threshold);
  } catch (err) {
    throw new RecoveryError('INVALID_ARGUMENT', (err as Error).message, { cause: err });
  }
  const hospital = chooseHospital(d.profile, o.hospital);
  // Every guardian's registered key first: nothing is sent, and nothing changes on the ledger,
  // unless every share can be delivered.
  const records = new Map<string, PatientRecord>();
  for (const guardian of guardians) records.set(guardian, await guardianRecord(d, guardian));

  const { recoveryCode: code } = await d.ensureRecoverySecret();
  const registered = (await d.ledger.readPatient(d.pseudonym)).recoveryPublicKey;
  const shares = await d.useRecoverySecret(async (secret) => {
    if (registered !== deriveRecoveryKeys(secret).publicKey) {
      // Shares of a secret the ledger does not know could never authorize a recovery.
      throw new RecoveryError('NOT_SET_UP', "the ledger does not hold this device's recovery key; run the setup again");
    }
    return splitSecret(secret, shareCount, o.threshold);
  });
  const setupId = randomUUID();
  const createdAt = (d.now?.() ?? new Date()).toISOString();
  await d.ledger.setGuardians(d.pseudonym, [...guardians].sort());

  const transport = d.transport(hospital);
  const sent: string[] = [];
  for (const [i, guardian] of guardians.entries()) {
    const record = records.get(guardian) as PatientRecord;
    const payload: GuardianSharePayload = {
      v: 1,
      pseudonym: d.pseudonym,
      guardian,
      setupId,
      threshold: o.threshold,
      shareCount,
      share: (shares[i] as Buffer).toString('base64'),
      createdAt,
    };
    const envelope = seal(
      Buffer.from(JSON.stringify(payload), 'utf8'),
      { algorithm: record.encryptionAlgorithm, publicKey: record.encryptionPublicKey },
      guardianShareAad({ pseudonym: d.pseudonym, guardian, setupId }),
      d.identity,
    );
    try {
      await transport.relay(guardian, { messageId: `${setupId}-g${i + 1}`, kind: GUARDIAN_SHARE_KIND, envelope });
    } catch (err) {
      throw new RecoveryError(
        'NOT_DELIVERED',
        `the share for guardian ${guardian} could not be sent (${(err as Error).message}); ` +
          `${sent.length > 0 ? `${sent.join(', ')} got theirs; ` : ''}run the setup again`,
        { cause: err },
      );
    }
    sent.push(guardian);
  }

  const paperCodes = shares.slice(guardians.length).map((s) => paperCode(s));
  const summary: RecoverySetupSummary = {
    setupId,
    createdAt,
    threshold: o.threshold,
    shareCount,
    guardians,
    paper: o.paper,
    hospital: hospital.name,
  };
  await d.vault.setMeta(RECOVERY_SETUP_META, JSON.stringify(summary));
  d.log.info({ setupId, threshold: o.threshold, shareCount }, 'recovery set up with guardians');
  for (const s of shares) s.fill(0);
  return {
    setupId,
    createdAt,
    threshold: o.threshold,
    shareCount,
    guardians: [...guardians],
    paperCodes,
    hospital: hospital.name,
    ...(code !== undefined ? { recoveryCode: code } : {}),
  };
}

/**
 * Guardians as named on a command line: pseudonyms, each once, not the patient's own.
 * @throws RecoveryError INVALID_ARGUMENT naming the first that is not.
 */
export function checkGuardians(self: string, guardians: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const g of guardians) {
    if (!isPseudonym(g)) {
      throw new RecoveryError('INVALID_ARGUMENT', `${String(g)} is not a pseudonym (pt followed by 26 letters/digits)`);
    }
    if (g === self) throw new RecoveryError('INVALID_ARGUMENT', 'you cannot be your own guardian');
    if (seen.has(g)) throw new RecoveryError('INVALID_ARGUMENT', `guardian ${g} is named twice`);
    seen.add(g);
  }
  return [...seen];
}

async function guardianRecord(d: RecoveryDeps, guardian: string): Promise<PatientRecord> {
  let record: PatientRecord;
  try {
    record = await d.ledger.readPatient(guardian);
  } catch (err) {
    if (err instanceof LedgerError && err.code === 'NOT_FOUND') {
      throw new RecoveryError('UNKNOWN_GUARDIAN', `guardian ${guardian} is not a registered patient`, { cause: err });
    }
    throw err;
  }
  if (record.erasedAt) throw new RecoveryError('UNKNOWN_GUARDIAN', `guardian ${guardian} erased their record`);
  return record;
}
