export * from './ledger-client';
export * from './ledger-error';
