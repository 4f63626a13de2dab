/**
 * The agent's core: what a phone app reuses (vault, inbox, verification, consent, pulls). The local
 * web page, which needs Express, is a separate entry point: `@phr/mobile-agent/ui`.
 */
export * from './agent-api';
export { Agent, type OpenOptions } from './agent';
export { initAgent, type InitOptions, type InitResult } from './setup';
export { defaultConnectors, type AgentConnectors, type AgentIdentity } from './connectors';
export {
  loadProfile,
  parseProfile,
  ProfileError,
  type NetworkProfile,
  type HospitalProfile,
} from './profile/network-profile';
export { AgentHome, HomeError } from './home/agent-home';
export type { Vault, VaultDelivery, VaultElement, RecordQuery, AgentNotification } from './vault/vault-types';
