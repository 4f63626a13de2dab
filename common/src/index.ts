export * from './canonical-json';
export * from './consent-evaluation';
export * from './identifiers';
export * from './ledger-model';
export * from './roles';
