/**
 * The secret behind a participant's date shifts (safe-harbor.ts `dateShiftDays`). Derived from the
 * vault's index key, which only the passphrase-sealed keystore holds, under a label of its own:
 * the shift is the same for every date of one study from this device, unrelated across studies,
 * and nobody without the keystore can compute it back.
 */
import { createHmac } from 'node:crypto';

export function researchShiftSecret(indexKey: Uint8Array): Buffer {
  return createHmac('sha256', indexKey).update('phr-ledger/research-date-shift-secret/v1').digest();
}
