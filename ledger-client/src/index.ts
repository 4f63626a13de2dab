export * from './ledger-client';
export * from './ledger-error';
export { newEcdsaSigner, lowS } from './ecdsa-signer';
export { transactionIdOf, type TransactionSlot } from './transaction-slot';
