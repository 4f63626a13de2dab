import { common, msp, orderer as ordererProtos } from '@hyperledger/fabric-protos';
import { Timestamp } from 'google-protobuf/google/protobuf/timestamp_pb';
import { ChannelClients, lastConfigIndex, LocalIdentity, signedEnvelope } from '@phr/embedded-fabric';
import { GovernanceError } from './channel-config';

/**
 * Config update transactions in the files Fabric's tools exchange: the CONFIG_UPDATE envelope
 * (`configtxlator` output wrapped as the documentation does), signatures appended one admin at a
 * time (`peer channel signconfigtx`), submission to the orderer (`peer channel update`), and the
 * config block fetched from the orderer (`peer channel fetch config`). Used as they are on the
 * embedded network; on Fabric the same files go through Fabric's own commands.
 */

export interface OrdererEndpoint {
  address: string;
  tlsRootCertPem: string;
}

/** A signer of a config update, as its signature header names it. */
export interface ConfigSigner {
  mspId: string;
  certificatePem: string;
}

function channelHeader(
  type: common.HeaderTypeMap[keyof common.HeaderTypeMap],
  channelId: string,
): common.ChannelHeader {
  const ch = new common.ChannelHeader();
  ch.setType(type);
  ch.setChannelId(channelId);
  const ts = new Timestamp();
  const now = Date.now();
  ts.setSeconds(Math.floor(now / 1000));
  ts.setNanos((now % 1000) * 1e6);
  ch.setTimestamp(ts);
  return ch;
}

/** An unsigned CONFIG_UPDATE envelope carrying the update and no signatures yet. */
export function updateEnvelope(update: common.ConfigUpdate): Uint8Array {
  const cue = new common.ConfigUpdateEnvelope();
  cue.setConfigUpdate(update.serializeBinary());
  const header = new common.Header();
  header.setChannelHeader(channelHeader(common.HeaderType.CONFIG_UPDATE, update.getChannelId()).serializeBinary());
  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(cue.serializeBinary());
  const env = new common.Envelope();
  env.setPayload(payload.serializeBinary());
  return env.serializeBinary();
}

function open(envelopeBytes: Uint8Array): {
  payload: common.Payload;
  cue: common.ConfigUpdateEnvelope;
  update: common.ConfigUpdate;
} {
  try {
    const payload = common.Payload.deserializeBinary(
      common.Envelope.deserializeBinary(envelopeBytes).getPayload_asU8(),
    );
    const ch = common.ChannelHeader.deserializeBinary(payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array());
    if (ch.getType() !== common.HeaderType.CONFIG_UPDATE) throw new Error('not a CONFIG_UPDATE');
    const cue = common.ConfigUpdateEnvelope.deserializeBinary(payload.getData_asU8());
    return { payload, cue, update: common.ConfigUpdate.deserializeBinary(cue.getConfigUpdate_asU8()) };
  } catch (err) {
    throw new GovernanceError('the file is not a config update envelope', 'BAD_CONFIG', { cause: err });
  }
}

/** The update an envelope carries. */
export function envelopeUpdate(envelopeBytes: Uint8Array): common.ConfigUpdate {
  return open(envelopeBytes).update;
}

/** Who has signed the update so far, in signing order. */
export function configSigners(envelopeBytes: Uint8Array): ConfigSigner[] {
  return open(envelopeBytes)
    .cue.getSignaturesList()
    .map((s) => {
      const creator = common.SignatureHeader.deserializeBinary(s.getSignatureHeader_asU8()).getCreator_asU8();
      const id = msp.SerializedIdentity.deserializeBinary(creator);
      return { mspId: id.getMspid(), certificatePem: Buffer.from(id.getIdBytes_asU8()).toString('utf8') };
    });
}

/** The envelope with `identity`'s signature over the update appended (`peer channel signconfigtx`). */
export function signConfigUpdate(envelopeBytes: Uint8Array, identity: LocalIdentity): Uint8Array {
  const { payload, cue } = open(envelopeBytes);
  const headerBytes = identity.signatureHeader().serializeBinary();
  const sig = new common.ConfigSignature();
  sig.setSignatureHeader(headerBytes);
  sig.setSignature(identity.sign(Buffer.concat([headerBytes, cue.getConfigUpdate_asU8()])));
  cue.addSignatures(sig);
  payload.setData(cue.serializeBinary());
  const env = new common.Envelope();
  env.setPayload(payload.serializeBinary());
  return env.serializeBinary();
}

/** The envelope as the submitter sends it: re-headed and signed by `identity` (`peer channel update`). */
function submission(envelopeBytes: Uint8Array, identity: LocalIdentity): Uint8Array {
  const { cue, update } = open(envelopeBytes);
  return signedEnvelope(common.HeaderType.CONFIG_UPDATE, update.getChannelId(), identity, cue.serializeBinary())
    .envelope;
}

/**
 * Sends the update to the orderer as `identity` (a member's admin). Resolves when the orderer has
 * accepted it for ordering.
 *
 * @throws GovernanceError REFUSED with the orderer's reason, UNREACHABLE when it cannot be reached.
 */
export async function submitConfigUpdate(
  envelopeBytes: Uint8Array,
  identity: LocalIdentity,
  orderer: OrdererEndpoint,
  deadlineMs = 30_000,
): Promise<void> {
  const clients = new ChannelClients(() => [orderer.tlsRootCertPem]);
  try {
    const res = await clients.broadcast(orderer.address, submission(envelopeBytes, identity), deadlineMs);
    if (res.getStatus() !== common.Status.SUCCESS) {
      const status =
        Object.entries(common.Status).find(([, v]) => v === res.getStatus())?.[0] ?? String(res.getStatus());
      throw new GovernanceError(`got unexpected status: ${status} -- ${res.getInfo()}`, 'REFUSED');
    }
  } catch (err) {
    if (err instanceof GovernanceError) throw err;
    throw new GovernanceError(
      `the orderer at ${orderer.address} cannot be reached: ${err instanceof Error ? err.message : String(err)}`,
      'UNREACHABLE',
      { cause: err },
    );
  } finally {
    clients.close();
  }
}

function seek(identity: LocalIdentity, channelId: string, position: ordererProtos.SeekPosition): Buffer {
  const info = new ordererProtos.SeekInfo();
  info.setStart(position);
  info.setStop(position);
  info.setBehavior(ordererProtos.SeekInfo.SeekBehavior.BLOCK_UNTIL_READY);
  return signedEnvelope(common.HeaderType.DELIVER_SEEK_INFO, channelId, identity, info.serializeBinary()).envelope;
}

async function deliverOne(
  clients: ChannelClients,
  orderer: OrdererEndpoint,
  request: Buffer,
  deadlineMs: number,
): Promise<common.Block> {
  return new Promise((resolve, reject) => {
    const call = clients.deliver(orderer.address);
    let block: common.Block | undefined;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      call.cancel();
      fn();
    };
    const timer = setTimeout(
      () =>
        settle(() =>
          reject(new GovernanceError(`the orderer at ${orderer.address} did not answer in time`, 'UNREACHABLE')),
        ),
      deadlineMs,
    );
    call.on('data', (bytes: Buffer) => {
      const res = ordererProtos.DeliverResponse.deserializeBinary(bytes);
      if (res.hasBlock()) {
        block = res.getBlock();
        return;
      }
      const got = block;
      settle(() => {
        if (res.getStatus() === common.Status.SUCCESS && got) resolve(got);
        else if (res.getStatus() === common.Status.FORBIDDEN)
          reject(
            new GovernanceError(
              'the orderer refuses to deliver the channel to this identity: it is not a member',
              'NOT_A_MEMBER',
            ),
          );
        else reject(new GovernanceError(`the orderer answered ${res.getStatus()} to a block request`, 'REFUSED'));
      });
    });
    // Errors after the answer (the cancel above) are ours; any other one settles the request.
    call.on('error', (err: Error) =>
      settle(() =>
        reject(
          new GovernanceError(`the orderer at ${orderer.address} cannot be reached: ${err.message}`, 'UNREACHABLE', {
            cause: err,
          }),
        ),
      ),
    );
    call.on('end', () =>
      settle(() =>
        reject(
          new GovernanceError(`the orderer at ${orderer.address} closed the stream without an answer`, 'UNREACHABLE'),
        ),
      ),
    );
    call.write(request);
    call.end();
  });
}

/**
 * A block from the orderer, as `identity`: `newest`, a number, or `config` — the newest block's
 * last config block (`peer channel fetch config`).
 *
 * @throws GovernanceError NOT_A_MEMBER when the orderer refuses (the identity's organisation is not in the channel).
 */
export async function fetchBlock(
  identity: LocalIdentity,
  orderer: OrdererEndpoint,
  channelId: string,
  which: 'newest' | 'config' | number,
  deadlineMs = 30_000,
): Promise<common.Block> {
  const clients = new ChannelClients(() => [orderer.tlsRootCertPem]);
  try {
    const at = (n: number) => {
      const s = new ordererProtos.SeekSpecified();
      s.setNumber(n);
      const p = new ordererProtos.SeekPosition();
      p.setSpecified(s);
      return p;
    };
    if (typeof which === 'number')
      return await deliverOne(clients, orderer, seek(identity, channelId, at(which)), deadlineMs);
    const p = new ordererProtos.SeekPosition();
    p.setNewest(new ordererProtos.SeekNewest());
    const newest = await deliverOne(clients, orderer, seek(identity, channelId, p), deadlineMs);
    if (which === 'newest') return newest;
    const index = lastConfigIndex(newest);
    return await deliverOne(clients, orderer, seek(identity, channelId, at(index)), deadlineMs);
  } finally {
    clients.close();
  }
}

export { LocalIdentity };
