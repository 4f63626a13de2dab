import { createHash, createPublicKey } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { connect, signers, type Gateway } from '@hyperledger/fabric-gateway';
import { common, gateway as gw, msp as mspProtos, peer } from '@hyperledger/fabric-protos';
import { signFabric, verifyFabric } from '../crypto/ecdsa';
import { TestCa } from '../testing/pki';
import { computeTxId, ProposalError, proposalHash, proposalPayloadForTx, unpackProposal } from './proposal';

/** Proposals built by fabric-gateway itself, as the project's LedgerClient builds them. */
describe('unpackProposal', () => {
  const ca = TestCa.root('ca.hospital1');
  const user = ca.issue({ cn: 'user', ous: ['client'] });
  // Never dialled: building and signing a proposal needs no connection.
  const client = new grpc.Client('127.0.0.1:1', grpc.credentials.createInsecure());
  let gateway: Gateway;
  beforeAll(() => {
    gateway = connect({
      client,
      identity: { mspId: 'Hospital1MSP', credentials: Buffer.from(user.certificatePem) },
      signer: signers.newPrivateKeySigner(user.key),
    });
  });
  afterAll(() => {
    gateway.close();
    client.close();
  });

  /** As LedgerClient.prepare and submitPrepared: sign the digest, then rebuild from bytes and signature. */
  const signedProposal = (transientData?: Record<string, string>) => {
    const contract = gateway.getNetwork('phr').getContract('phr', 'Commitments');
    const unsigned = contract.newProposal('RecordDelivery', {
      arguments: ['d1', 'ü'],
      ...(transientData ? { transientData } : {}),
    });
    const bytes = gw.ProposedTransaction.deserializeBinary(unsigned.getBytes()).getProposal()?.getProposalBytes_asU8();
    expect(Buffer.from(unsigned.getDigest())).toEqual(
      createHash('sha256')
        .update(bytes as Uint8Array)
        .digest(),
    );
    const signature = signFabric(user.key, bytes as Uint8Array);
    const p = gateway.newSignedProposal(unsigned.getBytes(), signature);
    const proposed = gw.ProposedTransaction.deserializeBinary(p.getBytes());
    return { p, signed: proposed.getProposal() as peer.SignedProposal };
  };

  it('takes apart what fabric-gateway sends, keeping the exact bytes', () => {
    const { p, signed } = signedProposal();
    const u = unpackProposal(signed);
    expect(u.txId).toBe(p.getTransactionId());
    expect(u.channelId).toBe('phr');
    expect(u.chaincodeName).toBe('phr');
    expect(u.args.map((a) => Buffer.from(a).toString())).toEqual(['Commitments:RecordDelivery', 'd1', 'ü']);
    expect(u.channelHeader.getType()).toBe(common.HeaderType.ENDORSER_TRANSACTION);
    expect(Buffer.from(u.proposalBytes)).toEqual(Buffer.from(signed.getProposalBytes_asU8()));
    const creator = mspProtos.SerializedIdentity.deserializeBinary(u.signatureHeader.getCreator_asU8());
    expect(creator.getMspid()).toBe('Hospital1MSP');
    expect(Buffer.from(creator.getIdBytes_asU8()).toString()).toBe(user.certificatePem);
    expect(verifyFabric(ca.issue({ cn: 'x' }).key, u.proposalBytes, u.signature)).toBe(false);
    expect(verifyFabric(createPublicKey(user.key), u.proposalBytes, u.signature)).toBe(true);
    expect(peer.ChaincodeInput.deserializeBinary(u.inputBytes).getArgsList_asU8().length).toBe(3);
  });

  it("computes Fabric's transaction id as fabric-gateway does: SHA-256(nonce ‖ creator)", () => {
    const { p, signed } = signedProposal();
    const u = unpackProposal(signed);
    expect(computeTxId(u.signatureHeader.getNonce_asU8(), u.signatureHeader.getCreator_asU8())).toBe(
      p.getTransactionId(),
    );
    expect(u.signatureHeader.getNonce_asU8()).toHaveLength(24);
  });

  it('hashes the proposal without its transient data', () => {
    const plain = unpackProposal(signedProposal().signed);
    const withTransient = unpackProposal(signedProposal({ secret: 'not on the ledger' }).signed);
    const forTx = proposalPayloadForTx(withTransient);
    const cpp = peer.ChaincodeProposalPayload.deserializeBinary(forTx);
    expect(cpp.getTransientmapMap().getLength()).toBe(0);
    expect(Buffer.from(cpp.getInput_asU8())).toEqual(Buffer.from(withTransient.invocationSpecBytes));
    expect(
      peer.ChaincodeProposalPayload.deserializeBinary(withTransient.proposal.getPayload_asU8())
        .getTransientmapMap()
        .getLength(),
    ).toBe(1);
    expect(Buffer.from(proposalPayloadForTx(plain))).toEqual(Buffer.from(plain.proposal.getPayload_asU8()));
    const expected = createHash('sha256')
      .update(withTransient.channelHeaderBytes)
      .update(withTransient.signatureHeaderBytes)
      .update(forTx)
      .digest();
    expect(proposalHash(withTransient.channelHeaderBytes, withTransient.signatureHeaderBytes, forTx)).toEqual(expected);
  });

  it('refuses proposals missing what the endorser needs', () => {
    const refuse = (sp: peer.SignedProposal, message: RegExp) => {
      expect(() => unpackProposal(sp)).toThrow(ProposalError);
      expect(() => unpackProposal(sp)).toThrow(message);
    };
    refuse(new peer.SignedProposal(), /signed proposal is required/);
    const garbage = new peer.SignedProposal();
    garbage.setProposalBytes(Buffer.from([0x0a, 0x05, 0x01]));
    refuse(garbage, /could not unpack/);

    const { signed } = signedProposal();
    const prop = peer.Proposal.deserializeBinary(signed.getProposalBytes_asU8());
    const header = common.Header.deserializeBinary(prop.getHeader_asU8());
    const ch = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
    ch.setExtension$(new Uint8Array(0));
    header.setChannelHeader(ch.serializeBinary());
    const noExtension = peer.Proposal.deserializeBinary(prop.serializeBinary());
    noExtension.setHeader(header.serializeBinary());
    const sp1 = new peer.SignedProposal();
    sp1.setProposalBytes(noExtension.serializeBinary());
    refuse(sp1, /ChaincodeId is nil/);

    const noSpec = peer.Proposal.deserializeBinary(prop.serializeBinary());
    const cpp = new peer.ChaincodeProposalPayload();
    cpp.setInput(new peer.ChaincodeInvocationSpec().serializeBinary());
    noSpec.setPayload(cpp.serializeBinary());
    const sp2 = new peer.SignedProposal();
    sp2.setProposalBytes(noSpec.serializeBinary());
    refuse(sp2, /did not contain chaincode spec/);
  });
});
