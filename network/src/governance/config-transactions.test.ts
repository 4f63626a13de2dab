// The embedded network signs with @phr/ledger-client's lowS; its index also loads fabric-gateway, whose
// ES-module-only @noble/curves this project's jest transform does not compile. Only the signer is needed.
jest.mock('@phr/ledger-client', () => jest.requireActual('@phr/ledger-client/ecdsa-signer'));

import { verify } from 'node:crypto';
import { common, msp } from '@hyperledger/fabric-protos';
import { computeConfigUpdate, configSignaturesAsSignedData, proposeConfigUpdate } from '@phr/embedded-fabric';
import { CHANNEL_ID, TestChannel } from '@phr/embedded-fabric/testing';
import { GovernanceError, withMembersGovernance } from './channel-config';
import { configSigners, envelopeUpdate, signConfigUpdate, updateEnvelope } from './config-transactions';

const open = (envelope: Uint8Array) => {
  const env = common.Envelope.deserializeBinary(envelope);
  const payload = common.Payload.deserializeBinary(env.getPayload_asU8());
  const header = common.ChannelHeader.deserializeBinary(
    payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array(),
  );
  return { env, payload, header, cue: common.ConfigUpdateEnvelope.deserializeBinary(payload.getData_asU8()) };
};

/** An envelope of another type, carrying `data`, as a transaction or a config block's envelope looks. */
function envelopeOfType(type: common.HeaderTypeMap[keyof common.HeaderTypeMap], data: Uint8Array): Uint8Array {
  const ch = new common.ChannelHeader();
  ch.setType(type);
  ch.setChannelId(CHANNEL_ID);
  const header = new common.Header();
  header.setChannelHeader(ch.serializeBinary());
  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(data);
  const env = new common.Envelope();
  env.setPayload(payload.serializeBinary());
  return env.serializeBinary();
}

const governanceError = (fn: () => unknown): GovernanceError => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GovernanceError);
    return err as GovernanceError;
  }
  throw new Error('no error');
};

describe('config update envelopes (updateEnvelope, signConfigUpdate, configSigners, envelopeUpdate)', () => {
  const channel = new TestChannel();
  const [h1, h2, patients] = [channel.hospital1.admin(), channel.hospital2.admin(), channel.patients.admin()];
  afterAll(() => channel.remove());
  const update = () =>
    computeConfigUpdate(
      CHANNEL_ID,
      channel.config.config,
      withMembersGovernance(channel.config.config, ['Hospital1MSP', 'Hospital2MSP']),
    );

  it('wraps the update, unsigned, in a CONFIG_UPDATE envelope of its channel', () => {
    const u = update();
    const before = Date.now();
    const envelope = updateEnvelope(u);
    const { env, header, cue } = open(envelope);
    expect(header.getType()).toBe(common.HeaderType.CONFIG_UPDATE);
    expect(header.getChannelId()).toBe(CHANNEL_ID);
    const ts = header.getTimestamp();
    const ms = (ts?.getSeconds() ?? 0) * 1000 + (ts?.getNanos() ?? 0) / 1e6;
    expect(ms).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(ms).toBeLessThanOrEqual(Date.now() + 1);
    expect(Buffer.from(cue.getConfigUpdate_asU8())).toEqual(Buffer.from(u.serializeBinary()));
    expect(cue.getSignaturesList()).toHaveLength(0);
    expect(env.getSignature_asU8()).toHaveLength(0);
    expect(Buffer.from(envelopeUpdate(envelope).serializeBinary())).toEqual(Buffer.from(u.serializeBinary()));
    expect(configSigners(envelope)).toEqual([]);
  });

  it("appends each admin's signature in signing order, over the signature header and the update", () => {
    const u = update();
    const unsigned = updateEnvelope(u);
    const once = signConfigUpdate(unsigned, h1);
    const twice = signConfigUpdate(once, h2);
    const thrice = signConfigUpdate(twice, patients);

    expect(configSigners(unsigned)).toEqual([]);
    expect(configSigners(once)).toEqual([{ mspId: 'Hospital1MSP', certificatePem: h1.certificatePem }]);
    expect(configSigners(thrice)).toEqual([
      { mspId: 'Hospital1MSP', certificatePem: h1.certificatePem },
      { mspId: 'Hospital2MSP', certificatePem: h2.certificatePem },
      { mspId: 'PatientsMSP', certificatePem: patients.certificatePem },
    ]);
    // the update and the envelope's header are carried unchanged; the earlier signatures too
    expect(Buffer.from(envelopeUpdate(thrice).serializeBinary())).toEqual(Buffer.from(u.serializeBinary()));
    expect(open(thrice).header.serializeBinary()).toEqual(open(unsigned).header.serializeBinary());
    expect(open(thrice).cue.getSignaturesList()[0]?.serializeBinary()).toEqual(
      open(once).cue.getSignaturesList()[0]?.serializeBinary(),
    );

    const { cue } = open(thrice);
    const updateBytes = Buffer.from(cue.getConfigUpdate_asU8());
    const nonces = new Set<string>();
    cue.getSignaturesList().forEach((s, i) => {
      const signer = [h1, h2, patients][i]!;
      const header = common.SignatureHeader.deserializeBinary(s.getSignatureHeader_asU8());
      expect(Buffer.from(header.getCreator_asU8())).toEqual(Buffer.from(signer.serialized));
      expect(msp.SerializedIdentity.deserializeBinary(header.getCreator_asU8()).getMspid()).toBe(signer.mspId);
      expect(header.getNonce_asU8()).toHaveLength(24);
      nonces.add(Buffer.from(header.getNonce_asU8()).toString('hex'));
      const signed = Buffer.concat([Buffer.from(s.getSignatureHeader_asU8()), updateBytes]);
      expect(verify('sha256', signed, signer.certificatePem, Buffer.from(s.getSignature_asU8()))).toBe(true);
      expect(verify('sha256', updateBytes, signer.certificatePem, Buffer.from(s.getSignature_asU8()))).toBe(false);
    });
    expect(nonces.size).toBe(3);
    // as the orderer reads them (protoutil.ConfigUpdateEnvelopeAsSignedData)
    expect(configSignaturesAsSignedData(cue).map((d) => Buffer.from(d.identity))).toEqual(
      [h1, h2, patients].map((s) => Buffer.from(s.serialized)),
    );
  });

  it('gives an envelope the validator accepts once the signatures make the policies', () => {
    let envelope = updateEnvelope(update());
    const refused = () => proposeConfigUpdate(channel.config, open(envelope).cue);
    expect(refused).toThrow(/not satisfied/);
    envelope = signConfigUpdate(envelope, h1);
    expect(refused).toThrow(/Hospital2MSP not satisfied/);
    envelope = signConfigUpdate(envelope, h2);
    expect(proposeConfigUpdate(channel.config, open(envelope).cue).getSequence()).toBe(channel.config.sequence + 1);
  });

  it('refuses what is not a CONFIG_UPDATE envelope', () => {
    const u = update();
    const transaction = envelopeOfType(
      common.HeaderType.ENDORSER_TRANSACTION,
      open(updateEnvelope(u)).payload.getData_asU8(),
    );
    const configBlockTx = channel.genesis.getData()?.getDataList_asU8()[0] as Uint8Array;
    for (const bytes of [transaction, configBlockTx, Buffer.from('not a protobuf at all'), new Uint8Array()]) {
      for (const fn of [() => envelopeUpdate(bytes), () => configSigners(bytes), () => signConfigUpdate(bytes, h1)]) {
        const err = governanceError(fn);
        expect(err.code).toBe('BAD_CONFIG');
        expect(err.message).toBe('the file is not a config update envelope');
      }
    }
  });
});
