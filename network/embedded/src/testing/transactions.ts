// Proposals, endorsed transactions and orderer-signed blocks built as fabric-gateway, the peer's
// endorser, the Gateway's Endorse and the orderer's block writer build them (fabric-wire-facts §1-3).
import { transactionEnvelope } from '../peer/transaction-envelope';
import { createHash, randomBytes } from 'node:crypto';
import { common, ledger as ledgerProtos, peer } from '@hyperledger/fabric-protos';
import { Timestamp } from 'google-protobuf/google/protobuf/timestamp_pb';
import { blockHeaderBytes, newBlock, setMetadata } from '../ledger/block';
import type { Version } from '../ledger/peer-ledger';
import { serializeIdentity } from '../msp/msp-manager';
import type { LocalIdentity } from '../node/local-identity';
import { CHANNEL_ID } from './channel';

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

export function timestamp(date = new Date()): Timestamp {
  const ts = new Timestamp();
  ts.setSeconds(Math.floor(date.getTime() / 1000));
  ts.setNanos((date.getTime() % 1000) * 1e6);
  return ts;
}

export interface TestProposal {
  signed: peer.SignedProposal;
  txId: string;
  channelHeaderBytes: Uint8Array;
  signatureHeaderBytes: Uint8Array;
  /** ChaincodeProposalPayload{input}: what the transaction carries. */
  payloadForTx: Uint8Array;
  /** ChaincodeInput bytes: what the chaincode receives. */
  inputBytes: Uint8Array;
  creator: LocalIdentity;
}

export interface ProposalOptions {
  chaincode?: string;
  args?: string[];
  channelId?: string;
  timestamp?: Date;
  /** Overrides the transaction id computed from nonce and creator. */
  txId?: string;
  /** Creator bytes as the client sends them: fabric-gateway sends the PEM as loaded. */
  creatorPem?: string;
}

/** A SignedProposal as fabric-gateway builds it (§1.1), signed by `creator`. */
export function proposal(creator: LocalIdentity, o: ProposalOptions = {}): TestProposal {
  const creatorBytes = o.creatorPem ? serializeIdentity(creator.mspId, o.creatorPem) : creator.serialized;
  const nonce = randomBytes(24);
  const txId = o.txId ?? sha256(nonce, creatorBytes).toString('hex');
  const chaincode = o.chaincode ?? 'phr';
  const ccId = new peer.ChaincodeID();
  ccId.setName(chaincode);
  const ext = new peer.ChaincodeHeaderExtension();
  ext.setChaincodeId(ccId);
  const ch = new common.ChannelHeader();
  ch.setType(common.HeaderType.ENDORSER_TRANSACTION);
  ch.setVersion(0);
  ch.setTimestamp(timestamp(o.timestamp));
  ch.setChannelId(o.channelId ?? CHANNEL_ID);
  ch.setTxId(txId);
  ch.setEpoch(0);
  ch.setExtension$(ext.serializeBinary());
  const sh = new common.SignatureHeader();
  sh.setCreator(creatorBytes);
  sh.setNonce(nonce);
  const channelHeaderBytes = ch.serializeBinary();
  const signatureHeaderBytes = sh.serializeBinary();
  const header = new common.Header();
  header.setChannelHeader(channelHeaderBytes);
  header.setSignatureHeader(signatureHeaderBytes);
  const input = new peer.ChaincodeInput();
  input.setArgsList((o.args ?? ['fn']).map((a) => Buffer.from(a)));
  const spec = new peer.ChaincodeSpec();
  spec.setType(peer.ChaincodeSpec.Type.NODE);
  spec.setChaincodeId(ccId);
  spec.setInput(input);
  const invocation = new peer.ChaincodeInvocationSpec();
  invocation.setChaincodeSpec(spec);
  const cpp = new peer.ChaincodeProposalPayload();
  cpp.setInput(invocation.serializeBinary());
  const prop = new peer.Proposal();
  prop.setHeader(header.serializeBinary());
  prop.setPayload(cpp.serializeBinary());
  const proposalBytes = prop.serializeBinary();
  const signed = new peer.SignedProposal();
  signed.setProposalBytes(proposalBytes);
  signed.setSignature(creator.sign(proposalBytes));
  return {
    signed,
    txId,
    channelHeaderBytes,
    signatureHeaderBytes,
    payloadForTx: cpp.serializeBinary(),
    inputBytes: input.serializeBinary(),
    creator,
  };
}

export interface RwSetSpec {
  reads?: { key: string; version?: Version }[];
  writes?: { key: string; value: string | Uint8Array }[];
  ranges?: { start: string; end: string; exhausted: boolean; reads: { key: string; version: Version }[] }[];
}

function version(v: Version): ledgerProtos.rwset.kvrwset.Version {
  const out = new ledgerProtos.rwset.kvrwset.Version();
  out.setBlockNum(v.block);
  out.setTxNum(v.txNum);
  return out;
}

/** A TxReadWriteSet with one namespace, written by hand. */
export function rwset(ns: string, spec: RwSetSpec): Uint8Array {
  const kv = ledgerProtos.rwset.kvrwset;
  const set = new kv.KVRWSet();
  set.setReadsList(
    (spec.reads ?? []).map((r) => {
      const read = new kv.KVRead();
      read.setKey(r.key);
      if (r.version) read.setVersion(version(r.version));
      return read;
    }),
  );
  set.setRangeQueriesInfoList(
    (spec.ranges ?? []).map((r) => {
      const info = new kv.RangeQueryInfo();
      info.setStartKey(r.start);
      info.setEndKey(r.end);
      info.setItrExhausted(r.exhausted);
      const raw = new kv.QueryReads();
      raw.setKvReadsList(
        r.reads.map((x) => {
          const read = new kv.KVRead();
          read.setKey(x.key);
          read.setVersion(version(x.version));
          return read;
        }),
      );
      info.setRawReads(raw);
      return info;
    }),
  );
  set.setWritesList(
    (spec.writes ?? []).map((w) => {
      const write = new kv.KVWrite();
      const value = typeof w.value === 'string' ? Buffer.from(w.value) : w.value;
      write.setKey(w.key);
      write.setIsDelete(value.length === 0);
      write.setValue(value);
      return write;
    }),
  );
  const nsSet = new ledgerProtos.rwset.NsReadWriteSet();
  nsSet.setNamespace(ns);
  nsSet.setRwset(set.serializeBinary());
  const tx = new ledgerProtos.rwset.TxReadWriteSet();
  tx.setDataModel(ledgerProtos.rwset.TxReadWriteSet.DataModel.KV);
  tx.setNsRwsetList([nsSet]);
  return tx.serializeBinary();
}

export interface EndorseOptions {
  /** TxReadWriteSet bytes. */
  results: Uint8Array;
  endorsers: LocalIdentity[];
  chaincodeName?: string;
  chaincodeVersion?: string;
  event?: { name: string; payload?: string; chaincodeId?: string };
  /** Who signs the envelope: the creator unless given; null leaves it unsigned. */
  signer?: LocalIdentity | null;
  /** Replaces the proposal hash in the proposal response payload. */
  proposalHash?: Uint8Array;
}

/** The proposal response payload the endorsers sign (§2.1). */
export function proposalResponsePayload(p: TestProposal, o: EndorseOptions): Uint8Array {
  const action = new peer.ChaincodeAction();
  action.setResults(o.results);
  if (o.event) {
    const event = new peer.ChaincodeEvent();
    event.setChaincodeId(o.event.chaincodeId ?? o.chaincodeName ?? 'phr');
    event.setTxId(p.txId);
    event.setEventName(o.event.name);
    event.setPayload(Buffer.from(o.event.payload ?? ''));
    action.setEvents(event.serializeBinary());
  }
  const response = new peer.Response();
  response.setStatus(200);
  action.setResponse(response);
  const id = new peer.ChaincodeID();
  id.setName(o.chaincodeName ?? 'phr');
  id.setVersion(o.chaincodeVersion ?? '1.0');
  action.setChaincodeId(id);
  const prp = new peer.ProposalResponsePayload();
  prp.setProposalHash(o.proposalHash ?? sha256(p.channelHeaderBytes, p.signatureHeaderBytes, p.payloadForTx));
  prp.setExtension$(action.serializeBinary());
  return prp.serializeBinary();
}

/** An endorsement by `endorser` over PRP ‖ endorser bytes (default ESCC). */
export function endorsement(endorser: LocalIdentity, prp: Uint8Array): peer.Endorsement {
  const e = new peer.Endorsement();
  e.setEndorser(endorser.serialized);
  e.setSignature(endorser.sign(Buffer.concat([prp, endorser.serialized])));
  return e;
}

/** The transaction envelope as the Gateway's Endorse assembles it (§2.4), signed by the client. */
export function envelopeOf(
  p: TestProposal,
  prp: Uint8Array,
  endorsements: peer.Endorsement[],
  signer?: LocalIdentity | null,
): Uint8Array {
  const env = transactionEnvelope(p, prp, endorsements);
  const payloadBytes = env.getPayload_asU8();
  const by = signer === undefined ? p.creator : signer;
  if (by) env.setSignature(by.sign(payloadBytes));
  return env.serializeBinary();
}

/** Proposal response payload, endorsements and envelope in one go. */
export function endorsedEnvelope(p: TestProposal, o: EndorseOptions): Uint8Array {
  const prp = proposalResponsePayload(p, o);
  return envelopeOf(
    p,
    prp,
    o.endorsers.map((e) => endorsement(e, prp)),
    o.signer,
  );
}

/** A block signed as the orderer's block writer signs it (§3.4); unsigned when `signer` is null. */
export function ordererBlock(
  number: number,
  previousHash: Uint8Array,
  envelopes: Uint8Array[],
  signer: LocalIdentity | null,
  lastConfigIndex = 0,
): common.Block {
  const block = newBlock(number, previousHash, envelopes);
  const lastConfig = new common.LastConfig();
  lastConfig.setIndex(lastConfigIndex);
  const ordererMetadata = new common.OrdererBlockMetadata();
  ordererMetadata.setLastConfig(lastConfig);
  const value = ordererMetadata.serializeBinary();
  const md = new common.Metadata();
  md.setValue(value);
  if (signer) {
    const sh = signer.signatureHeader().serializeBinary();
    const s = new common.MetadataSignature();
    s.setSignatureHeader(sh);
    s.setSignature(signer.sign(Buffer.concat([value, sh, blockHeaderBytes(block.getHeader() as common.BlockHeader)])));
    md.setSignaturesList([s]);
  }
  setMetadata(block, common.BlockMetadataIndex.SIGNATURES, md.serializeBinary());
  return block;
}
