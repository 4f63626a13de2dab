export * from './agent-ledger';
export * from './fabric-agent-ledger';
