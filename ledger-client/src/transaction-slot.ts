import { createHash, randomBytes } from 'node:crypto';
import { common, gateway, msp, peer } from '@hyperledger/fabric-protos';
import { Timestamp } from 'google-protobuf/google/protobuf/timestamp_pb';

/**
 * A transaction id taken before its content is known: Fabric derives the id from the nonce and
 * the creator alone (SHA-256 of nonce ‖ serialized identity), so whatever proposal is built later
 * with this nonce carries this id. The gateway names the id in a receipt at once and fills the
 * transaction with the deliveries that queue up until it is sent.
 */
export interface TransactionSlot {
  transactionId: string;
  /** 24 random bytes, as fabric-gateway draws them. */
  nonce: Uint8Array;
}

/** The serialized identity (`msp.SerializedIdentity`) Fabric calls the creator of a transaction. */
export function serializedCreator(mspId: string, certificatePem: string): Uint8Array {
  const identity = new msp.SerializedIdentity();
  identity.setMspid(mspId);
  identity.setIdBytes(Buffer.from(certificatePem));
  return identity.serializeBinary();
}

/** Fabric's transaction id of a nonce and creator. */
export function transactionIdOf(nonce: Uint8Array, creator: Uint8Array): string {
  return createHash('sha256').update(nonce).update(creator).digest('hex');
}

export function newTransactionSlot(creator: Uint8Array): TransactionSlot {
  const nonce = randomBytes(24);
  return { transactionId: transactionIdOf(nonce, creator), nonce };
}

export interface SlotProposalInput {
  slot: TransactionSlot;
  creator: Uint8Array;
  channel: string;
  chaincode: string;
  /** `Contract:Function`, as fabric-gateway names a transaction of a named contract. */
  transactionName: string;
  args: readonly string[];
  endorsingOrganizations?: readonly string[];
}

/**
 * The unsigned `gateway.ProposedTransaction` for a slot, built field for field as fabric-gateway's
 * own ProposalBuilder builds it (a test compares the two), which offers no way to choose the nonce.
 * Returns its bytes, for `Gateway.newSignedProposal`, and the proposal bytes that are signed.
 */
export function buildSlotProposal(input: SlotProposalInput): { bytes: Uint8Array; signed: Uint8Array } {
  const chaincodeId = new peer.ChaincodeID();
  chaincodeId.setName(input.chaincode);

  const extension = new peer.ChaincodeHeaderExtension();
  extension.setChaincodeId(chaincodeId);
  const channelHeader = new common.ChannelHeader();
  channelHeader.setType(common.HeaderType.ENDORSER_TRANSACTION);
  channelHeader.setTxId(input.slot.transactionId);
  channelHeader.setTimestamp(Timestamp.fromDate(new Date()));
  channelHeader.setChannelId(input.channel);
  channelHeader.setExtension$(extension.serializeBinary());
  channelHeader.setEpoch(0);
  const signatureHeader = new common.SignatureHeader();
  signatureHeader.setCreator(input.creator);
  signatureHeader.setNonce(input.slot.nonce);
  const header = new common.Header();
  header.setChannelHeader(channelHeader.serializeBinary());
  header.setSignatureHeader(signatureHeader.serializeBinary());

  const chaincodeInput = new peer.ChaincodeInput();
  chaincodeInput.setArgsList([input.transactionName, ...input.args].map((a) => Buffer.from(a)));
  const spec = new peer.ChaincodeSpec();
  spec.setType(peer.ChaincodeSpec.Type.NODE);
  spec.setChaincodeId(chaincodeId);
  spec.setInput(chaincodeInput);
  const invocation = new peer.ChaincodeInvocationSpec();
  invocation.setChaincodeSpec(spec);
  const payload = new peer.ChaincodeProposalPayload();
  payload.setInput(invocation.serializeBinary());

  const proposal = new peer.Proposal();
  proposal.setHeader(header.serializeBinary());
  proposal.setPayload(payload.serializeBinary());
  const signed = proposal.serializeBinary();
  const signedProposal = new peer.SignedProposal();
  signedProposal.setProposalBytes(signed);
  const proposed = new gateway.ProposedTransaction();
  proposed.setProposal(signedProposal);
  proposed.setTransactionId(input.slot.transactionId);
  if (input.endorsingOrganizations) proposed.setEndorsingOrganizationsList([...input.endorsingOrganizations]);
  return { bytes: proposed.serializeBinary(), signed };
}
