import * as grpc from '@grpc/grpc-js';
import { peer } from '@hyperledger/fabric-protos';
import { Timestamp } from 'google-protobuf/google/protobuf/timestamp_pb';
import type { Logger } from '../logging';
import type { TxSimulator } from './tx-simulator';

const T = peer.ChaincodeMessage.Type;

/** Where a chaincode-as-a-service listens (its package's connection.json). */
export interface ChaincodeEndpoint {
  chaincodeName: string;
  packageId: string;
  address: string;
  tlsRequired: boolean;
  rootCertPem?: string;
  dialTimeoutMs: number;
}

export interface ExecutionResult {
  response: peer.Response;
  /** The event the transaction set (the last `setEvent`), if any. */
  event?: peer.ChaincodeEvent;
}

/** The chaincode was unreachable or the stream broke: Fabric answers 500 without a payload. */
export class ChaincodeUnavailableError extends Error {
  override readonly name = 'ChaincodeUnavailableError';
  readonly code = 'CHAINCODE_UNAVAILABLE';
}

interface Running {
  simulator: TxSimulator;
  resolve: (r: ExecutionResult) => void;
  reject: (e: Error) => void;
}

/** Fabric's text when the chaincode stream ends mid-transaction (`chaincode.ErrorStreamTerminated`). */
export const ERROR_STREAM_TERMINATED = 'chaincode stream terminated';

/**
 * The peer's side of the chaincode protocol for a chaincode that runs as a service: the peer dials
 * it over TLS (`/protos.Chaincode/Connect`), answers REGISTER with REGISTERED and READY, then sends
 * one TRANSACTION per invocation and answers the chaincode's state requests from the invocation's
 * simulator until COMPLETED or ERROR. Never sends KEEPALIVE: fabric-shim exits on it.
 */
export class ChaincodeConnection {
  private client: grpc.Client | undefined;
  private stream: grpc.ClientDuplexStream<peer.ChaincodeMessage, peer.ChaincodeMessage> | undefined;
  private ready: Promise<void> | undefined;
  private readonly running = new Map<string, Running>();

  constructor(
    readonly endpoint: ChaincodeEndpoint,
    private readonly log: Logger,
  ) {}

  private connect(): Promise<void> {
    if (this.ready) return this.ready;
    const e = this.endpoint;
    const credentials = e.tlsRequired
      ? grpc.credentials.createSsl(e.rootCertPem ? Buffer.from(e.rootCertPem) : null)
      : grpc.credentials.createInsecure();
    const Client = peer.ChaincodeClient as unknown as new (
      address: string,
      creds: grpc.ChannelCredentials,
    ) => grpc.Client & { connect(): grpc.ClientDuplexStream<peer.ChaincodeMessage, peer.ChaincodeMessage> };
    const client = new Client(e.address, credentials);
    this.client = client;
    this.ready = new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => {
        this.reset(err);
        reject(err);
      };
      client.waitForReady(Date.now() + e.dialTimeoutMs, (err) => {
        if (err)
          return fail(
            new ChaincodeUnavailableError(
              `could not connect to chaincode ${e.chaincodeName} at ${e.address}: ${err.message}`,
            ),
          );
        const stream = client.connect();
        this.stream = stream;
        let registered = false;
        const timer = setTimeout(
          () =>
            fail(
              new ChaincodeUnavailableError(
                `chaincode ${e.chaincodeName} did not register within ${e.dialTimeoutMs} ms`,
              ),
            ),
          e.dialTimeoutMs,
        );
        stream.on('data', (msg: peer.ChaincodeMessage) => {
          if (!registered) {
            if (msg.getType() !== T.REGISTER) return;
            registered = true;
            clearTimeout(timer);
            stream.write(this.message(T.REGISTERED));
            stream.write(this.message(T.READY));
            this.log.info(
              { event: 'chaincode-registered', chaincode: e.chaincodeName, address: e.address },
              'chaincode registered',
            );
            resolve();
            return;
          }
          this.onMessage(msg);
        });
        const broken = (err?: Error) => {
          clearTimeout(timer);
          if (this.stream !== stream) return;
          this.log.warn(
            { event: 'chaincode-stream-ended', chaincode: e.chaincodeName, err: err?.message },
            'chaincode stream ended',
          );
          this.reset(new ChaincodeUnavailableError(ERROR_STREAM_TERMINATED));
          if (!registered)
            reject(new ChaincodeUnavailableError(`chaincode ${e.chaincodeName} closed the stream before registering`));
        };
        stream.on('error', (err: Error) => broken(err));
        stream.on('end', () => broken());
      });
    });
    return this.ready;
  }

  private reset(err: Error): void {
    const client = this.client;
    this.stream = undefined;
    this.ready = undefined;
    this.client = undefined;
    for (const [, run] of this.running) run.reject(err);
    this.running.clear();
    client?.close();
  }

  private message(
    type: number,
    fields: Partial<{ txid: string; channelId: string; payload: Uint8Array }> = {},
  ): peer.ChaincodeMessage {
    const m = new peer.ChaincodeMessage();
    m.setType(type as peer.ChaincodeMessage.TypeMap[keyof peer.ChaincodeMessage.TypeMap]);
    const now = Date.now();
    const ts = new Timestamp();
    ts.setSeconds(Math.floor(now / 1000));
    ts.setNanos((now % 1000) * 1e6);
    m.setTimestamp(ts);
    if (fields.txid !== undefined) m.setTxid(fields.txid);
    if (fields.channelId !== undefined) m.setChannelId(fields.channelId);
    if (fields.payload) m.setPayload(fields.payload);
    return m;
  }

  private onMessage(msg: peer.ChaincodeMessage): void {
    const key = `${msg.getChannelId()}${msg.getTxid()}`;
    const run = this.running.get(key);
    if (!run) {
      this.log.warn(
        { event: 'chaincode-message-unmatched', type: msg.getType() },
        'message for no running transaction',
      );
      return;
    }
    const type = msg.getType();
    if (type === T.COMPLETED) {
      this.running.delete(key);
      const response = peer.Response.deserializeBinary(msg.getPayload_asU8());
      const event = msg.getChaincodeEvent();
      run.resolve(event && event.getEventName() ? { response, event } : { response });
      return;
    }
    if (type === T.ERROR) {
      this.running.delete(key);
      const response = new peer.Response();
      response.setStatus(500);
      response.setMessage(Buffer.from(msg.getPayload_asU8()).toString('utf8'));
      run.resolve({ response });
      return;
    }
    const reply = run.simulator.handle(type, msg.getPayload_asU8());
    const out = reply.ok
      ? this.message(T.RESPONSE, { txid: msg.getTxid(), channelId: msg.getChannelId(), payload: reply.payload })
      : this.message(T.ERROR, {
          txid: msg.getTxid(),
          channelId: msg.getChannelId(),
          payload: Buffer.from(reply.message, 'utf8'),
        });
    this.stream?.write(out);
  }

  /**
   * Runs one invocation: TRANSACTION with the chaincode input and the client's signed proposal.
   * @throws ChaincodeUnavailableError when the chaincode cannot be reached or the stream breaks.
   */
  async execute(options: {
    txId: string;
    channelId: string;
    input: Uint8Array;
    signedProposal: peer.SignedProposal;
    simulator: TxSimulator;
    timeoutMs: number;
  }): Promise<ExecutionResult> {
    await this.connect();
    const key = `${options.channelId}${options.txId}`;
    if (this.running.has(key)) {
      throw new Error(`txid: ${options.txId}(${options.channelId}) exists`);
    }
    const stream = this.stream;
    if (!stream) throw new ChaincodeUnavailableError(ERROR_STREAM_TERMINATED);
    return new Promise<ExecutionResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.running.delete(key);
        reject(new Error(`timeout expired while executing transaction ${options.txId}`));
      }, options.timeoutMs);
      this.running.set(key, {
        simulator: options.simulator,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      const m = this.message(T.TRANSACTION, {
        txid: options.txId,
        channelId: options.channelId,
        payload: options.input,
      });
      m.setProposal(options.signedProposal);
      stream.write(m);
    });
  }

  close(): void {
    const stream = this.stream;
    this.reset(new ChaincodeUnavailableError('the peer is stopping'));
    stream?.end();
  }
}
