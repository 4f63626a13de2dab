import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { common, gateway, peer } from '@hyperledger/fabric-protos';
import { LedgerClient, type PreparedTransaction } from './ledger-client';
import { serializedCreator, transactionIdOf } from './transaction-slot';

const { privateKey, publicKey } = generateKeyPairSync('ec', {
  namedCurve: 'P-256',
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
// fabric-gateway sends the certificate as bytes and never reads it: any PEM-shaped text will do here.
const CERT = '-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n';
const IDENTITY = { mspId: 'Hospital1MSP', certificatePem: CERT, privateKeyPem: privateKey };

/** Every field of a prepared proposal, read with the protos alone (independent of the code under test). */
function decode(p: PreparedTransaction) {
  const proposed = gateway.ProposedTransaction.deserializeBinary(p.proposal);
  const signed = proposed.getProposal();
  if (!signed) throw new Error('no signed proposal');
  const proposal = peer.Proposal.deserializeBinary(signed.getProposalBytes_asU8());
  const header = common.Header.deserializeBinary(proposal.getHeader_asU8());
  const channel = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
  const signature = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
  const payload = peer.ChaincodeProposalPayload.deserializeBinary(proposal.getPayload_asU8());
  const invocation = peer.ChaincodeInvocationSpec.deserializeBinary(payload.getInput_asU8());
  const extension = peer.ChaincodeHeaderExtension.deserializeBinary(channel.getExtension_asU8());
  const nonce = Buffer.from(signature.getNonce_asU8());
  const creator = Buffer.from(signature.getCreator_asU8());
  return {
    proposalBytes: signed.getProposalBytes_asU8(),
    nonce,
    creator,
    txIds: [proposed.getTransactionId(), channel.getTxId(), p.transactionId],
    fields: {
      endorsingOrganizations: proposed.getEndorsingOrganizationsList(),
      channel: { ...channel.toObject(), txId: '', timestamp: undefined, extension: extension.toObject() },
      creator: creator.toString('base64'),
      nonceLength: nonce.length,
      invocation: invocation.toObject(),
      transientMap: payload.getTransientmapMap().getLength(),
      headerKeys: Object.keys(header.toObject()),
      proposal: { extension: proposal.getExtension_asU8().length },
    },
    seconds: channel.getTimestamp()?.getSeconds() ?? 0,
  };
}

describe('transaction slots', () => {
  const client = LedgerClient.connect({
    peer: { address: '127.0.0.1:1', tlsRootCertPem: '' },
    identity: IDENTITY,
    channel: 'phr',
    chaincode: 'phr',
  });
  afterAll(() => client.close());

  it('build the proposal fabric-gateway builds, under the transaction id taken first', async () => {
    const args = ['delivery-0001', '{"a":1}', ''];
    for (const endorsingOrganizations of [undefined, ['Hospital1MSP', 'Hospital2MSP']]) {
      const options = endorsingOrganizations ? { endorsingOrganizations } : {};
      const library = decode(await client.prepare('Commitments', 'RecordDeliveries', args, options));
      const slot = client.newSlot();
      const ours = decode(await client.prepare('Commitments', 'RecordDeliveries', args, { ...options, slot }));
      expect(ours.fields).toEqual(library.fields);
      expect(Math.abs(ours.seconds - Date.now() / 1000)).toBeLessThan(60);
      expect(ours.txIds).toEqual([slot.transactionId, slot.transactionId, slot.transactionId]);
      expect(ours.nonce).toEqual(Buffer.from(slot.nonce));
      // The id is Fabric's: fabric-gateway's own proposal has the id our derivation gives its nonce.
      expect(library.txIds[0]).toBe(transactionIdOf(library.nonce, library.creator));
      expect(ours.creator).toEqual(Buffer.from(serializedCreator(IDENTITY.mspId, CERT)));
      expect(library.fields.invocation.chaincodeSpec?.input?.argsList).toHaveLength(4);
    }
  });

  it('are refused under another identity (a renewed certificate): Fabric would refuse their id', async () => {
    const slot = client.newSlot();
    expect(client.ownsSlot(slot)).toBe(true);
    const renewed = LedgerClient.connect({
      peer: { address: '127.0.0.1:1', tlsRootCertPem: '' },
      identity: { ...IDENTITY, certificatePem: CERT.replace('MIIBtest', 'MIIBrenewed') },
      channel: 'phr',
      chaincode: 'phr',
    });
    try {
      expect(renewed.ownsSlot(slot)).toBe(false);
      await expect(renewed.prepare('Commitments', 'RecordDelivery', ['x'], { slot })).rejects.toThrow(
        /does not derive from this identity/,
      );
      expect(
        renewed.ownsSlot({
          ...slot,
          transactionId: transactionIdOf(
            slot.nonce,
            serializedCreator(IDENTITY.mspId, CERT.replace('MIIBtest', 'MIIBrenewed')),
          ),
        }),
      ).toBe(true);
    } finally {
      renewed.close();
    }
  });

  it('sign the proposal bytes with the identity key, and two slots never share an id', async () => {
    const slot = client.newSlot();
    const prepared = await client.prepare('Commitments', 'RecordDelivery', ['x'], { slot });
    const { proposalBytes } = decode(prepared);
    expect(verify('sha256', proposalBytes, createPublicKey(publicKey), Buffer.from(prepared.signature))).toBe(true);
    expect(client.newSlot().transactionId).not.toBe(slot.transactionId);
    // The same slot prepared again is the same transaction (the outbox may rebuild it after a crash).
    const again = await client.prepare('Commitments', 'RecordDelivery', ['x'], { slot });
    expect(again.transactionId).toBe(prepared.transactionId);
    expect(createHash('sha256').update(slot.nonce).update(decode(again).creator).digest('hex')).toBe(
      slot.transactionId,
    );
  });
});
