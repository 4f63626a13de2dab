/**
 * The chaincode on an in-memory world state, for tests of this package and of its clients (the
 * gateway's and the agent's in-memory ledgers in @phr/test-support): the contracts run unchanged.
 */
export { FakeLedger } from './fake-ledger';
export type { TestIdentity, SigningTestIdentity } from './identities';
