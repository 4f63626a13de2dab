import { existsSync } from 'node:fs';
import {
  deriveRecoveryKeys,
  fabricX509Id,
  identityKey,
  isPseudonym,
  rotationPayload,
  signRotation,
  type EncryptionAlgorithm,
  type PatientRecord,
  type RecoveryKeys,
} from '@phr/common';
import { defaultConnectors, type AgentConnectors, type AgentIdentity } from '../connectors';
import { createCsr } from '../enroll/csr';
import { AgentHome, HomeError, warnAboutLooseModes, type AgentState } from '../home/agent-home';
import {
  generateDeviceSecrets,
  readKeystore,
  sealKeystore,
  unlockKeystore,
  withRecoverySecret,
  writeKeystore,
  type DeviceSecrets,
  type SealOptions,
} from '../keys/keystore';
import type { AgentLedger } from '../ledger/agent-ledger';
import { silentLogger, type Logger } from '../logger';
import { loadProfile, type HospitalProfile, type NetworkProfile } from '../profile/network-profile';
import type { GatewayTransport } from '../transport/gateway-transport';

/**
 * A new device taking over an existing pseudonym (restore, recovery): its own keys, a
 * certificate for its own CSR from the doorman, then `PatientRegistry.RotateKeys` signed with the
 * key the recovery secret stands for, which makes this device's identity the owner. Each step is
 * saved before the next (state.json with `origin: restore`), so an interrupted takeover finishes
 * when run again with the same home, and the one-time enrollment secret is used once.
 */

export type TakeoverErrorCode =
  /** The recovery secret's public key is not the one the ledger holds for the pseudonym. */
  | 'WRONG_RECOVERY_CODE'
  /** The pseudonym has no recovery key on the ledger: no backup or recovery setup was ever made. */
  | 'NO_RECOVERY_KEY'
  | 'ERASED'
  | 'UNKNOWN_PATIENT'
  /** The home holds another agent. */
  | 'NOT_FRESH'
  | 'INVALID_ARGUMENT';

export class TakeoverError extends Error {
  override readonly name = 'TakeoverError';
  constructor(
    readonly code: TakeoverErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface DeviceEnrollmentOptions {
  home: string;
  profile: NetworkProfile;
  /** For the new device's keystore (at least 8 characters). */
  passphrase: string;
  /** From the doorman (register-patient.sh), for this new device. */
  enrollmentId: string;
  enrollmentSecret: string;
  /** The pseudonym to take over. */
  pseudonym: string;
  algorithm?: EncryptionAlgorithm;
  /** How the new keystore is sealed under the passphrase: DEFAULT_SCRYPT unless given (a lower cost needs `allowWeakKdf`, for tests). */
  keystore?: SealOptions;
  connectors?: AgentConnectors;
  log?: Logger;
}

export interface EnrolledDevice {
  home: AgentHome;
  state: AgentState & { pseudonym: string; certificatePem: string };
  secrets: DeviceSecrets;
  identity: AgentIdentity;
}

/**
 * Step 1: keys made and sealed here, a certificate for the device's own CSR; nothing on the
 * ledger yet. Safe to run again on the same home (it resumes). The pseudonym is only recorded.
 *
 * @throws TakeoverError NOT_FRESH when the home holds another agent or another takeover;
 * INVALID_ARGUMENT for a malformed pseudonym; the enroller's error when the doorman refuses.
 */
export async function enrollNewDevice(o: DeviceEnrollmentOptions): Promise<EnrolledDevice> {
  if (!isPseudonym(o.pseudonym))
    throw new TakeoverError('INVALID_ARGUMENT', `${String(o.pseudonym)} is not a pseudonym`);
  const home = new AgentHome(o.home);
  const connectors = o.connectors ?? defaultConnectors;
  const log = o.log ?? silentLogger;
  home.ensureDir();
  warnAboutLooseModes(home, log);

  let state: AgentState;
  let secrets: DeviceSecrets;
  if (home.hasState()) {
    state = home.readState();
    if (state.origin !== 'restore' || state.pseudonym !== o.pseudonym) {
      throw new TakeoverError(
        'NOT_FRESH',
        `${home.dir} already holds an agent${state.pseudonym ? ` for ${state.pseudonym}` : ''}; restore into a new folder`,
      );
    }
    secrets = openSecrets(home, o.passphrase);
  } else {
    if (existsSync(home.keystoreFile) || existsSync(home.vaultFile)) {
      throw new TakeoverError('NOT_FRESH', `${home.dir} has keys or a vault but no state; refusing to overwrite them`);
    }
    secrets = generateDeviceSecrets(o.algorithm ?? 'X25519');
    writeKeystore(home.keystoreFile, sealKeystore(secrets, o.passphrase, o.keystore));
    state = {
      v: 1,
      origin: 'restore',
      enrollmentId: o.enrollmentId,
      mspId: o.profile.patientsCa.mspId,
      encryptionAlgorithm: secrets.encryption.algorithm,
      encryptionPublicKeyPem: secrets.encryption.publicKeyPem,
      pseudonym: o.pseudonym,
      createdAt: new Date().toISOString(),
    };
    home.writeProfile(o.profile);
    home.writeState(state);
  }

  if (!state.certificatePem) {
    // No certificate yet: the enrollment given now is the one to use (the doorman may have issued another).
    const csr = await createCsr(o.enrollmentId, secrets.signingPrivateKeyPem);
    const enrollment = await connectors.enroller(o.profile).enroll(o.enrollmentId, o.enrollmentSecret, csr);
    state = { ...state, enrollmentId: o.enrollmentId, certificatePem: enrollment.certificatePem };
    home.writeState(state);
    log.info({}, 'new device enrolled at the patients CA');
  }
  const ready = state as EnrolledDevice['state'];
  return { home, state: ready, secrets, identity: identityOf(ready, secrets) };
}

/**
 * Why the recovery keys cannot take this record over, or undefined when they can.
 * @throws TakeoverError with that reason, for callers that stop on it.
 */
export function checkRecoveryKey(record: PatientRecord, keys: Pick<RecoveryKeys, 'publicKey'>): void {
  if (record.erasedAt) throw new TakeoverError('ERASED', `${record.pseudonym} was erased on ${record.erasedAt}`);
  if (!record.recoveryPublicKey) {
    throw new TakeoverError(
      'NO_RECOVERY_KEY',
      `${record.pseudonym} has no recovery key on the ledger (no backup or recovery setup was made from its device)`,
    );
  }
  if (record.recoveryPublicKey !== keys.publicKey) {
    throw new TakeoverError(
      'WRONG_RECOVERY_CODE',
      `this recovery code is not the one of ${record.pseudonym}: its key is not the one on the ledger`,
    );
  }
}

export interface TakeoverOptions {
  home: string;
  passphrase: string;
  recoverySecret: Uint8Array;
  connectors?: AgentConnectors;
  log?: Logger;
}

/**
 * Step 2: the registry entry moved to this device (RotateKeys with the recovery signature), the
 * recovery secret kept in its keystore, the home marked ready (`Agent.open` works from here).
 * Idempotent: an entry this device already owns is left as it is.
 *
 * @throws TakeoverError (see checkRecoveryKey; UNKNOWN_PATIENT when the pseudonym is not
 * registered); HomeError when step 1 did not finish; the ledger's error otherwise.
 */
export async function takeOverPseudonym(o: TakeoverOptions): Promise<PatientRecord> {
  const home = new AgentHome(o.home);
  const state = home.readState();
  if (state.origin !== 'restore' || !state.pseudonym || !state.certificatePem) {
    throw new HomeError('INCOMPLETE', `${home.dir} holds no enrolled device waiting to take a pseudonym over`);
  }
  const ready = state as EnrolledDevice['state'];
  const session = unlockKeystore(readKeystore(home.keystoreFile), o.passphrase);
  const connectors = o.connectors ?? defaultConnectors;
  const log = o.log ?? silentLogger;
  const identity = identityOf(ready, session.secrets);
  const keys = deriveRecoveryKeys(o.recoverySecret);
  const profile = loadProfile(home.profileFile);
  const ledger = connectors.ledger(profile, identity);
  try {
    let record = await readRecord(ledger, ready.pseudonym);
    if (record.owner !== identity.id) {
      checkRecoveryKey(record, keys);
      // The secret is kept before the ledger moves: a device that owns the pseudonym can always back up.
      writeKeystore(home.keystoreFile, session.reseal(withRecoverySecret(session.secrets, o.recoverySecret)));
      record = await rotate(ledger, record, identity, session.secrets, keys);
      log.info({ pseudonym: ready.pseudonym, keyVersion: record.keyVersion }, 'pseudonym moved to this device');
      await announceTakeover(profile.hospitals, (h) => connectors.gateway(h, ready.pseudonym, identity), log);
    } else if (!session.secrets.recoverySecret) {
      writeKeystore(home.keystoreFile, session.reseal(withRecoverySecret(session.secrets, o.recoverySecret)));
    }
    if (!ready.registeredAt) home.writeState({ ...ready, registeredAt: new Date().toISOString() });
    return record;
  } finally {
    session.close();
    ledger.close();
  }
}

/** Steps 1 and 2: a new device that owns the pseudonym, with nothing in its vault yet. */
export async function recoverDevice(
  o: DeviceEnrollmentOptions & { recoverySecret: Uint8Array },
): Promise<{ pseudonym: string; record: PatientRecord }> {
  await enrollNewDevice(o);
  const record = await takeOverPseudonym(o);
  return { pseudonym: o.pseudonym, record };
}

// ---- internals ----

/**
 * Each gateway seals deliveries to the key it last read from the registry; a call as the new owner
 * makes it read the registry again (its owner check does), so what it sends next is sealed to this
 * device. Best effort: a gateway that is not reached reads it again within its cache time.
 */
async function announceTakeover(
  hospitals: readonly HospitalProfile[],
  transportFor: (h: HospitalProfile) => GatewayTransport,
  log: Logger,
): Promise<void> {
  await Promise.all(
    hospitals.map(async (h) => {
      const transport = transportFor(h);
      try {
        await transport.listBackups();
      } catch (err) {
        log.debug(
          { hospital: h.name, err: err instanceof Error ? err.message : String(err) },
          'gateway not told of the new device',
        );
      } finally {
        await transport.close();
      }
    }),
  );
}

function openSecrets(home: AgentHome, passphrase: string): DeviceSecrets {
  const session = unlockKeystore(readKeystore(home.keystoreFile), passphrase);
  session.close();
  return session.secrets;
}

function identityOf(state: { mspId: string; certificatePem: string }, secrets: DeviceSecrets): AgentIdentity {
  return {
    mspId: state.mspId,
    certificatePem: state.certificatePem,
    privateKeyPem: secrets.signingPrivateKeyPem,
    id: identityKey(state.mspId, fabricX509Id(state.certificatePem)),
  };
}

async function readRecord(ledger: AgentLedger, pseudonym: string): Promise<PatientRecord> {
  try {
    return await ledger.readPatient(pseudonym);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'NOT_FOUND') {
      throw new TakeoverError('UNKNOWN_PATIENT', `${pseudonym} is not registered on the ledger`, { cause: err });
    }
    throw err;
  }
}

/** RotateKeys by recovery signature; a rotation whose answer was lost is recognised by the owner it left. */
async function rotate(
  ledger: AgentLedger,
  record: PatientRecord,
  identity: AgentIdentity,
  secrets: DeviceSecrets,
  keys: RecoveryKeys,
): Promise<PatientRecord> {
  const payload = rotationPayload({
    pseudonym: record.pseudonym,
    newOwner: identity.id,
    encryptionPublicKey: secrets.encryption.publicKeyPem,
    encryptionAlgorithm: secrets.encryption.algorithm,
    keyVersion: record.keyVersion,
  });
  try {
    return await ledger.rotateKeys(
      record.pseudonym,
      secrets.encryption.publicKeyPem,
      secrets.encryption.algorithm,
      signRotation(payload, keys.signingKey),
    );
  } catch (err) {
    const now = await ledger.readPatient(record.pseudonym).catch(() => undefined);
    if (now?.owner === identity.id) return now;
    throw err;
  }
}
