import { common, peer } from '@hyperledger/fabric-protos';

/** What of the proposal the transaction repeats: its header bytes and the payload for the transaction. */
export interface ProposalParts {
  channelHeaderBytes: Uint8Array;
  signatureHeaderBytes: Uint8Array;
  /** ChaincodeProposalPayload{input}, without the transient map. */
  payloadForTx: Uint8Array;
}

/**
 * The transaction as the Gateway's Endorse assembles it (`internal/pkg/gateway/submit.go
 * prepareTransaction`): one action carrying the proposal response payload and the endorsements,
 * under the proposal's own header. The returned envelope is unsigned: the client signs its payload.
 */
export function transactionEnvelope(
  p: ProposalParts,
  proposalResponsePayload: Uint8Array,
  endorsements: peer.Endorsement[],
): common.Envelope {
  const endorsed = new peer.ChaincodeEndorsedAction();
  endorsed.setProposalResponsePayload(proposalResponsePayload);
  endorsed.setEndorsementsList(endorsements);
  const cap = new peer.ChaincodeActionPayload();
  cap.setChaincodeProposalPayload(p.payloadForTx);
  cap.setAction(endorsed);
  const action = new peer.TransactionAction();
  action.setHeader(p.signatureHeaderBytes);
  action.setPayload(cap.serializeBinary());
  const tx = new peer.Transaction();
  tx.setActionsList([action]);
  const header = new common.Header();
  header.setChannelHeader(p.channelHeaderBytes);
  header.setSignatureHeader(p.signatureHeaderBytes);
  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(tx.serializeBinary());
  const envelope = new common.Envelope();
  envelope.setPayload(payload.serializeBinary());
  return envelope;
}

/** A chaincode or system response (`peer.Response`). */
export function peerResponse(status: number, message: string, payload?: Uint8Array): peer.Response {
  const r = new peer.Response();
  r.setStatus(status);
  r.setMessage(message);
  if (payload) r.setPayload(payload);
  return r;
}
