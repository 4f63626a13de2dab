export * from './ca';
export { ChannelConfig, ChannelConfigError, parseDuration } from './config/channel-config';
export {
  configFromConfigtx,
  configPolicy,
  genesisBlock,
  organizationGroup,
  ConfigtxError,
  type RawOrg,
  type RawPolicy,
} from './config/genesis';
export {
  computeConfigUpdate,
  configSignaturesAsSignedData,
  proposeConfigUpdate,
  ConfigUpdateError,
} from './config/config-update';
export { lastConfigIndex } from './config/last-config';
export { LocalIdentity } from './node/local-identity';
export { ChannelClients } from './node/channel-clients';
export { signedEnvelope } from './node/envelope';
export { blockHeaderBytes, blockHeaderHash, blockDataHash } from './ledger/block';
export { parseSignaturePolicy, PolicyError } from './policy/policy-dsl';
export { SignaturePolicy, type SignedData } from './policy/signature-policy';
export { EMBEDDED_VERSION, FABRIC_WIRE_VERSION, FABRIC_CA_WIRE_VERSION } from './node/version';
