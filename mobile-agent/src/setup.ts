import { existsSync } from 'node:fs';
import { newPseudonym, type EncryptionAlgorithm } from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import { defaultConnectors, type AgentConnectors } from './connectors';
import { createCsr } from './enroll/csr';
import { AgentHome, HomeError, warnAboutLooseModes, type AgentState } from './home/agent-home';
import {
  generateDeviceSecrets,
  openKeystore,
  readKeystore,
  sealKeystore,
  writeKeystore,
  type DeviceSecrets,
  type SealOptions,
} from './keys/keystore';
import { silentLogger, type Logger } from './logger';
import type { NetworkProfile } from './profile/network-profile';

export interface InitOptions {
  home: string;
  profile: NetworkProfile;
  passphrase: string;
  /** From the doorman (register-patient.sh): one-time, never a name or MRN. */
  enrollmentId: string;
  enrollmentSecret: string;
  algorithm?: EncryptionAlgorithm;
  /** How the keystore is sealed under the passphrase: DEFAULT_SCRYPT unless given (a lower cost needs `allowWeakKdf`, for tests). */
  keystore?: SealOptions;
  connectors?: AgentConnectors;
  log?: Logger;
}

export interface InitResult {
  pseudonym: string;
  /** False when the agent was already set up and nothing changed. */
  created: boolean;
}

/**
 * `phr-agent init` (SPEC flow 1): keys made here, sealed under the passphrase; a certificate from
 * the doorman CA for the device's own CSR; the pseudonym and public encryption key registered on
 * the ledger by a transaction this device signs. Each step is saved before the next, so an init
 * interrupted by an outage is finished by running it again.
 */
export async function initAgent(o: InitOptions): Promise<InitResult> {
  const home = new AgentHome(o.home);
  const connectors = o.connectors ?? defaultConnectors;
  const log = o.log ?? silentLogger;
  home.ensureDir();
  warnAboutLooseModes(home, log);

  let state: AgentState;
  let secrets: DeviceSecrets;
  if (home.hasState()) {
    state = home.readState();
    if (state.registeredAt && state.pseudonym) return { pseudonym: state.pseudonym, created: false };
    if (state.origin === 'restore') {
      throw new HomeError(
        'ALREADY_INITIALIZED',
        `${home.dir} holds an agent being restored for ${state.pseudonym ?? 'a patient'}; use \`phr-agent restore\` there, or another folder`,
      );
    }
    if (state.enrollmentId !== o.enrollmentId) {
      throw new HomeError('ALREADY_INITIALIZED', `${home.dir} holds an unfinished agent for another enrollment id`);
    }
    secrets = openKeystore(readKeystore(home.keystoreFile), o.passphrase);
  } else {
    if (existsSync(home.keystoreFile)) {
      throw new HomeError('MALFORMED', `${home.dir} has a keystore but no state; refusing to overwrite keys`);
    }
    secrets = generateDeviceSecrets(o.algorithm ?? 'X25519');
    // Keys first: if anything later fails, the same keys are used on the next attempt.
    writeKeystore(home.keystoreFile, sealKeystore(secrets, o.passphrase, o.keystore));
    state = {
      v: 1,
      enrollmentId: o.enrollmentId,
      mspId: o.profile.patientsCa.mspId,
      encryptionAlgorithm: secrets.encryption.algorithm,
      encryptionPublicKeyPem: secrets.encryption.publicKeyPem,
      pseudonym: newPseudonym(),
      createdAt: new Date().toISOString(),
    };
    home.writeProfile(o.profile);
    home.writeState(state);
  }

  if (!state.certificatePem) {
    const csr = await createCsr(o.enrollmentId, secrets.signingPrivateKeyPem);
    const enrollment = await connectors.enroller(o.profile).enroll(o.enrollmentId, o.enrollmentSecret, csr);
    state = { ...state, certificatePem: enrollment.certificatePem };
    home.writeState(state);
    log.info({}, 'enrolled at the patients CA');
  }

  const pseudonym = state.pseudonym as string;
  const certificatePem = state.certificatePem as string; // set above when it was missing
  const ledger = connectors.ledger(o.profile, {
    mspId: state.mspId,
    certificatePem,
    privateKeyPem: secrets.signingPrivateKeyPem,
  });
  try {
    await ledger.register(pseudonym, secrets.encryption.publicKeyPem, secrets.encryption.algorithm);
  } catch (err) {
    // A registration that committed but whose answer was lost comes back as a conflict for the same owner.
    if (!(err instanceof LedgerError && err.code === 'CONFLICT')) throw err;
    const me = await ledger.whoAmI();
    if (me.pseudonym !== pseudonym) throw err;
  } finally {
    ledger.close();
  }
  home.writeState({ ...state, registeredAt: new Date().toISOString() });
  log.info({ pseudonym }, 'registered on the ledger');
  return { pseudonym, created: true };
}
