import { createHash } from 'node:crypto';
import { common, peer } from '@hyperledger/fabric-protos';

/** A signed proposal taken apart, keeping the exact bytes that hashes and signatures cover. */
export interface UnpackedProposal {
  signedProposal: peer.SignedProposal;
  proposalBytes: Uint8Array;
  signature: Uint8Array;
  proposal: peer.Proposal;
  header: common.Header;
  channelHeaderBytes: Uint8Array;
  channelHeader: common.ChannelHeader;
  signatureHeaderBytes: Uint8Array;
  signatureHeader: common.SignatureHeader;
  chaincodeName: string;
  /** ChaincodeProposalPayload.input: the ChaincodeInvocationSpec bytes. */
  invocationSpecBytes: Uint8Array;
  /** ChaincodeInput bytes: what the chaincode receives in TRANSACTION. */
  inputBytes: Uint8Array;
  args: Uint8Array[];
  txId: string;
  channelId: string;
}

export class ProposalError extends Error {
  override readonly name = 'ProposalError';
  readonly code = 'PROPOSAL_INVALID';
}

/**
 * Unpacks a SignedProposal as the endorser does (`core/endorser/msgvalidation.go UnpackProposal`).
 * @throws ProposalError when a required part is missing or does not parse.
 */
export function unpackProposal(signedProposal: peer.SignedProposal): UnpackedProposal {
  const proposalBytes = signedProposal.getProposalBytes_asU8();
  if (proposalBytes.length === 0) throw new ProposalError('a signed proposal is required');
  try {
    const proposal = peer.Proposal.deserializeBinary(proposalBytes);
    const header = common.Header.deserializeBinary(proposal.getHeader_asU8());
    const channelHeaderBytes = header.getChannelHeader_asU8();
    const signatureHeaderBytes = header.getSignatureHeader_asU8();
    const channelHeader = common.ChannelHeader.deserializeBinary(channelHeaderBytes);
    const signatureHeader = common.SignatureHeader.deserializeBinary(signatureHeaderBytes);
    const ext = peer.ChaincodeHeaderExtension.deserializeBinary(channelHeader.getExtension_asU8());
    const chaincodeName = ext.getChaincodeId()?.getName() ?? '';
    if (!chaincodeName) throw new ProposalError('ChaincodeHeaderExtension.ChaincodeId is nil');
    const cpp = peer.ChaincodeProposalPayload.deserializeBinary(proposal.getPayload_asU8());
    const invocationSpecBytes = cpp.getInput_asU8();
    const spec = peer.ChaincodeInvocationSpec.deserializeBinary(invocationSpecBytes).getChaincodeSpec();
    const input = spec?.getInput();
    if (!spec || !input) throw new ProposalError('chaincode invocation spec did not contain chaincode spec');
    return {
      signedProposal,
      proposalBytes,
      signature: signedProposal.getSignature_asU8(),
      proposal,
      header,
      channelHeaderBytes,
      channelHeader,
      signatureHeaderBytes,
      signatureHeader,
      chaincodeName,
      invocationSpecBytes,
      inputBytes: input.serializeBinary(),
      args: input.getArgsList_asU8(),
      txId: channelHeader.getTxId(),
      channelId: channelHeader.getChannelId(),
    };
  } catch (err) {
    if (err instanceof ProposalError) throw err;
    throw new ProposalError(`could not unpack the proposal: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** ChaincodeProposalPayload{input} without the transient map: what the transaction carries and hashes. */
export function proposalPayloadForTx(p: UnpackedProposal): Uint8Array {
  const cpp = new peer.ChaincodeProposalPayload();
  cpp.setInput(p.invocationSpecBytes);
  return cpp.serializeBinary();
}

/** SHA-256(channel header ‖ signature header ‖ proposal payload for the transaction). */
export function proposalHash(channelHeader: Uint8Array, signatureHeader: Uint8Array, payloadForTx: Uint8Array): Buffer {
  return createHash('sha256').update(channelHeader).update(signatureHeader).update(payloadForTx).digest();
}

/** Fabric's transaction id: hex(SHA-256(nonce ‖ creator)) (`protoutil.ComputeTxID`). */
export function computeTxId(nonce: Uint8Array, creator: Uint8Array): string {
  return createHash('sha256').update(nonce).update(creator).digest('hex');
}
