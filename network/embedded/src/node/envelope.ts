import { common } from '@hyperledger/fabric-protos';
import { Timestamp } from 'google-protobuf/google/protobuf/timestamp_pb';
import { computeTxId } from '../peer/proposal';
import type { LocalIdentity } from './local-identity';

/** An envelope taken apart once, keeping the exact bytes that hashes and signatures cover. */
export interface ParsedEnvelope {
  bytes: Uint8Array;
  envelope: common.Envelope;
  payloadBytes: Uint8Array;
  payload: common.Payload;
  channelHeaderBytes: Uint8Array;
  channelHeader: common.ChannelHeader;
  signatureHeaderBytes: Uint8Array;
  signatureHeader: common.SignatureHeader;
}

export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
  constructor(
    /** Which part is missing or malformed, as Fabric's validation codes distinguish them. */
    readonly code: 'NIL_ENVELOPE' | 'BAD_PAYLOAD' | 'BAD_COMMON_HEADER',
    message: string,
  ) {
    super(message);
  }
}

/** @throws EnvelopeError naming the first part that is missing or does not parse. */
export function parseEnvelope(bytes: Uint8Array): ParsedEnvelope {
  let envelope: common.Envelope;
  try {
    envelope = common.Envelope.deserializeBinary(bytes);
  } catch {
    throw new EnvelopeError('NIL_ENVELOPE', 'the envelope does not parse');
  }
  const payloadBytes = envelope.getPayload_asU8();
  if (payloadBytes.length === 0) throw new EnvelopeError('BAD_PAYLOAD', 'the envelope has no payload');
  let payload: common.Payload;
  try {
    payload = common.Payload.deserializeBinary(payloadBytes);
  } catch {
    throw new EnvelopeError('BAD_PAYLOAD', 'the payload does not parse');
  }
  const header = payload.getHeader();
  if (!header) throw new EnvelopeError('BAD_COMMON_HEADER', 'the payload has no header');
  const channelHeaderBytes = header.getChannelHeader_asU8();
  const signatureHeaderBytes = header.getSignatureHeader_asU8();
  let channelHeader: common.ChannelHeader;
  let signatureHeader: common.SignatureHeader;
  try {
    channelHeader = common.ChannelHeader.deserializeBinary(channelHeaderBytes);
    signatureHeader = common.SignatureHeader.deserializeBinary(signatureHeaderBytes);
  } catch {
    throw new EnvelopeError('BAD_COMMON_HEADER', 'the channel or signature header does not parse');
  }
  return {
    bytes,
    envelope,
    payloadBytes,
    payload,
    channelHeaderBytes,
    channelHeader,
    signatureHeaderBytes,
    signatureHeader,
  };
}

/**
 * An envelope signed as Fabric's clients and orderers sign them (protoutil.CreateSignedEnvelope):
 * a channel header of `type` stamped now, `identity`'s signature header, `data`, and `identity`'s
 * signature over the payload. With `txId`, the channel header names the transaction id derived from
 * that signature header (transactions and config blocks carry one; Deliver requests and config
 * updates as `peer channel update` sends them do not).
 */
export function signedEnvelope(
  type: common.HeaderTypeMap[keyof common.HeaderTypeMap],
  channelId: string,
  identity: LocalIdentity,
  data: Uint8Array,
  options: { txId?: boolean; version?: number } = {},
): { envelope: Buffer; txId: string } {
  const signatureHeader = identity.signatureHeader();
  const channelHeader = new common.ChannelHeader();
  channelHeader.setType(type);
  if (options.version !== undefined) channelHeader.setVersion(options.version);
  channelHeader.setChannelId(channelId);
  channelHeader.setTimestamp(Timestamp.fromDate(new Date()));
  const txId = options.txId ? computeTxId(signatureHeader.getNonce_asU8(), signatureHeader.getCreator_asU8()) : '';
  channelHeader.setTxId(txId);
  const header = new common.Header();
  header.setChannelHeader(channelHeader.serializeBinary());
  header.setSignatureHeader(signatureHeader.serializeBinary());
  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(data);
  const payloadBytes = payload.serializeBinary();
  const envelope = new common.Envelope();
  envelope.setPayload(payloadBytes);
  envelope.setSignature(identity.sign(payloadBytes));
  return { envelope: Buffer.from(envelope.serializeBinary()), txId };
}
