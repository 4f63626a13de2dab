import { randomUUID } from 'node:crypto';
import { decodeRecoveryCode, deriveRecoveryKeys, RECOVERY_CODE_PREFIX, type DeliveryRecord } from '@phr/common';
import { defaultConnectors } from '../connectors';
import { AgentHome } from '../home/agent-home';
import { openKeystore, readKeystore } from '../keys/keystore';
import type { AgentLedger } from '../ledger/agent-ledger';
import { silentLogger } from '../logger';
import { hospitalOrFirst, type HospitalProfile } from '../profile/network-profile';
import type { GatewayTransport } from '../transport/gateway-transport';
import { SqliteVault } from '../vault/sqlite-vault';
import { BackupError, BackupKeys } from './backup-format';
import {
  archiveSource,
  findBackupPseudonym,
  folderSource,
  openBackup,
  verifyAgainstLedger,
  type BackupSource,
  type OpenedBackup,
} from './backup-reader';
import { backupFolder } from './backup-writer';
import { BACKUP_NUMBER_META, lastBackupNumber, recordBackupLocation, RECOVERY_CODE_SHOWN_META } from './backup-meta';
import {
  checkRecoveryKey,
  enrollNewDevice,
  takeOverPseudonym,
  TakeoverError,
  type DeviceEnrollmentOptions,
  type EnrolledDevice,
} from './device-takeover';

/**
 * `phr-agent restore` (and what a guardian recovery continues with): a new device takes the
 * pseudonym over and fills its vault from a backup, each element checked against the ledger
 * first. A backup that fails any check is refused with the delivery (and element) named, and
 * nothing of it is stored; the vault is written in one transaction.
 *
 * Order. From a folder, the backup is opened and checked against the ledger (whose commitments
 * anyone enrolled may read) before the pseudonym moves: a bad backup costs nothing. A gateway
 * gives the backup only to the pseudonym's owner, so there the pseudonym moves first; a refused
 * backup then leaves a ready agent with an empty vault, to restore from elsewhere or rebuild.
 */

export type BackupLocation = { from: 'folder'; dir: string } | { from: 'gateway'; hospital?: string };

export interface RestoreWithSecretOptions extends Omit<DeviceEnrollmentOptions, 'pseudonym'> {
  recoverySecret: Uint8Array;
  source: BackupLocation;
  /** Needed for a gateway; for a folder, found from the folder when not given. */
  pseudonym?: string;
  /** Store a backup that lacks deliveries the ledger marks as backed up (an older backup); they are listed. */
  allowIncomplete?: boolean;
}

export interface RestoreOptions extends Omit<RestoreWithSecretOptions, 'recoverySecret'> {
  /** The printed recovery code (PHRR-…). */
  recoveryCode: string;
}

export interface RestoreReport {
  pseudonym: string;
  /** Where it came from: the folder, or the gateway's hospital name. */
  source: string;
  backupNumber: number;
  backupCreatedAt: string;
  restored: { deliveryId: string; sender: string; elements: number }[];
  /** Deliveries the vault already had (a restore run again). */
  alreadyHere: string[];
  /** Deliveries on the ledger for this patient that the backup does not hold: `phr-agent rebuild` may get them. */
  notInBackup: { deliveryId: string; sender: string; status: string }[];
}

/**
 * Restore with the printed recovery code.
 * @throws RecoveryCodeError for a mistyped code; otherwise as `restoreWithSecret`.
 */
export async function restoreAgent(o: RestoreOptions): Promise<RestoreReport> {
  const { recoveryCode, ...rest } = o;
  const recoverySecret = decodeRecoveryCode(recoveryCode, RECOVERY_CODE_PREFIX);
  try {
    return await restoreWithSecret({ ...rest, recoverySecret });
  } finally {
    recoverySecret.fill(0);
  }
}

/**
 * Restore with the recovery secret itself (from a recovery code, or rebuilt from guardians' shares).
 * @throws TakeoverError (wrong recovery code, no recovery key, erased, home not fresh);
 * BackupError naming the delivery or element for a backup that is missing, damaged, altered,
 * incomplete or does not match the ledger; the enroller's, ledger's or transport's error.
 */
export async function restoreWithSecret(o: RestoreWithSecretOptions): Promise<RestoreReport> {
  const connectors = o.connectors ?? defaultConnectors;
  const log = o.log ?? silentLogger;
  const recovery = deriveRecoveryKeys(o.recoverySecret);
  const keys = BackupKeys.derive(recovery.backupKey);
  const pseudonym = choosePseudonym(o, keys);
  const device = await enrollNewDevice({ ...o, pseudonym, connectors, log });
  const ledger = connectors.ledger(o.profile, device.identity);
  try {
    const record = await ledger.readPatient(pseudonym);
    const ownedAlready = record.owner === device.identity.id;
    if (!ownedAlready) checkRecoveryKey(record, recovery);

    let backup: OpenedBackup;
    let sourceName: string;
    const source = o.source;
    const open = (from: () => BackupSource) =>
      openAndVerify(keys, pseudonym, ledger, from, recovery.publicKey, record.recoveryPublicKey);
    if (source.from === 'folder') {
      sourceName = backupFolder(source.dir, pseudonym);
      backup = await open(() => folderSource(source.dir, pseudonym));
      await takeOverPseudonym({ ...o, connectors, log });
    } else {
      await takeOverPseudonym({ ...o, connectors, log });
      const hospital = hospitalOrFirst(o.profile, source.hospital);
      sourceName = hospital.name;
      const archive = await fetchArchive(connectors.gateway(hospital, pseudonym, device.identity), hospital, pseudonym);
      backup = await refusalLogged(ledger, pseudonym, () =>
        open(() => archiveSource(keys, pseudonym, archive, `the backup at ${hospital.name}`)),
      );
    }

    const notInBackup = await missingFromBackup(ledger, pseudonym, backup);
    const lostBackups = notInBackup.filter((d) => d.status === 'backup');
    if (lostBackups.length > 0 && o.allowIncomplete !== true) {
      await logRestore(
        ledger,
        pseudonym,
        'failed',
        lostBackups.map((d) => d.deliveryId),
      );
      throw new BackupError(
        'INCOMPLETE',
        `this backup lacks ${lostBackups.length} deliver${lostBackups.length === 1 ? 'y' : 'ies'} the ledger marks as backed up ` +
          `(${lostBackups.map((d) => d.deliveryId).join(', ')}): it is an older or truncated backup. Nothing was stored; ` +
          'restore from a newer backup, run `phr-agent rebuild`, or accept it with --allow-incomplete',
        { deliveryId: lostBackups[0]?.deliveryId as string },
      );
    }

    const stored = await storeAll(device, o.passphrase, backup, o.source, sourceName, pseudonym);
    await logRestore(
      ledger,
      pseudonym,
      'success',
      backup.deliveries.map((d) => d.delivery.deliveryId),
    );
    log.info({ pseudonym, deliveries: stored.length }, 'restored from backup');
    return {
      pseudonym,
      source: sourceName,
      backupNumber: backup.manifest.backupNumber,
      backupCreatedAt: backup.manifest.createdAt,
      restored: backup.deliveries
        .filter((d) => stored.includes(d.delivery.deliveryId))
        .map((d) => ({ deliveryId: d.delivery.deliveryId, sender: d.delivery.sender, elements: d.elements.length })),
      alreadyHere: backup.deliveries.map((d) => d.delivery.deliveryId).filter((id) => !stored.includes(id)),
      notInBackup,
    };
  } finally {
    ledger.close();
  }
}

// ---- internals ----

function choosePseudonym(o: RestoreWithSecretOptions, keys: BackupKeys): string {
  if (o.pseudonym !== undefined) return o.pseudonym;
  const home = new AgentHome(o.home);
  // A restore run again on the same home knows its pseudonym.
  if (home.hasState()) {
    const state = home.readState();
    if (state.origin === 'restore' && state.pseudonym) return state.pseudonym;
  }
  if (o.source.from === 'folder') return findBackupPseudonym(o.source.dir, keys);
  throw new TakeoverError('INVALID_ARGUMENT', 'name the pseudonym to restore from a gateway (--pseudonym)');
}

async function fetchArchive(
  transport: GatewayTransport,
  hospital: HospitalProfile,
  pseudonym: string,
): Promise<Buffer> {
  try {
    return await transport.getBackup();
  } catch (err) {
    if ((err as { code?: unknown }).code === 'NOT_FOUND') {
      throw new BackupError('NOT_FOUND', `${hospital.name} keeps no backup for ${pseudonym}`, {}, { cause: err });
    }
    throw err;
  } finally {
    await transport.close();
  }
}

/**
 * Opens the backup and checks it against the ledger. A manifest that does not open with a code
 * the ledger confirms is a damaged manifest, and is said so.
 */
async function openAndVerify(
  keys: BackupKeys,
  pseudonym: string,
  ledger: AgentLedger,
  source: () => BackupSource,
  publicKey: string,
  onLedger: string | undefined,
): Promise<OpenedBackup> {
  let backup: OpenedBackup;
  try {
    backup = openBackup(keys, pseudonym, source());
  } catch (err) {
    if (err instanceof BackupError && err.code === 'WRONG_KEY' && onLedger === publicKey) {
      throw new BackupError(
        'ALTERED',
        `${err.message.split(' does not open')[0] ?? 'the backup'} is damaged: the recovery code is right (the ledger confirms it) but it does not open; it was cut short or altered`,
        err.where,
        { cause: err },
      );
    }
    throw err;
  }
  await verifyAgainstLedger(backup, pseudonym, (id) => ledger.readDelivery(id));
  return backup;
}

/** Runs `work`; a refusal of the backup is written to the access log (as `restore`, failed) before it is thrown. */
async function refusalLogged<T>(ledger: AgentLedger, pseudonym: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof BackupError) {
      await logRestore(ledger, pseudonym, 'failed', err.where.deliveryId ? [err.where.deliveryId] : []).catch(
        () => undefined,
      );
    }
    throw err;
  }
}

async function logRestore(
  ledger: AgentLedger,
  pseudonym: string,
  outcome: 'success' | 'failed',
  deliveryIds: string[],
): Promise<void> {
  await ledger.recordAccess({
    eventId: randomUUID(),
    pseudonym,
    action: 'restore',
    outcome,
    references: deliveryIds.slice(0, 256),
  });
}

async function missingFromBackup(
  ledger: AgentLedger,
  pseudonym: string,
  backup: OpenedBackup,
): Promise<RestoreReport['notInBackup']> {
  const inBackup = new Set(backup.deliveries.map((d) => d.delivery.deliveryId));
  const onLedger: DeliveryRecord[] = await ledger.listDeliveries(pseudonym);
  return onLedger
    .filter((d) => !inBackup.has(d.deliveryId) && d.status !== 'rejected')
    .map((d) => ({ deliveryId: d.deliveryId, sender: d.sender, status: d.status }));
}

/** Everything in one vault transaction, and where the backup was noted for the next backup and for erase. */
async function storeAll(
  device: EnrolledDevice,
  passphrase: string,
  backup: OpenedBackup,
  location: BackupLocation,
  sourceName: string,
  pseudonym: string,
): Promise<string[]> {
  // The keystore as takeOverPseudonym left it (with the recovery secret): its vault keys.
  const secrets = openKeystore(readKeystore(device.home.keystoreFile), passphrase);
  const vault = await SqliteVault.open(device.home.vaultFile, secrets.vaultKeys);
  try {
    const stored = await vault.storeDeliveries(backup.deliveries);
    if (backup.manifest.backupNumber > (await lastBackupNumber(vault))) {
      await vault.setMeta(BACKUP_NUMBER_META, String(backup.manifest.backupNumber));
    }
    // The patient typed the code (or gathered the shares): no backup on this device needs to show it again.
    await vault.setMeta(RECOVERY_CODE_SHOWN_META, new Date().toISOString());
    await recordBackupLocation(
      vault,
      location.from === 'folder' ? { folder: backupFolder(location.dir, pseudonym) } : { gateway: sourceName },
    );
    return stored;
  } finally {
    await vault.close();
  }
}
