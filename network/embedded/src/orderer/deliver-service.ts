import * as grpc from '@grpc/grpc-js';
import { common, orderer as ordererProtos } from '@hyperledger/fabric-protos';
import type { ChannelConfig } from '../config/channel-config';
import type { Logger } from '../logging';
import { EnvelopeError, parseEnvelope } from '../node/envelope';
import { bytesField } from '../node/wire';

/** Where Deliver reads blocks from: the orderer's chain (or, later, a peer's block store). */
export interface BlockSource {
  readonly channelId: string;
  readonly channelConfig: ChannelConfig;
  height(): number;
  block(number: number): Uint8Array | undefined;
  onBlock(listener: (number: number) => void): () => void;
}

const S = common.Status;
/** Beyond this a SeekSpecified number means "never stop" (clients send 2^64-1). */
const FOREVER = Number.MAX_SAFE_INTEGER;

function statusResponse(status: number): Buffer {
  const r = new ordererProtos.DeliverResponse();
  r.setStatus(status as common.StatusMap[keyof common.StatusMap]);
  return Buffer.from(r.serializeBinary());
}

/** DeliverResponse{block} with the stored block bytes as they are. */
function blockResponse(blockBytes: Uint8Array): Buffer {
  return bytesField(2, blockBytes);
}

function position(p: ordererProtos.SeekPosition | undefined, height: number): { number: number } | { error: string } {
  if (!p) return { error: 'seek position is missing' };
  if (p.hasOldest()) return { number: 0 };
  if (p.hasNewest()) return { number: Math.max(0, height - 1) };
  if (p.hasSpecified()) {
    const n = p.getSpecified()?.getNumber() ?? 0;
    return { number: n >= FOREVER ? FOREVER : n };
  }
  if (p.hasNextCommit()) return { number: height };
  return { error: 'unknown seek position type' };
}

/**
 * `orderer.AtomicBroadcast/Deliver`: a signed SeekInfo in, blocks out. The requester must satisfy
 * the channel's Readers policy; blocks are sent as stored, from start to stop, waiting for new
 * ones (BLOCK_UNTIL_READY) or refusing them (FAIL_IF_NOT_READY), then a SUCCESS status.
 */
export function deliverHandler(source: BlockSource, log: Logger): grpc.handleBidiStreamingCall<Buffer, Buffer> {
  return (call) => {
    let cancelled = false;
    const unsubscribers: (() => void)[] = [];
    const finish = () => {
      cancelled = true;
      unsubscribers.splice(0).forEach((u) => u());
    };
    call.on('cancelled', finish);
    call.on('error', finish);
    call.on('end', () => {
      finish();
      call.end();
    });
    call.on('data', (envelope: Buffer) => {
      void serve(envelope).catch((err: unknown) => {
        log.warn({ event: 'deliver-failed', err: String(err) }, 'deliver failed');
        if (!cancelled) call.write(statusResponse(S.INTERNAL_SERVER_ERROR));
      });
    });

    async function serve(envelope: Buffer): Promise<void> {
      let env;
      try {
        env = parseEnvelope(envelope);
      } catch (err) {
        call.write(statusResponse(S.BAD_REQUEST));
        log.info({ event: 'deliver-refused', reason: err instanceof EnvelopeError ? err.message : 'bad envelope' });
        return;
      }
      if (env.channelHeader.getChannelId() !== source.channelId) {
        call.write(statusResponse(S.NOT_FOUND));
        return;
      }
      const allowed = source.channelConfig.policies.evaluate('/Channel/Readers', [
        {
          data: env.payloadBytes,
          identity: env.signatureHeader.getCreator_asU8(),
          signature: env.envelope.getSignature_asU8(),
        },
      ]);
      if (!allowed) {
        call.write(statusResponse(S.FORBIDDEN));
        return;
      }
      let seek: ordererProtos.SeekInfo;
      try {
        seek = ordererProtos.SeekInfo.deserializeBinary(env.payload.getData_asU8());
      } catch {
        call.write(statusResponse(S.BAD_REQUEST));
        return;
      }
      const start = position(seek.getStart(), source.height());
      const stop = position(seek.getStop(), source.height());
      if ('error' in start || 'error' in stop || start.number > stop.number) {
        call.write(statusResponse(S.BAD_REQUEST));
        return;
      }
      const failIfNotReady = seek.getBehavior() === ordererProtos.SeekInfo.SeekBehavior.FAIL_IF_NOT_READY;
      for (let n = start.number; n <= stop.number && !cancelled; n++) {
        let bytes = source.block(n);
        if (!bytes) {
          if (failIfNotReady) {
            call.write(statusResponse(S.NOT_FOUND));
            return;
          }
          await new Promise<void>((resolve) => {
            const off = source.onBlock(() => {
              if (source.height() > n || cancelled) done();
            });
            const done = () => {
              off();
              const i = unsubscribers.indexOf(done);
              if (i >= 0) unsubscribers.splice(i, 1);
              resolve();
            };
            unsubscribers.push(done);
            if (source.height() > n) done();
          });
          if (cancelled) return;
          bytes = source.block(n);
          if (!bytes) {
            n--;
            continue;
          }
        }
        const ok = call.write(blockResponse(bytes));
        if (!ok) await new Promise((r) => call.once('drain', r));
      }
      if (!cancelled) call.write(statusResponse(S.SUCCESS));
    }
  };
}

/**
 * The AtomicBroadcast service definition with requests and Deliver responses passed as raw
 * bytes: envelopes are stored, and blocks sent, exactly as they were received and written.
 */
export function atomicBroadcastDefinition(): grpc.ServiceDefinition {
  const base = ordererProtos.AtomicBroadcastService as unknown as grpc.ServiceDefinition;
  const raw = { requestDeserialize: (b: Buffer) => b, requestSerialize: (b: Buffer) => b };
  return {
    broadcast: { ...(base.broadcast as grpc.MethodDefinition<unknown, unknown>), ...raw },
    deliver: {
      ...(base.deliver as grpc.MethodDefinition<unknown, unknown>),
      ...raw,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  };
}
