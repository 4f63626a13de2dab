/**
 * Pieces of the gateway that this repository's benchmarks and test support drive directly (the
 * in-memory ledger behind the integration tests, the pull benchmark). Not a stable API: what a
 * hospital or an integrator uses is `@phr/gateway` itself.
 */
export { deliveryArgs, FabricLedger } from './ledger/fabric-ledger';
export type {
  CommitResult,
  DeliveryCommitment,
  DeliverySlot,
  ErasureAccessEvent,
  LedgerPort,
  PreparedCommit,
} from './ledger/ledger-port';
export type { ConsentEventSource, ConsentEventStream } from './pull/consent-feed';
export type { GatewayAccessEvent, PullLedger } from './pull/pull-ledger';
export { ConsentCache, ConsentFeed } from './pull';
export { segmentResource } from './ingest/segmenter';
