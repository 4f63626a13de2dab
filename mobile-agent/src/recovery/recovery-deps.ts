import type { AgentIdentity } from '../connectors';
import type { AgentLedger } from '../ledger/agent-ledger';
import type { Logger } from '../logger';
import { hospitalByName, type HospitalProfile, type NetworkProfile } from '../profile/network-profile';
import type { Vault } from '../vault/vault-types';
import { RecoveryError } from './recovery-error';
import type { RecoveryTransport } from './recovery-transport';

/** What the recovery steps of an unlocked agent use: the patient's (or the guardian's) own. */
export interface RecoveryDeps {
  pseudonym: string;
  /** Signs every envelope this agent sends. */
  identity: AgentIdentity;
  /** Opens what was sealed to this agent (a guardian's share, a recovery request). */
  encryptionPrivateKeyPem: string;
  vault: Vault;
  ledger: AgentLedger;
  profile: NetworkProfile;
  /** The hospital's recovery routes, as this agent's identity. */
  transport(hospital: HospitalProfile): RecoveryTransport;
  /**
   * Makes the patient's recovery secret when there is none yet and sets its public key on the
   * ledger; `recoveryCode` comes back until it was shown once.
   */
  ensureRecoverySecret(): Promise<{ recoveryCode?: string }>;
  /** Runs `use` with a copy of the recovery secret, wiped after. */
  useRecoverySecret<T>(use: (secret: Buffer) => Promise<T>): Promise<T>;
  log: Logger;
  now?: () => Date;
}

/** The hospital named, or the first one with a gateway the agent knows. */
export function chooseHospital(profile: NetworkProfile, name: string | undefined): HospitalProfile {
  if (name !== undefined) return hospitalByName(profile, name);
  const first = profile.hospitals[0];
  if (!first) throw new RecoveryError('INVALID_ARGUMENT', 'the network profile names no hospital to go through');
  return first;
}
