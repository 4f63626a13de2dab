import * as grpc from '@grpc/grpc-js';
import {
  connect,
  hash,
  StatusCode,
  type ChaincodeEvent,
  type CloseableAsyncIterable,
  type Contract,
  type Gateway,
  type Network,
  type Proposal,
  type Transaction,
} from '@hyperledger/fabric-gateway';
import { common } from '@hyperledger/fabric-protos';
import { newEcdsaSigner } from './ecdsa-signer';
import { LedgerError, toLedgerError } from './ledger-error';
import {
  buildSlotProposal,
  newTransactionSlot,
  serializedCreator,
  transactionIdOf,
  type TransactionSlot,
} from './transaction-slot';

export interface LedgerIdentity {
  mspId: string;
  certificatePem: string;
  /** PKCS#8 PEM. Used only to sign in this process; never sent anywhere. */
  privateKeyPem: string;
}

export interface PeerEndpoint {
  /** host:port of the peer's gateway service */
  address: string;
  tlsRootCertPem: string;
  /** TLS server name, when the certificate names a different host than `address`. */
  serverNameOverride?: string;
}

export interface LedgerDeadlines {
  evaluateMs: number;
  endorseMs: number;
  submitMs: number;
  commitStatusMs: number;
}

export const DEFAULT_DEADLINES: LedgerDeadlines = {
  evaluateMs: 5_000,
  endorseMs: 15_000,
  submitMs: 5_000,
  commitStatusMs: 60_000,
};

export interface LedgerClientOptions {
  peer: PeerEndpoint;
  identity: LedgerIdentity;
  channel: string;
  chaincode: string;
  deadlines?: Partial<LedgerDeadlines>;
}

export interface SubmitOptions {
  /** Restrict endorsement to these organisations (normally chosen by the peer from the policy). */
  endorsingOrganizations?: string[];
}

export interface PrepareOptions extends SubmitOptions {
  /** A transaction id taken earlier with {@link LedgerClient.newSlot}: the proposal carries it. */
  slot?: TransactionSlot;
}

/**
 * A signed proposal kept for later: its transaction id is known before the ledger is reached, and
 * resubmitting the same bytes can never commit twice (Fabric refuses a duplicate transaction id).
 */
export interface PreparedTransaction {
  transactionId: string;
  proposal: Uint8Array;
  signature: Uint8Array;
}

/** One event a transaction function set, from a transaction that committed as valid. */
export type LedgerEvent = ChaincodeEvent;

export interface SubmitResult {
  result: string;
  transactionId: string;
  blockNumber: bigint;
}

/**
 * A connection to one peer's gateway service under one identity. One gRPC channel per client;
 * every call carries an explicit deadline.
 *
 * Every call that reaches the ledger fails only with a {@link LedgerError}, whose `code` is one of:
 * a chaincode refusal (one of `CHAINCODE_ERROR_CODES` in @phr/common, the chaincode's whole
 * vocabulary), UNAVAILABLE (peer or orderers out of reach, deadline passed; `retryable`), a Fabric
 * validation code of a transaction ordered but committed as invalid (MVCC_READ_CONFLICT and
 * PHANTOM_READ_CONFLICT are `retryable`), or LEDGER_ERROR.
 */
export class LedgerClient {
  private readonly contracts = new Map<string, Contract>();

  private constructor(
    private readonly grpcClient: grpc.Client,
    private readonly gateway: Gateway,
    private readonly network: Network,
    private readonly chaincode: string,
    private readonly signer: (message: Uint8Array) => Promise<Uint8Array>,
    private readonly creator: Uint8Array,
  ) {}

  /**
   * Sets up the connection; nothing is sent until the first call.
   * @throws Error when the identity's private key cannot be read or is not a P-256/P-384 EC key.
   */
  static connect(options: LedgerClientOptions): LedgerClient {
    const d = { ...DEFAULT_DEADLINES, ...options.deadlines };
    const credentials = grpc.credentials.createSsl(Buffer.from(options.peer.tlsRootCertPem));
    const grpcOptions: grpc.ClientOptions = {
      // An event stream has no deadline: without pings, a peer that vanished without closing the
      // connection would leave it waiting forever. Peers refuse pings more often than every 60 s
      // (peer.keepalive.minInterval), so ping every 2 minutes while a call is open.
      'grpc.keepalive_time_ms': 120_000,
      'grpc.keepalive_timeout_ms': 20_000,
      // grpc-js waits up to 120 s between reconnection attempts to a peer that went away: a peer
      // restarted after a crash then sat unused for up to two minutes while the outbox waited.
      'grpc.initial_reconnect_backoff_ms': 500,
      'grpc.max_reconnect_backoff_ms': 5_000,
      ...(options.peer.serverNameOverride ? { 'grpc.ssl_target_name_override': options.peer.serverNameOverride } : {}),
    };
    const client = new grpc.Client(options.peer.address, credentials, grpcOptions);
    const deadline = (ms: number) => () => ({ deadline: Date.now() + ms });
    const signer = newEcdsaSigner(options.identity.privateKeyPem);
    const gateway = connect({
      client,
      identity: { mspId: options.identity.mspId, credentials: Buffer.from(options.identity.certificatePem) },
      // The signer hashes (SHA-256) as it signs, so "digests" are the messages themselves.
      signer,
      hash: hash.none,
      evaluateOptions: deadline(d.evaluateMs),
      endorseOptions: deadline(d.endorseMs),
      submitOptions: deadline(d.submitMs),
      commitStatusOptions: deadline(d.commitStatusMs),
    });
    return new LedgerClient(
      client,
      gateway,
      gateway.getNetwork(options.channel),
      options.chaincode,
      signer,
      serializedCreator(options.identity.mspId, options.identity.certificatePem),
    );
  }

  private contract(name: string): Contract {
    let c = this.contracts.get(name);
    if (!c) {
      c = this.network.getContract(this.chaincode, name);
      this.contracts.set(name, c);
    }
    return c;
  }

  /**
   * Runs a read-only transaction function on the peer; nothing is ordered.
   * @throws {@link LedgerError} with a chaincode code when the function refuses, UNAVAILABLE when
   * the peer cannot be reached in time, LEDGER_ERROR for anything else.
   */
  async evaluate(contract: string, fn: string, args: readonly string[] = []): Promise<string> {
    try {
      const bytes = await this.contract(contract).evaluateTransaction(fn, ...args);
      return Buffer.from(bytes).toString('utf8');
    } catch (err) {
      throw toLedgerError(err);
    }
  }

  /**
   * Evaluates a function that returns one JSON record; undefined when the chaincode says NOT_FOUND.
   * @throws {@link LedgerError} as {@link evaluate} does, except NOT_FOUND.
   * @throws SyntaxError when the function's result is not JSON.
   */
  async evaluateRecord<T>(contract: string, fn: string, args: readonly string[] = []): Promise<T | undefined> {
    try {
      return JSON.parse(await this.evaluate(contract, fn, args)) as T;
    } catch (err) {
      if (err instanceof LedgerError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }

  /**
   * The number of blocks in the peer's block store (qscc GetChainInfo). The peer appends a block
   * before it applies the block to its state database, so state may lag this by one block.
   * @throws {@link LedgerError} UNAVAILABLE when the peer cannot be reached in time, LEDGER_ERROR
   * for anything else (e.g. the peer refuses the identity).
   */
  async chainHeight(): Promise<bigint> {
    try {
      const bytes = await this.network.getContract('qscc').evaluateTransaction('GetChainInfo', this.network.getName());
      return BigInt(common.BlockchainInfo.deserializeBinary(bytes).getHeight());
    } catch (err) {
      throw toLedgerError(err);
    }
  }

  /**
   * This client's chaincode's events from `startBlock` on, in commit order, valid transactions
   * only. A stream has no deadline; close the iterable to end it.
   * @throws {@link LedgerError} UNAVAILABLE or LEDGER_ERROR when the stream cannot be opened; the
   * iterator throws the same when the stream breaks later.
   */
  async chaincodeEvents(startBlock: bigint): Promise<CloseableAsyncIterable<LedgerEvent>> {
    let events: CloseableAsyncIterable<ChaincodeEvent>;
    try {
      events = await this.network.getChaincodeEvents(this.chaincode, { startBlock });
    } catch (err) {
      throw toLedgerError(err);
    }
    return {
      async *[Symbol.asyncIterator]() {
        try {
          for await (const event of events) yield event;
        } catch (err) {
          throw toLedgerError(err);
        }
      },
      close: () => events.close(),
      [Symbol.dispose]: () => events.close(),
    };
  }

  /**
   * Endorses, orders and waits for the commit; fails unless the transaction committed as valid.
   * @throws {@link LedgerError} with a chaincode code when the function refuses at endorsement
   * (nothing is ordered), UNAVAILABLE when the peer or the orderers cannot be reached in time (the
   * transaction may still commit), a validation code (e.g. MVCC_READ_CONFLICT,
   * ENDORSEMENT_POLICY_FAILURE) when it was ordered but committed as invalid, LEDGER_ERROR otherwise.
   */
  async submit(
    contract: string,
    fn: string,
    args: readonly string[] = [],
    options: SubmitOptions = {},
  ): Promise<SubmitResult> {
    try {
      return await this.complete(await this.proposal(contract, fn, args, options).endorse());
    } catch (err) {
      throw toLedgerError(err);
    }
  }

  private proposal(contract: string, fn: string, args: readonly string[], options: SubmitOptions): Proposal {
    return this.contract(contract).newProposal(fn, {
      arguments: [...args],
      ...(options.endorsingOrganizations ? { endorsingOrganizations: options.endorsingOrganizations } : {}),
    });
  }

  /** Orders an endorsed transaction and waits for its commit; fails unless it committed as valid. */
  private async complete(transaction: Transaction): Promise<SubmitResult> {
    const commit = await transaction.submit();
    const status = await commit.getStatus();
    if (!status.successful) {
      const code = statusName(status.code);
      throw new LedgerError(
        code,
        `transaction ${status.transactionId} was not committed: ${code}`,
        status.transactionId,
      );
    }
    return {
      result: Buffer.from(transaction.getResult()).toString('utf8'),
      transactionId: status.transactionId,
      blockNumber: status.blockNumber,
    };
  }

  /** A transaction id of this client's identity whose proposal is built later ({@link prepare}). */
  newSlot(): TransactionSlot {
    return newTransactionSlot(this.creator);
  }

  /**
   * Whether a proposal built now would carry the slot's id: false for a slot drawn under another
   * identity (a renewed certificate), whose id Fabric would refuse.
   */
  ownsSlot(slot: TransactionSlot): boolean {
    return transactionIdOf(slot.nonce, this.creator) === slot.transactionId;
  }

  /**
   * Builds and signs a proposal without contacting the ledger; with `options.slot`, under the
   * slot's transaction id.
   * @throws Error when the proposal cannot be built or signed; never a {@link LedgerError}.
   */
  async prepare(
    contract: string,
    fn: string,
    args: readonly string[] = [],
    options: PrepareOptions = {},
  ): Promise<PreparedTransaction> {
    if (options.slot) {
      if (!this.ownsSlot(options.slot)) {
        throw new Error(`transaction ${options.slot.transactionId} does not derive from this identity and its nonce`);
      }
      const built = buildSlotProposal({
        slot: options.slot,
        creator: this.creator,
        channel: this.network.getName(),
        chaincode: this.chaincode,
        transactionName: `${contract}:${fn}`,
        args,
        ...(options.endorsingOrganizations ? { endorsingOrganizations: options.endorsingOrganizations } : {}),
      });
      return {
        transactionId: options.slot.transactionId,
        proposal: built.bytes,
        signature: await this.signer(built.signed),
      };
    }
    const proposal = this.proposal(contract, fn, args, options);
    return {
      transactionId: proposal.getTransactionId(),
      proposal: proposal.getBytes(),
      signature: await this.signer(proposal.getDigest()),
    };
  }

  /**
   * Endorses, orders and waits for the commit of a prepared transaction.
   * @throws {@link LedgerError} as {@link submit} does; a prepared transaction submitted again
   * after it committed is LEDGER_ERROR (or DUPLICATE_TXID), never a second commit.
   */
  async submitPrepared(prepared: PreparedTransaction): Promise<SubmitResult> {
    try {
      const proposal = this.gateway.newSignedProposal(prepared.proposal, prepared.signature);
      return await this.complete(await proposal.endorse());
    } catch (err) {
      throw toLedgerError(err);
    }
  }

  /**
   * Waits until the peer can collect endorsements that satisfy the chaincode's policy (gossip has
   * found the other organisations' peers). Endorses a read-only call and never submits it.
   * @throws {@link LedgerError} the last endorsement's failure, once `timeoutMs` has passed.
   */
  async waitUntilEndorsable(contract: string, fn: string, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.contract(contract).newProposal(fn).endorse();
        return;
      } catch (err) {
        if (Date.now() > until) throw toLedgerError(err);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  close(): void {
    this.gateway.close();
    this.grpcClient.close();
  }
}

function statusName(code: number): keyof typeof StatusCode {
  const entry = Object.entries(StatusCode).find(([, value]) => value === code);
  return (entry?.[0] ?? 'INVALID_OTHER_REASON') as keyof typeof StatusCode;
}
