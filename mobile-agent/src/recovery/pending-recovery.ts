import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { writePrivateFile } from '@phr/common';
import { z } from 'zod';
import { AgentHome } from '../home/agent-home';
import type { VaultKeys } from '../vault/vault-types';
import { RecoveryError } from './recovery-error';

/**
 * The new device's recovery under way, in its home (`recovery.json`, 0600), between
 * `recovery start` and `recovery finish`: the request, and the private half of the one-time key
 * the guardians seal their shares to. That key is encrypted (AES-256-GCM) under a key derived
 * from the device's vault key, which only the passphrase unlocks: the file alone opens no share.
 */

export interface PendingRecovery {
  v: 1;
  pseudonym: string;
  /** Absent when the patient named no guardians (paper codes only): nothing to ask a gateway. */
  request?: {
    requestId: string;
    /** The hospital (profile name) whose gateway holds the request. */
    hospital: string;
    ephemeralPublicKey: string;
    checkCode: string;
    expiresAt: string;
  };
  guardians: string[];
  createdAt: string;
}

const KEY_INFO = 'phr-agent pending recovery key';

const fileSchema = z.object({
  v: z.literal(1),
  pseudonym: z.string(),
  request: z
    .object({
      requestId: z.string(),
      hospital: z.string(),
      ephemeralPublicKey: z.string(),
      checkCode: z.string(),
      expiresAt: z.string(),
    })
    .optional(),
  guardians: z.array(z.string()),
  createdAt: z.string(),
  /** base64: iv (12) || ciphertext || tag (16) of the ephemeral private key's PKCS#8 PEM. */
  sealedKey: z.string().optional(),
});

export function pendingRecoveryFile(homeDir: string): string {
  return new AgentHome(homeDir).recoveryFile;
}

export function hasPendingRecovery(homeDir: string): boolean {
  return existsSync(pendingRecoveryFile(homeDir));
}

/** Writes the pending recovery (replacing it whole), with the ephemeral private key sealed. */
export function writePendingRecovery(
  homeDir: string,
  pending: PendingRecovery,
  vaultKeys: VaultKeys,
  ephemeralPrivateKeyPem?: string,
): void {
  const sealedKey =
    ephemeralPrivateKeyPem === undefined || pending.request === undefined
      ? undefined
      : sealKey(ephemeralPrivateKeyPem, vaultKeys, pending.request.requestId);
  writePrivateFile(
    pendingRecoveryFile(homeDir),
    JSON.stringify({ ...pending, ...(sealedKey ? { sealedKey } : {}) }, null, 2) + '\n',
  );
}

/**
 * The pending recovery and, when it has a request, the ephemeral private key.
 * @throws RecoveryError UNKNOWN_REQUEST when there is none (or the file is not one).
 */
export function readPendingRecovery(
  homeDir: string,
  vaultKeys?: VaultKeys,
): { pending: PendingRecovery; ephemeralPrivateKeyPem?: string } {
  const file = pendingRecoveryFile(homeDir);
  if (!existsSync(file)) {
    throw new RecoveryError(
      'UNKNOWN_REQUEST',
      `no recovery is under way in ${homeDir}; run \`phr-agent recovery start\` there first`,
    );
  }
  const parsed = fileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new RecoveryError('UNKNOWN_REQUEST', `${file} is not a pending recovery`);
  const { sealedKey, ...pending } = parsed.data;
  if (!vaultKeys || !sealedKey || !pending.request) return { pending };
  return { pending, ephemeralPrivateKeyPem: openKey(sealedKey, vaultKeys, pending.request.requestId) };
}

export function removePendingRecovery(homeDir: string): void {
  rmSync(pendingRecoveryFile(homeDir), { force: true });
}

function keyFor(vaultKeys: VaultKeys, requestId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', vaultKeys.dataKey, Buffer.from(requestId), Buffer.from(KEY_INFO), 32));
}

function sealKey(pem: string, vaultKeys: VaultKeys, requestId: string): string {
  const key = keyFor(vaultKeys, requestId);
  const iv = randomBytes(12);
  try {
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const ciphertext = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64');
  } finally {
    key.fill(0);
  }
}

function openKey(sealed: string, vaultKeys: VaultKeys, requestId: string): string {
  const bytes = Buffer.from(sealed, 'base64');
  const key = keyFor(vaultKeys, requestId);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new RecoveryError('UNKNOWN_REQUEST', "the pending recovery does not open with this device's keys", {
      cause: err,
    });
  } finally {
    key.fill(0);
  }
}
