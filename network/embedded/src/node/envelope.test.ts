import { common } from '@hyperledger/fabric-protos';
import { EnvelopeError, parseEnvelope } from './envelope';

function envelope(payload?: common.Payload | Uint8Array): Uint8Array {
  const env = new common.Envelope();
  if (payload) env.setPayload(payload instanceof common.Payload ? payload.serializeBinary() : payload);
  env.setSignature(Buffer.from('sig'));
  return env.serializeBinary();
}

function codeOf(bytes: Uint8Array): string {
  try {
    parseEnvelope(bytes);
    return 'parsed';
  } catch (err) {
    return err instanceof EnvelopeError ? err.code : String(err);
  }
}

describe('parseEnvelope', () => {
  it('keeps the exact bytes that signatures and hashes cover', () => {
    const ch = new common.ChannelHeader();
    ch.setChannelId('phr');
    ch.setTxId('tx1');
    const sh = new common.SignatureHeader();
    sh.setNonce(Buffer.from('nonce'));
    const header = new common.Header();
    header.setChannelHeader(ch.serializeBinary());
    header.setSignatureHeader(sh.serializeBinary());
    const payload = new common.Payload();
    payload.setHeader(header);
    payload.setData(Buffer.from('data'));
    const bytes = envelope(payload);
    const parsed = parseEnvelope(bytes);
    expect(parsed.bytes).toBe(bytes);
    expect(Buffer.from(parsed.payloadBytes)).toEqual(Buffer.from(payload.serializeBinary()));
    expect(Buffer.from(parsed.channelHeaderBytes)).toEqual(Buffer.from(ch.serializeBinary()));
    expect(Buffer.from(parsed.signatureHeaderBytes)).toEqual(Buffer.from(sh.serializeBinary()));
    expect(parsed.channelHeader.getTxId()).toBe('tx1');
    expect(Buffer.from(parsed.signatureHeader.getNonce_asU8()).toString()).toBe('nonce');
    expect(Buffer.from(parsed.envelope.getSignature_asU8()).toString()).toBe('sig');
  });

  it('names the first part that is missing or does not parse', () => {
    expect(codeOf(Buffer.from([0x0a, 0x05, 0x01]))).toBe('NIL_ENVELOPE');
    expect(codeOf(envelope())).toBe('BAD_PAYLOAD');
    expect(codeOf(envelope(Buffer.from([0x0a, 0x05, 0x01])))).toBe('BAD_PAYLOAD');
    const headerless = new common.Payload();
    headerless.setData(Buffer.from('x'));
    expect(codeOf(envelope(headerless))).toBe('BAD_COMMON_HEADER');
    const header = new common.Header();
    header.setChannelHeader(Buffer.from([0x0a, 0x05, 0x01]));
    const badHeader = new common.Payload();
    badHeader.setHeader(header);
    expect(codeOf(envelope(badHeader))).toBe('BAD_COMMON_HEADER');
  });
});
