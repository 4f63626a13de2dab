import { createHash, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { common, ledger as ledgerProtos, peer } from '@hyperledger/fabric-protos';
import type { ChaincodeInterface, ChaincodeStub } from 'fabric-shim';
import { verifyFabric } from '../crypto/ecdsa';
import { canonicalCertificatePem } from '../crypto/pem';
import { PeerLedger } from '../ledger/peer-ledger';
import { StateLock } from '../ledger/state-lock';
import { serializeIdentity } from '../msp/msp-manager';
import type { LocalIdentity } from '../node/local-identity';
import { startChaincodeServer, shim, type RunningChaincode } from '../testing/chaincode-server';
import { CHANNEL_ID, MAJORITY_OF_HOSPITALS, silentLogger, TestChannel } from '../testing/channel';
import { ccaasPackage, commitGenesis, install, lifecycleWrites } from '../testing/packages';
import { TestCa } from '../testing/pki';
import { proposal, type ProposalOptions } from '../testing/transactions';
import { ChaincodeRegistry } from './chaincode-registry';
import { Endorser } from './endorser';
import { Lifecycle } from './lifecycle';
import { Qscc } from './qscc';

const chaincode: ChaincodeInterface = {
  async Init() {
    return shim.success();
  },
  async Invoke(stub: ChaincodeStub) {
    const { fcn, params } = stub.getFunctionAndParameters();
    switch (fcn) {
      case 'Put':
        await stub.putState(params[0] ?? 'k', Buffer.from(params[1] ?? 'v'));
        stub.setEvent('Put', Buffer.from(params[0] ?? 'k'));
        return shim.success(Buffer.from(`put ${params[0]}`));
      case 'Get':
        return shim.success(await stub.getState(params[0] ?? 'k'));
      case 'NotFound':
        return { status: 404, message: 'NOT_FOUND: nothing here' };
      default:
        return shim.error(`FORBIDDEN: ${fcn}`);
    }
  },
};

describe('Endorser', () => {
  const channel = new TestChannel();
  const h1 = channel.hospital1;
  const client = h1.client();
  const peer1 = h1.peer();
  const peer2 = channel.hospital2.peer();
  let server: RunningChaincode;
  let ledger: PeerLedger;
  const endorsers: Endorser[] = [];
  const registries: ChaincodeRegistry[] = [];

  beforeAll(async () => {
    server = await startChaincodeServer(chaincode, h1.ca);
    const pkg = await ccaasPackage('phr_1.0', {
      address: server.address,
      dial_timeout: '2s',
      tls_required: true,
      root_cert: server.rootCertPem,
    });
    const packageId = `phr_1.0:${createHash('sha256').update(pkg).digest('hex')}`;
    const phr = { name: 'phr', version: '1.0', sequence: 1, endorsementPolicy: MAJORITY_OF_HOSPITALS };
    const uninstalled = { ...phr, name: 'uninstalled', version: '2.0' };
    ledger = new PeerLedger(join(channel.dir, 'ledger.db'));
    commitGenesis(
      ledger,
      channel.genesis,
      lifecycleWrites({
        definitions: [phr, uninstalled],
        approvals: [peer1, peer2].flatMap((p) => [
          { ...phr, mspId: p.mspId, packageId },
          { ...uninstalled, mspId: p.mspId, packageId: 'uninstalled_2.0:none' },
        ]),
      }),
    );
    const lock = new StateLock();
    // Two peers of different organisations on the same state: their answers must be byte-identical.
    for (const [i, identity] of [peer1, peer2].entries()) {
      const lifecycle = join(channel.dir, `lifecycle-${i}`);
      expect(await install(lifecycle, pkg)).toBe(packageId);
      const registry = new ChaincodeRegistry(ledger, identity.mspId, () => channel.config, lifecycle, silentLogger());
      registries.push(registry);
      endorsers.push(
        new Endorser({
          channelId: CHANNEL_ID,
          config: () => channel.config,
          ledger,
          lock,
          registry,
          qscc: new Qscc(CHANNEL_ID, ledger),
          lifecycle: new Lifecycle(() => channel.config, identity.mspId),
          identity,
          log: silentLogger(),
        }),
      );
    }
  });
  afterAll(() => {
    for (const r of registries) r.close();
    server.stop();
    ledger.close();
    channel.remove();
  });

  const endorse = (creator: LocalIdentity, options: ProposalOptions = {}, by = 0) => {
    const p = proposal(creator, options);
    return { p, result: (endorsers[by] as Endorser).processProposal(p.signed) };
  };
  const actionOf = (response: peer.ProposalResponse) => {
    const prp = peer.ProposalResponsePayload.deserializeBinary(response.getPayload_asU8());
    return { prp, action: peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8()) };
  };

  it('simulates and signs the proposal response payload as the default ESCC', async () => {
    const { p, result } = endorse(client, { args: ['Put', 'key1', 'value1'] });
    const { response, error } = await result;
    expect(error).toBeUndefined();
    expect(response.getVersion()).toBe(1);
    expect(response.getResponse()?.getStatus()).toBe(200);
    expect(Buffer.from(response.getResponse()?.getPayload_asU8() ?? []).toString()).toBe('put key1');
    const { prp, action } = actionOf(response);
    expect(Buffer.from(prp.getProposalHash_asU8())).toEqual(
      createHash('sha256').update(p.channelHeaderBytes).update(p.signatureHeaderBytes).update(p.payloadForTx).digest(),
    );
    expect([action.getChaincodeId()?.getName(), action.getChaincodeId()?.getVersion()]).toEqual(['phr', '1.0']);
    expect(action.getResponse()?.getStatus()).toBe(200);
    const event = peer.ChaincodeEvent.deserializeBinary(action.getEvents_asU8());
    expect([
      event.getChaincodeId(),
      event.getTxId(),
      event.getEventName(),
      Buffer.from(event.getPayload_asU8()).toString(),
    ]).toEqual(['phr', p.txId, 'Put', 'key1']);
    const rw = ledgerProtos.rwset.TxReadWriteSet.deserializeBinary(action.getResults_asU8());
    const set = ledgerProtos.rwset.kvrwset.KVRWSet.deserializeBinary(
      rw.getNsRwsetList()[0]?.getRwset_asU8() as Uint8Array,
    );
    expect(set.getWritesList().map((w) => w.getKey())).toEqual(['key1']);
    // The endorser is the peer, its certificate re-encoded; the signature covers PRP ‖ endorser.
    const e = response.getEndorsement() as peer.Endorsement;
    expect(Buffer.from(e.getEndorser_asU8())).toEqual(
      Buffer.from(serializeIdentity('Hospital1MSP', canonicalCertificatePem(peer1.certificatePem))),
    );
    const signed = Buffer.concat([response.getPayload_asU8(), e.getEndorser_asU8()]);
    expect(verifyFabric(new X509Certificate(peer1.certificatePem), signed, e.getSignature_asU8())).toBe(true);
  });

  it('gives byte-identical payloads on peers of different organisations', async () => {
    const p = proposal(client, { args: ['Put', 'same', 'x'] });
    const [a, b] = await Promise.all(endorsers.map((e) => e.processProposal(p.signed)));
    expect(Buffer.from(a?.response.getPayload_asU8() ?? [])).toEqual(Buffer.from(b?.response.getPayload_asU8() ?? []));
    expect(a?.response.getEndorsement()?.getEndorser_asU8()).not.toEqual(
      b?.response.getEndorsement()?.getEndorser_asU8(),
    );
  });

  it('answers a chaincode error (500) with the payload but no endorsement, and 4xx with the response only', async () => {
    const failed = await endorse(client, { args: ['Nope'] }).result;
    expect(failed.error).toBeUndefined();
    expect(failed.response.getResponse()?.getStatus()).toBe(500);
    expect(failed.response.getResponse()?.getMessage()).toBe('FORBIDDEN: Nope');
    expect(failed.response.getPayload_asU8().length).toBeGreaterThan(0);
    expect(actionOf(failed.response).action.getResponse()?.getMessage()).toBe('FORBIDDEN: Nope');
    expect(failed.response.getEndorsement()).toBeUndefined();
    const notFound = await endorse(client, { args: ['NotFound'] }).result;
    expect(notFound.response.getResponse()?.getStatus()).toBe(404);
    expect(notFound.response.getPayload_asU8()).toHaveLength(0);
    expect(notFound.response.getEndorsement()).toBeUndefined();
  });

  it('refuses before simulating: channel, creator, signature, transaction id, Writers', async () => {
    const refusal = async (p: ReturnType<typeof proposal>, by = 0) => {
      const r = await (endorsers[by] as Endorser).processProposal(p.signed);
      expect(r.response.getResponse()?.getStatus()).toBe(500);
      expect(r.response.getEndorsement()).toBeUndefined();
      return r.error;
    };
    expect(await refusal(proposal(client, { channelId: 'other' }))).toBe("channel 'other' not found");
    expect(await refusal(proposal(TestCa.root('ca.hospital1').identity('Hospital1MSP', 'client')))).toMatch(
      /access denied: channel \[phr\] creator org unknown, creator is malformed/,
    );
    const forged = proposal(client);
    forged.signed.setSignature(h1.client().sign(forged.signed.getProposalBytes_asU8()));
    expect(await refusal(forged)).toBe('access denied: channel [phr] creator org [Hospital1MSP]');
    const txId = 'a'.repeat(64);
    expect(await refusal(proposal(client, { txId }))).toMatch(
      new RegExp(`^incorrectly formed txid: computed \\[[0-9a-f]{64}\\] but got \\[${txId}\\]$`),
    );
    expect(await refusal(proposal(h1.peer(), { args: ['Put', 'k', 'v'] }))).toMatch(
      /access denied for \[peer\/Propose\]/,
    );
    expect(await refusal(proposal(channel.patients.peer()))).toMatch(/Writers/);
  });

  it('refuses a transaction id already in the ledger, valid or not', async () => {
    const p = proposal(client, { args: ['Put', 'dup', 'x'] });
    ledger.commit({
      number: ledger.height(),
      headerHash: Buffer.from('h'),
      bytes: Buffer.from('b'),
      txIds: [{ txId: p.txId, txNum: 0, code: peer.TxValidationCode.MVCC_READ_CONFLICT }],
      writes: [],
    });
    const r = await (endorsers[0] as Endorser).processProposal(p.signed);
    const creatorHex = Buffer.from(client.serialized).toString('hex');
    expect(r.error).toBe(`duplicate transaction found [${p.txId}]. Creator [${creatorHex}]`);
  });

  it('answers 500 for a chaincode that is not defined or not installed', async () => {
    const undefinedCc = await endorse(client, { chaincode: 'ghost' }).result;
    expect(undefinedCc.error).toBeUndefined();
    expect(undefinedCc.response.getResponse()?.getStatus()).toBe(500);
    expect(undefinedCc.response.getResponse()?.getMessage()).toMatch(/chaincode ghost has been successfully defined/);
    const uninstalled = await endorse(client, { chaincode: 'uninstalled' }).result;
    expect(uninstalled.response.getResponse()?.getMessage()).toBe(
      "chaincode definition for 'uninstalled' exists, but chaincode is not installed",
    );
  });

  it('serves qscc GetChainInfo to channel readers only', async () => {
    const r = await endorse(peer2, { chaincode: 'qscc', args: ['GetChainInfo', CHANNEL_ID] }).result;
    expect(r.error).toBeUndefined();
    expect(r.response.getResponse()?.getStatus()).toBe(200);
    const info = common.BlockchainInfo.deserializeBinary(r.response.getResponse()?.getPayload_asU8() as Uint8Array);
    expect(info.getHeight()).toBe(ledger.height());
    expect(actionOf(r.response).action.getChaincodeId()?.getVersion()).toBe('syscc');
    const refused = await endorse(channel.patients.peer(), { chaincode: 'qscc', args: ['GetChainInfo', CHANNEL_ID] })
      .result;
    expect(refused.error).toMatch(/access denied for \[qscc\]/);
  });
});
