/** The real gateway over HTTPS on the real chaincode in memory, for integration tests. */
export * from './chaincode-ledger';
export * from './gateway-harness';
export * from './study-participation';
