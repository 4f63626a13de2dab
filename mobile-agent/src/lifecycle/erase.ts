import { randomBytes, randomUUID } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  fsyncSync,
  openSync,
  readdirSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { verifyErasureReceipt, type ErasureAnswer, type ErasureReceipt } from '@phr/common';
import type { AgentHome } from '../home/agent-home';
import { gatewayCertificateProblem } from '../inbox/gateway-certificate';
import type { AgentLedger } from '../ledger/agent-ledger';
import type { Logger } from '../logger';
import type { HospitalProfile } from '../profile/network-profile';
import type { GuardianWithdrawal } from '../recovery/share-withdrawal';
import type { GatewayTransport } from '../transport/gateway-transport';
import type { Vault } from '../vault/vault-types';
import { backupLocations } from './backup-meta';

/**
 * `phr-agent erase` (GDPR Art. 17, by crypto-shredding): every hospital that holds something for
 * the patient destroys it and signs a receipt; the pseudonym is marked erased on the ledger
 * (consents revoked with it); the backup folders this agent wrote are deleted; the keystore and
 * the vault are overwritten and unlinked. The vault's and the backups' contents are encrypted
 * under keys that lived only in the keystore and in the recovery secret, so once those are gone
 * no copy can be read, and the ledger's salted commitments can no longer be linked to any
 * content (the salts were only in the copies).
 *
 * Order: the hospitals first. If one that delivered to the patient, or keeps a backup, cannot
 * confirm, nothing is erased on the ledger or on this device, and running it again continues
 * (the gateways answer the same receipt). Then each guardian is told to delete the share of the
 * recovery secret it keeps (while the ledger still names them). After the ledger's Erase the
 * local destruction follows.
 */

export type ErasureErrorCode = 'HOSPITAL_UNCONFIRMED' | 'BAD_RECEIPT';

export class ErasureError extends Error {
  override readonly name = 'ErasureError';
  constructor(
    readonly code: ErasureErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface HospitalErasure {
  hospital: string;
  mspId: string;
  /** Whether it delivered to the patient or keeps a backup (then its receipt is required). */
  required: boolean;
  receipt?: ErasureReceipt;
  /** Why there is no receipt (only for hospitals that were not required). */
  error?: string;
}

export interface ErasureReport {
  pseudonym: string;
  hospitals: HospitalErasure[];
  /** The guardians told to delete their shares; absent when the patient had none. */
  guardians?: GuardianWithdrawal[];
  ledger: 'erased' | 'already-erased';
  foldersDeleted: string[];
  filesDestroyed: string[];
}

export interface EraseDeps {
  pseudonym: string;
  ledger: AgentLedger;
  vault: Vault;
  home: AgentHome;
  hospitals: readonly HospitalProfile[];
  transport(hospital: HospitalProfile): GatewayTransport;
  /**
   * Tells the guardians (those named on the ledger, and those the agent remembers) to delete the
   * shares they keep; see recovery/share-withdrawal.ts. Absent: no guardian is told.
   */
  withdrawGuardianShares?(guardiansOnLedger: readonly string[]): Promise<GuardianWithdrawal[]>;
  /** Closes the vault, transports and ledger: the files are destroyed after. */
  closeAgent(): Promise<void>;
  log: Logger;
  now?: () => Date;
}

/**
 * @throws ErasureError HOSPITAL_UNCONFIRMED (nothing erased here yet) or BAD_RECEIPT; the ledger's
 * error when Erase fails (then too, nothing on this device is destroyed yet).
 */
export async function eraseEverywhere(d: EraseDeps): Promise<ErasureReport> {
  const now = d.now ?? (() => new Date());
  const delivered = new Set((await d.ledger.listDeliveries(d.pseudonym)).map((r) => r.sender));
  const locations = await backupLocations(d.vault);
  const keepsBackup = new Set(locations.gateways);

  for (const mspId of delivered) {
    if (!d.hospitals.some((h) => h.mspId === mspId)) {
      throw new ErasureError(
        'HOSPITAL_UNCONFIRMED',
        `${mspId} delivered to you but is not a hospital this agent knows; run \`phr-agent inbox\` (it learns hospitals from the directory) and erase again`,
      );
    }
  }

  const hospitals: HospitalErasure[] = [];
  for (const hospital of d.hospitals) {
    const required = delivered.has(hospital.mspId) || keepsBackup.has(hospital.name);
    const entry: HospitalErasure = { hospital: hospital.name, mspId: hospital.mspId, required };
    try {
      const signed = await d.transport(hospital).requestErasure();
      entry.receipt = checkReceipt(signed, hospital, d.pseudonym, now());
    } catch (err) {
      if (err instanceof ErasureError) throw err;
      if (required) {
        throw new ErasureError(
          'HOSPITAL_UNCONFIRMED',
          `${hospital.name} could not confirm the erasure (${text(err)}); nothing was erased on the ledger or on this device yet: run erase again`,
          { cause: err },
        );
      }
      entry.error = text(err);
      d.log.warn(
        { hospital: hospital.name, err: entry.error },
        'erase: a hospital that holds nothing known was not reached',
      );
    }
    hospitals.push(entry);
  }
  const record = await d.ledger.readPatient(d.pseudonym);
  // Before the Erase, which removes the guardians from the ledger.
  const guardians = d.withdrawGuardianShares ? await d.withdrawGuardianShares(record.guardians ?? []) : [];
  let ledger: ErasureReport['ledger'] = 'already-erased';
  if (!record.erasedAt) {
    const receipts = hospitals.flatMap((h) => (h.receipt ? [h.receipt.receiptId] : []));
    await d.ledger.recordAccess({
      eventId: randomUUID(),
      pseudonym: d.pseudonym,
      action: 'erasure',
      outcome: 'success',
      references: receipts.slice(0, 256),
    });
    await d.ledger.erasePatient(d.pseudonym);
    ledger = 'erased';
  }

  const foldersDeleted: string[] = [];
  for (const folder of locations.folders) {
    if (destroyTree(folder)) foldersDeleted.push(folder);
  }
  await d.closeAgent();
  const filesDestroyed = destroyHome(d.home);
  d.log.info({ pseudonym: d.pseudonym }, 'erased');
  return {
    pseudonym: d.pseudonym,
    hospitals,
    ...(guardians.length > 0 ? { guardians } : {}),
    ledger,
    foldersDeleted,
    filesDestroyed,
  };
}

/**
 * A receipt the agent can rely on: signed by a hospital-gateway identity of that hospital's CA,
 * over exactly this receipt, for this patient and this hospital.
 * @throws ErasureError BAD_RECEIPT saying what is wrong.
 */
export function checkReceipt(
  signed: ErasureAnswer,
  hospital: Pick<HospitalProfile, 'name' | 'mspId' | 'caRootCertPem'>,
  pseudonym: string,
  now: Date,
): ErasureReceipt {
  const bad = (why: string) => new ErasureError('BAD_RECEIPT', `the erasure receipt of ${hospital.name} ${why}`);
  const receipt = signed?.receipt;
  if (typeof receipt !== 'object' || receipt === null || typeof signed.signature !== 'string') {
    throw bad('is malformed');
  }
  const problem = gatewayCertificateProblem(signed.certificatePem, hospital, now);
  if (problem) throw bad(`is not signed by its gateway: ${problem}`);
  if (!verifyErasureReceipt(receipt, signed.signature, signed.certificatePem)) {
    throw bad('has a signature that does not verify');
  }
  if (receipt.pseudonym !== pseudonym) throw bad('is for another patient');
  if (receipt.hospital !== hospital.mspId) throw bad(`names ${String(receipt.hospital)}, not ${hospital.mspId}`);
  if (!Array.isArray(receipt.destroyed) || !Array.isArray(receipt.kept))
    throw bad('does not list what was destroyed and kept');
  return receipt;
}

// ---- destruction ----

/** Overwrites every file under `dir` with random bytes, unlinks it, removes the folders. False when there was nothing. */
export function destroyTree(dir: string): boolean {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return false;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) destroyTree(path);
    else destroyFile(path);
  }
  rmdirSync(dir);
  return true;
}

/**
 * The keystore first (the keys: what makes every other copy unreadable), then the vault with
 * SQLite's journal files, a recovery left under way, then the state and profile; the home
 * folder if nothing else is in it.
 */
function destroyHome(home: AgentHome): string[] {
  const files = [
    home.keystoreFile,
    home.vaultFile,
    `${home.vaultFile}-wal`,
    `${home.vaultFile}-shm`,
    `${home.vaultFile}-journal`,
    home.recoveryFile,
    home.stateFile,
    home.profileFile,
  ];
  const destroyed = files.filter(destroyFile);
  try {
    rmdirSync(home.dir);
  } catch {
    // other files are in it: left as they are
  }
  return destroyed;
}

/**
 * Overwrites the file's bytes in place (random, synced) and unlinks it. On flash storage and
 * copy-on-write file systems the old blocks may survive the overwrite; what makes them
 * unreadable is that the keys they are encrypted under are destroyed with the keystore.
 */
function destroyFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    const block = 1024 * 1024;
    for (let at = 0; at < size; at += block) writeSync(fd, randomBytes(Math.min(block, size - at)), 0, undefined, at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  unlinkSync(path);
  return true;
}

function text(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 300);
}
