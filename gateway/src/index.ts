export { ClientCertificateAuthenticator, type TrustedIssuer } from './auth/client-certificate';
export type { Principal } from './auth/principal';
export { configSchema, ConfigError, loadConfig, parseConfig, type GatewayConfig } from './config';
export { GATEWAY_VERSION, startGateway, type GatewayOptions, type RunningGateway } from './gateway';
export {
  DELIVERY_IDENTIFIER_SYSTEM,
  readReceipt,
  RECEIPT_EXTENSION_URL,
  type DeliveryReceipt,
} from './ingest/bundle-response';
export type {
  CommitResult,
  DeliveryCommitment,
  ErasureAccessEvent,
  LedgerPort,
  PreparedCommit,
} from './ledger/ledger-port';
export { createLogger, type Logger } from './logger';
export { convertCcda, type ConvertedCcda } from './ccda/ccda-converter';
export { dryRun, type DryRun } from './ccda/convert-command';
