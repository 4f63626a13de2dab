/**
 * What the blocks of the benchmark's own transactions are made of: the bytes every peer (and, but
 * for the peer's validation flags and commit hash, every orderer) keeps, taken apart field by field
 * with fabric-protos. Pure: blocks in (as qscc GetBlockByNumber returns them), byte counts out.
 */
import { common, msp, peer } from '@hyperledger/fabric-protos';

/** The parts of one transaction envelope. They add up to the envelope's size exactly. */
export interface TransactionParts {
  /** The client's certificate (PEM), in the payload's signature header and again in the action's. */
  creatorCertificates: number;
  /** The endorsing peers' certificates (PEM), one per endorsement. */
  endorserCertificates: number;
  /** The endorsing peers' signatures over the proposal response. */
  endorsementSignatures: number;
  /** The client's signature over the payload. */
  clientSignature: number;
  /** The chaincode function name and its arguments, as the proposal carried them. */
  proposalArgs: number;
  /** The read-write set the endorsers simulated (keys read with versions, keys and values written). */
  readWriteSet: number;
  /** The chaincode event (chaincode id, tx id, name, payload). */
  chaincodeEvent: number;
  /** The transaction function's return value. */
  responsePayload: number;
  /** The channel header (type, timestamp, channel, tx id, chaincode), nonces, MSP ids, proposal hash. */
  headers: number;
  /** Protobuf tags and lengths, chaincode ids and versions, the response status: what is left. */
  protobufOverhead: number;
}

export const TRANSACTION_PARTS: readonly (keyof TransactionParts)[] = [
  'creatorCertificates',
  'endorserCertificates',
  'endorsementSignatures',
  'clientSignature',
  'proposalArgs',
  'readWriteSet',
  'chaincodeEvent',
  'responsePayload',
  'headers',
  'protobufOverhead',
];

/** A block's bytes besides its transactions. They add up to the block's size minus its envelopes. */
export interface BlockOverheadParts {
  /** number, previous hash, data hash */
  header: number;
  /** The certificates of the orderers that signed the block (none under BFT's identifier headers). */
  ordererCertificates: number;
  ordererSignatures: number;
  /** One validation code per transaction, written by the peer. */
  transactionsFilter: number;
  /** Last config, commit hash, nonces, protobuf tags and lengths. */
  other: number;
}

export interface TransactionBytes {
  txId: string;
  bytes: number;
  parts: TransactionParts;
  /** Certificates found in the signature headers and endorsements. */
  creatorCertificateCopies: number;
  endorsements: number;
}

export interface BlockBytes {
  number: number;
  bytes: number;
  transactions: TransactionBytes[];
  overhead: BlockOverheadParts & { total: number };
}

const zeroParts = (): TransactionParts => ({
  creatorCertificates: 0,
  endorserCertificates: 0,
  endorsementSignatures: 0,
  clientSignature: 0,
  proposalArgs: 0,
  readWriteSet: 0,
  chaincodeEvent: 0,
  responsePayload: 0,
  headers: 0,
  protobufOverhead: 0,
});

function identity(serialized: Uint8Array): { mspId: number; cert: number } {
  const id = msp.SerializedIdentity.deserializeBinary(serialized);
  return { mspId: Buffer.byteLength(id.getMspid()), cert: id.getIdBytes_asU8().length };
}

/** One endorser transaction envelope, taken apart. */
export function transactionBytes(envelopeBytes: Uint8Array): TransactionBytes {
  const parts = zeroParts();
  let creatorCopies = 0;
  let endorsements = 0;
  const envelope = common.Envelope.deserializeBinary(envelopeBytes);
  parts.clientSignature = envelope.getSignature_asU8().length;
  const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
  const header = payload.getHeader();
  const channelHeaderBytes = header?.getChannelHeader_asU8() ?? new Uint8Array();
  const channelHeader = common.ChannelHeader.deserializeBinary(channelHeaderBytes);
  parts.headers += channelHeaderBytes.length;

  const signatureHeader = (bytes: Uint8Array) => {
    const sh = common.SignatureHeader.deserializeBinary(bytes);
    const creator = identity(sh.getCreator_asU8());
    parts.creatorCertificates += creator.cert;
    parts.headers += creator.mspId + sh.getNonce_asU8().length;
    creatorCopies++;
  };
  signatureHeader(header?.getSignatureHeader_asU8() ?? new Uint8Array());

  const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
  for (const action of tx.getActionsList()) {
    signatureHeader(action.getHeader_asU8());
    const cap = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
    const cpp = peer.ChaincodeProposalPayload.deserializeBinary(cap.getChaincodeProposalPayload_asU8());
    const spec = peer.ChaincodeInvocationSpec.deserializeBinary(cpp.getInput_asU8()).getChaincodeSpec();
    for (const arg of spec?.getInput()?.getArgsList_asU8() ?? []) parts.proposalArgs += arg.length;
    const endorsed = cap.getAction();
    for (const e of endorsed?.getEndorsementsList() ?? []) {
      const endorser = identity(e.getEndorser_asU8());
      parts.endorserCertificates += endorser.cert;
      parts.headers += endorser.mspId;
      parts.endorsementSignatures += e.getSignature_asU8().length;
      endorsements++;
    }
    const prp = peer.ProposalResponsePayload.deserializeBinary(
      endorsed?.getProposalResponsePayload_asU8() ?? new Uint8Array(),
    );
    parts.headers += prp.getProposalHash_asU8().length;
    const ca = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
    parts.readWriteSet += ca.getResults_asU8().length;
    parts.chaincodeEvent += ca.getEvents_asU8().length;
    parts.responsePayload += ca.getResponse()?.getPayload_asU8().length ?? 0;
  }
  const counted = TRANSACTION_PARTS.reduce((n, k) => n + parts[k], 0);
  parts.protobufOverhead = envelopeBytes.length - counted;
  return {
    txId: channelHeader.getTxId(),
    bytes: envelopeBytes.length,
    parts,
    creatorCertificateCopies: creatorCopies,
    endorsements,
  };
}

/** A block as qscc returns it, taken apart: its transactions and what the block adds around them. */
export function blockBytes(bytes: Uint8Array): BlockBytes {
  const block = common.Block.deserializeBinary(bytes);
  const envelopes = block.getData()?.getDataList_asU8() ?? [];
  const transactions = envelopes.map((e) => transactionBytes(e));
  const total = bytes.length - envelopes.reduce((n, e) => n + e.length, 0);
  const overhead: BlockOverheadParts & { total: number } = {
    total,
    header: block.getHeader()?.serializeBinary().length ?? 0,
    ordererCertificates: 0,
    ordererSignatures: 0,
    transactionsFilter: 0,
    other: 0,
  };
  const metadata = block.getMetadata()?.getMetadataList_asU8() ?? [];
  const signatures = metadata[common.BlockMetadataIndex.SIGNATURES];
  if (signatures && signatures.length > 0) {
    for (const s of common.Metadata.deserializeBinary(signatures).getSignaturesList()) {
      overhead.ordererSignatures += s.getSignature_asU8().length;
      const sh = s.getSignatureHeader_asU8();
      if (sh.length > 0) {
        overhead.ordererCertificates += identity(common.SignatureHeader.deserializeBinary(sh).getCreator_asU8()).cert;
      }
    }
  }
  overhead.transactionsFilter = metadata[common.BlockMetadataIndex.TRANSACTIONS_FILTER]?.length ?? 0;
  overhead.other =
    total - overhead.header - overhead.ordererCertificates - overhead.ordererSignatures - overhead.transactionsFilter;
  return { number: block.getHeader()?.getNumber() ?? -1, bytes: bytes.length, transactions, overhead };
}

export interface BlockBytesSummary {
  /** Blocks that hold at least one of the transactions counted. */
  blocks: number;
  transactions: number;
  /** Deliveries those transactions record (a transaction may record several). */
  deliveries: number;
  /** Other transactions in those blocks (not counted, but sharing the blocks' overhead). */
  otherTransactions: number;
  resources: number;
  /** Total bytes of the counted transactions, each block's overhead shared by its transactions. */
  totalBytes: number;
  perDelivery: number;
  perResource: number;
  /** Mean bytes of the counted transactions per delivery they record. */
  transactionPerDelivery: TransactionParts & { total: number };
  /** Block header and metadata, each block's shared equally among its transactions. */
  blockOverheadPerDelivery: BlockOverheadParts & { total: number };
  perResourceParts: TransactionParts & { blockOverhead: number };
  creatorCertificateCopiesPerDelivery: number;
  endorsementsPerDelivery: number;
}

/**
 * Sums the blocks' bytes for the given transactions (tx id → the deliveries it records and their
 * resources): every byte of their envelopes, and each block's header and metadata shared among all
 * the transactions the block holds. Per-delivery figures divide by deliveries, not transactions.
 */
export function summarizeBlockBytes(
  blocks: readonly BlockBytes[],
  counted: ReadonlyMap<string, { deliveries: number; resources: number }>,
): BlockBytesSummary {
  const tx = { ...zeroParts(), total: 0 };
  const overhead: BlockOverheadParts & { total: number } = {
    total: 0,
    header: 0,
    ordererCertificates: 0,
    ordererSignatures: 0,
    transactionsFilter: 0,
    other: 0,
  };
  const overheadKeys = Object.keys(overhead) as (keyof typeof overhead)[];
  let n = 0;
  let deliveries = 0;
  let other = 0;
  let resources = 0;
  let blocksUsed = 0;
  let creatorCopies = 0;
  let endorsements = 0;
  for (const b of blocks) {
    const ours = b.transactions.filter((t) => counted.has(t.txId));
    if (ours.length === 0) continue;
    other += b.transactions.length - ours.length;
    blocksUsed++;
    const share = ours.length / b.transactions.length;
    for (const k of overheadKeys) overhead[k] += b.overhead[k] * share;
    for (const t of ours) {
      n++;
      deliveries += counted.get(t.txId)?.deliveries ?? 0;
      resources += counted.get(t.txId)?.resources ?? 0;
      tx.total += t.bytes;
      for (const k of TRANSACTION_PARTS) tx[k] += t.parts[k];
      creatorCopies += t.creatorCertificateCopies;
      endorsements += t.endorsements;
    }
  }
  const per = (v: number, d: number) => (d > 0 ? v / d : Number.NaN);
  const totalBytes = tx.total + overhead.total;
  const transactionPerDelivery = { ...tx };
  for (const k of [...TRANSACTION_PARTS, 'total'] as const) transactionPerDelivery[k] = per(tx[k], deliveries);
  const blockOverheadPerDelivery = { ...overhead };
  for (const k of overheadKeys) blockOverheadPerDelivery[k] = per(overhead[k], deliveries);
  const perResourceParts = { ...zeroParts(), blockOverhead: per(overhead.total, resources) };
  for (const k of TRANSACTION_PARTS) perResourceParts[k] = per(tx[k], resources);
  return {
    blocks: blocksUsed,
    transactions: n,
    deliveries,
    otherTransactions: other,
    resources,
    totalBytes,
    perDelivery: per(totalBytes, deliveries),
    perResource: per(totalBytes, resources),
    transactionPerDelivery,
    blockOverheadPerDelivery,
    perResourceParts,
    creatorCertificateCopiesPerDelivery: per(creatorCopies, deliveries),
    endorsementsPerDelivery: per(endorsements, deliveries),
  };
}
