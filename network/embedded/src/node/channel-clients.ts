import * as grpc from '@grpc/grpc-js';
import { common, orderer as ordererProtos, peer } from '@hyperledger/fabric-protos';
import { atomicBroadcastDefinition } from '../orderer/deliver-service';
import { signedEnvelope } from './envelope';
import type { LocalIdentity } from './local-identity';

type RawDuplex = grpc.ClientDuplexStream<Buffer, Buffer>;
interface AtomicBroadcastRawClient extends grpc.Client {
  broadcast(m: grpc.Metadata, o: grpc.CallOptions): grpc.ClientDuplexStream<Buffer, ordererProtos.BroadcastResponse>;
  deliver(m: grpc.Metadata, o: grpc.CallOptions): RawDuplex;
}
interface EndorserClient extends grpc.Client {
  processProposal(
    request: peer.SignedProposal,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, response?: peer.ProposalResponse) => void,
  ): grpc.ClientUnaryCall;
}

const AtomicBroadcastRaw = grpc.makeGenericClientConstructor(atomicBroadcastDefinition(), 'AtomicBroadcast');
const Endorser = grpc.makeGenericClientConstructor(peer.EndorserService, 'Endorser');

/**
 * gRPC clients from one node to the other nodes of its channel, over TLS trusting the channel's
 * organisations' TLS roots; one connection per address, reused.
 */
export class ChannelClients {
  private readonly orderers = new Map<string, AtomicBroadcastRawClient>();
  private readonly endorsers = new Map<string, EndorserClient>();

  constructor(private readonly tlsRoots: () => string[]) {}

  private credentials(): grpc.ChannelCredentials {
    return grpc.credentials.createSsl(Buffer.from(this.tlsRoots().join('\n')));
  }

  orderer(address: string): AtomicBroadcastRawClient {
    let c = this.orderers.get(address);
    if (!c) {
      c = new AtomicBroadcastRaw(address, this.credentials(), {
        'grpc.max_receive_message_length': 100 * 1024 * 1024,
        'grpc.initial_reconnect_backoff_ms': 200,
        'grpc.max_reconnect_backoff_ms': 2000,
      }) as unknown as AtomicBroadcastRawClient;
      this.orderers.set(address, c);
    }
    return c;
  }

  endorser(address: string): EndorserClient {
    let c = this.endorsers.get(address);
    if (!c) {
      c = new Endorser(address, this.credentials(), {
        'grpc.initial_reconnect_backoff_ms': 200,
        'grpc.max_reconnect_backoff_ms': 2000,
      }) as unknown as EndorserClient;
      this.endorsers.set(address, c);
    }
    return c;
  }

  /**
   * Sends one envelope on a Broadcast stream and returns the orderer's answer.
   * @throws grpc.ServiceError when the orderer cannot be reached (code UNAVAILABLE) or the deadline passes.
   */
  broadcast(address: string, envelope: Uint8Array, deadlineMs: number): Promise<ordererProtos.BroadcastResponse> {
    return new Promise((resolve, reject) => {
      const call = this.orderer(address).broadcast(new grpc.Metadata(), { deadline: Date.now() + deadlineMs });
      let settled = false;
      call.on('data', (r: ordererProtos.BroadcastResponse) => {
        if (settled) return;
        settled = true;
        resolve(r);
        call.end();
      });
      call.on('error', (err: grpc.ServiceError) => {
        if (settled) return;
        settled = true;
        reject(err);
      });
      call.on('end', () => {
        if (!settled) {
          settled = true;
          reject(
            Object.assign(new Error('the orderer closed the stream without an answer'), {
              code: grpc.status.UNAVAILABLE,
            }),
          );
        }
      });
      call.write(Buffer.from(envelope));
    });
  }

  /** Opens a Deliver stream (raw bytes: a signed SeekInfo envelope in, DeliverResponse bytes out). */
  deliver(address: string): RawDuplex {
    return this.orderer(address).deliver(new grpc.Metadata(), {});
  }

  close(): void {
    for (const c of [...this.orderers.values(), ...this.endorsers.values()]) c.close();
    this.orderers.clear();
    this.endorsers.clear();
  }
}

/** A Deliver request signed by `identity`: blocks from `start` on, forever. */
export function seekEnvelope(identity: LocalIdentity, channelId: string, start: number): Buffer {
  const specified = (n: number) => {
    const s = new ordererProtos.SeekSpecified();
    s.setNumber(n);
    const p = new ordererProtos.SeekPosition();
    p.setSpecified(s);
    return p;
  };
  const seek = new ordererProtos.SeekInfo();
  seek.setStart(specified(start));
  seek.setStop(specified(Number.MAX_SAFE_INTEGER));
  seek.setBehavior(ordererProtos.SeekInfo.SeekBehavior.BLOCK_UNTIL_READY);
  return signedEnvelope(common.HeaderType.DELIVER_SEEK_INFO, channelId, identity, seek.serializeBinary()).envelope;
}
