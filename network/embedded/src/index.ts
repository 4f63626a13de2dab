export * from './ca';
export { ChannelConfig, ChannelConfigError, parseDuration } from './config/channel-config';
export { configFromConfigtx, genesisBlock, ConfigtxError } from './config/genesis';
export { blockHeaderBytes, blockHeaderHash, blockDataHash } from './ledger/block';
export { parseSignaturePolicy, PolicyError } from './policy/policy-dsl';
export { SignaturePolicy, type SignedData } from './policy/signature-policy';
export { EMBEDDED_VERSION, FABRIC_WIRE_VERSION, FABRIC_CA_WIRE_VERSION } from './node/version';
