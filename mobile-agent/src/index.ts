/**
 * The agent's core: what a phone app reuses (vault, inbox, verification, consent, pulls). The local
 * web page, which needs Express, is a separate entry point: `@phr/mobile-agent/ui`.
 */
export * from './agent-api';
export { Agent, type OpenOptions } from './agent';
export { initAgent, type InitOptions, type InitResult } from './setup';
export {
  restoreAgent,
  restoreWithSecret,
  type BackupLocation,
  type RestoreOptions,
  type RestoreReport,
  type RestoreWithSecretOptions,
} from './lifecycle/restore';
export {
  checkRecoveryKey,
  enrollNewDevice,
  recoverDevice,
  takeOverPseudonym,
  TakeoverError,
  type DeviceEnrollmentOptions,
  type EnrolledDevice,
  type TakeoverOptions,
} from './lifecycle/device-takeover';
export { BackupError, BackupKeys, type BackupErrorCode } from './lifecycle/backup-format';
export { ErasureError } from './lifecycle/erase';
export {
  finishRecovery,
  startRecovery,
  type FinishedRecovery,
  type FinishOptions as RecoveryFinishOptions,
  type StartedRecovery,
  type StartOptions as RecoveryStartOptions,
} from './recovery/device-recovery';
export { RecoveryError, type RecoveryErrorCode } from './recovery/recovery-error';
export { ResearchError, type ResearchErrorCode } from './research/research-error';
export type { RecoverySetup, SetupOptions as RecoverySetupOptions } from './recovery/recovery-setup';
export type { GuardianDecision } from './recovery/guardian-approval';
export {
  httpsRecoveryTransport,
  type RecoveryTransport,
  type RecoveryTransportFactory,
} from './recovery/recovery-transport';
export { defaultConnectors, type AgentConnectors, type AgentIdentity } from './connectors';
export {
  loadProfile,
  parseProfile,
  ProfileError,
  type NetworkProfile,
  type HospitalProfile,
} from './profile/network-profile';
export { AgentHome, HomeError } from './home/agent-home';
export { DEFAULT_SCRYPT, type SealOptions } from './keys/keystore';
export type { Vault, VaultDelivery, VaultElement, RecordQuery, AgentNotification } from './vault/vault-types';
