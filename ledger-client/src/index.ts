export * from './ledger-client';
export * from './ledger-error';
export { newEcdsaSigner, lowS } from './ecdsa-signer';
