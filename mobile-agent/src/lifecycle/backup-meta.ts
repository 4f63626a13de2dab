import type { Vault } from '../vault/vault-types';

/**
 * What the vault remembers about backups (its `meta` table): the last backup number, and every
 * place a backup was written to or restored from — the folders `erase` deletes and the
 * hospitals it asks to destroy their copies.
 */

export const BACKUP_NUMBER_META = 'backup-number';
/** Set once the recovery code was handed out to be shown (or typed in by the patient, on a restore). */
export const RECOVERY_CODE_SHOWN_META = 'recovery-code-shown';
const LOCATIONS_META = 'backup-locations';
const LAST_BACKUP_META = 'last-backup';

export interface BackupLocations {
  /** Absolute paths of `DIR/<pseudonym>` folders. */
  folders: string[];
  /** Hospital names (as the profile names them). */
  gateways: string[];
}

export interface LastBackup {
  at: string;
  /** The folder, or the hospital's name. */
  to: string;
  kind: 'folder' | 'gateway';
  backupNumber: number;
  deliveries: number;
}

export async function backupLocations(vault: Vault): Promise<BackupLocations> {
  const text = await vault.getMeta(LOCATIONS_META);
  if (text === undefined) return { folders: [], gateways: [] };
  const parsed = JSON.parse(text) as Partial<BackupLocations>;
  return { folders: parsed.folders ?? [], gateways: parsed.gateways ?? [] };
}

export async function recordBackupLocation(
  vault: Vault,
  where: { folder: string } | { gateway: string },
): Promise<void> {
  const now = await backupLocations(vault);
  const next: BackupLocations =
    'folder' in where
      ? { ...now, folders: [...new Set([...now.folders, where.folder])] }
      : { ...now, gateways: [...new Set([...now.gateways, where.gateway])] };
  await vault.setMeta(LOCATIONS_META, JSON.stringify(next));
}

export async function lastBackupNumber(vault: Vault): Promise<number> {
  const n = Number((await vault.getMeta(BACKUP_NUMBER_META)) ?? '0');
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

export async function recordBackup(vault: Vault, last: LastBackup): Promise<void> {
  if (last.backupNumber > (await lastBackupNumber(vault))) {
    await vault.setMeta(BACKUP_NUMBER_META, String(last.backupNumber));
  }
  await vault.setMeta(LAST_BACKUP_META, JSON.stringify(last));
}

export async function lastBackup(vault: Vault): Promise<LastBackup | undefined> {
  const text = await vault.getMeta(LAST_BACKUP_META);
  return text === undefined ? undefined : (JSON.parse(text) as LastBackup);
}
