import { common, ledger as ledgerProtos, peer } from '@hyperledger/fabric-protos';
import { ChannelConfig } from '../config/channel-config';
import { proposeConfigUpdate } from '../config/config-update';
import { blockDataHash, blockHeaderBytes, getMetadata } from '../ledger/block';
import type { PeerLedger, StateWrite, Version } from '../ledger/peer-ledger';
import { EnvelopeError, parseEnvelope, type ParsedEnvelope } from '../node/envelope';
import type { SignedData } from '../policy/signature-policy';
import { parseSignaturePolicy } from '../policy/policy-dsl';
import { SignaturePolicy } from '../policy/signature-policy';
import type { ChaincodeRegistry } from './chaincode-registry';
import { LIFECYCLE, LIFECYCLE_POLICY, parseApprovalKey } from './lifecycle';
import { computeTxId, proposalHash } from './proposal';

const C = peer.TxValidationCode;
const kv = ledgerProtos.rwset.kvrwset;

export class BlockInvalidError extends Error {
  override readonly name = 'BlockInvalidError';
  readonly code = 'BLOCK_INVALID';
}

export interface ValidatedBlock {
  /** The configuration a valid config block brings into force. */
  config?: ChannelConfig;
  codes: number[];
  txIds: { txId: string; txNum: number; code: number }[];
  writes: StateWrite[];
}

interface TxWrites {
  ns: string;
  writes: { key: string; value: Uint8Array }[];
  reads: { key: string; version: Version | undefined }[];
  ranges: ledgerProtos.rwset.kvrwset.RangeQueryInfo[];
}

interface Candidate {
  txNum: number;
  txId: string;
  seconds: number;
  nanos: number;
  rw: TxWrites[];
}

const sameVersion = (a: Version | undefined, b: Version | undefined): boolean =>
  a === undefined || b === undefined ? a === b : a.block === b.block && a.txNum === b.txNum;

/**
 * Validates a block as a Fabric v2+ committer does (`txvalidator/v20`, `validation/msgvalidation.go`,
 * `kvledger/txmgmt/validation`): block integrity and orderer signature; per transaction the
 * envelope, creator signature, transaction id, duplicates, proposal hash, chaincode, and the
 * endorsement policy; then, in block order, MVCC and phantom-read checks against committed state
 * plus the block's earlier valid writes. Returns each transaction's code and the valid writes.
 */
export class BlockValidator {
  constructor(
    private readonly ledger: PeerLedger,
    private readonly config: () => ChannelConfig,
    private readonly registry: ChaincodeRegistry,
  ) {}

  /** @throws BlockInvalidError when the block does not follow the chain or lacks a valid orderer signature. */
  checkBlock(block: common.Block, expectedNumber: number): void {
    const header = block.getHeader();
    if (!header || header.getNumber() !== expectedNumber) {
      throw new BlockInvalidError(`expected block ${expectedNumber}, got ${header?.getNumber()}`);
    }
    const prev = this.ledger.headerHash(expectedNumber - 1);
    if (!prev || Buffer.compare(Buffer.from(prev), Buffer.from(header.getPreviousHash_asU8())) !== 0) {
      throw new BlockInvalidError(`block ${expectedNumber} does not chain to the previous block's header hash`);
    }
    const data = block.getData()?.getDataList_asU8() ?? [];
    if (Buffer.compare(blockDataHash(data), Buffer.from(header.getDataHash_asU8())) !== 0) {
      throw new BlockInvalidError(`block ${expectedNumber} data hash does not match its data`);
    }
    const md = common.Metadata.deserializeBinary(getMetadata(block, common.BlockMetadataIndex.SIGNATURES));
    const headerBytes = blockHeaderBytes(header);
    const signatures: SignedData[] = md.getSignaturesList().map((s) => ({
      data: Buffer.concat([md.getValue_asU8(), s.getSignatureHeader_asU8(), headerBytes]),
      identity: common.SignatureHeader.deserializeBinary(s.getSignatureHeader_asU8()).getCreator_asU8(),
      signature: s.getSignature_asU8(),
    }));
    if (!this.config().policies.evaluate('/Channel/Orderer/BlockValidation', signatures)) {
      throw new BlockInvalidError(`block ${expectedNumber} is not signed as /Channel/Orderer/BlockValidation requires`);
    }
  }

  async validate(block: common.Block): Promise<ValidatedBlock> {
    const number = block.getHeader()?.getNumber() ?? 0;
    const envelopes = block.getData()?.getDataList_asU8() ?? [];
    const codes: number[] = [];
    const txIds: ValidatedBlock['txIds'] = [];
    const candidates: (Candidate | undefined)[] = [];
    const seenInBlock = new Set<string>();
    let nextConfig: ChannelConfig | undefined;
    for (let i = 0; i < envelopes.length; i++) {
      let env: ParsedEnvelope | undefined;
      let code: number;
      let candidate: Candidate | undefined;
      try {
        env = parseEnvelope(envelopes[i] as Uint8Array);
        const r = await this.validateTx(env, seenInBlock, i);
        code = r.code;
        candidate = r.candidate;
        if (r.config) {
          if (envelopes.length !== 1) code = C.INVALID_CONFIG_TRANSACTION;
          else nextConfig = r.config;
        }
      } catch (err) {
        code = err instanceof EnvelopeError ? C[err.code] : C.INVALID_OTHER_REASON;
      }
      const txId = env?.channelHeader.getTxId() ?? '';
      if (txId) {
        // Only valid transactions make later copies duplicates (`markTXIdDuplicates`).
        if (code === C.VALID) seenInBlock.add(txId);
        txIds.push({ txId, txNum: i, code });
      }
      codes.push(code);
      candidates.push(code === C.VALID ? candidate : undefined);
    }
    // MVCC and phantom reads, in block order, over committed state plus this block's valid writes.
    const updates = new Map<string, { value: Uint8Array; version: Version }>();
    const writes: StateWrite[] = [];
    candidates.forEach((c, i) => {
      if (!c) return;
      const conflict = this.conflict(c, updates);
      if (conflict !== C.VALID) {
        codes[i] = conflict;
        const entry = txIds.find((t) => t.txNum === i);
        if (entry) entry.code = conflict;
        return;
      }
      for (const ns of c.rw) {
        for (const w of ns.writes) {
          updates.set(`${ns.ns}\u0000${w.key}`, { value: w.value, version: { block: number, txNum: c.txNum } });
          writes.push({
            ns: ns.ns,
            key: w.key,
            value: w.value,
            txNum: c.txNum,
            txId: c.txId,
            seconds: c.seconds,
            nanos: c.nanos,
          });
        }
      }
    });
    return { codes, txIds, writes, ...(nextConfig ? { config: nextConfig } : {}) };
  }

  private conflict(c: Candidate, updates: Map<string, { value: Uint8Array; version: Version }>): number {
    for (const ns of c.rw) {
      for (const read of ns.reads) {
        if (updates.has(`${ns.ns}\u0000${read.key}`)) return C.MVCC_READ_CONFLICT;
        if (!sameVersion(this.ledger.getState(ns.ns, read.key)?.version, read.version)) return C.MVCC_READ_CONFLICT;
      }
      for (const rq of ns.ranges) {
        if (!this.rangeStillSame(ns.ns, rq, updates)) return C.PHANTOM_READ_CONFLICT;
      }
    }
    return C.VALID;
  }

  /** Re-runs a range query over committed state plus the block's earlier writes (`rangequery_validator.go`). */
  private rangeStillSame(
    ns: string,
    rq: ledgerProtos.rwset.kvrwset.RangeQueryInfo,
    updates: Map<string, { value: Uint8Array; version: Version }>,
  ): boolean {
    const start = rq.getStartKey();
    const end = rq.getEndKey();
    const inclusive = !rq.getItrExhausted();
    const inRange = (k: string) => {
      const b = Buffer.from(k);
      if (Buffer.compare(b, Buffer.from(start)) < 0) return false;
      if (end === '') return true;
      const cmp = Buffer.compare(b, Buffer.from(end));
      return inclusive ? cmp <= 0 : cmp < 0;
    };
    const merged = new Map<string, Version>();
    for (const row of this.ledger.range(ns, start, end, Number.MAX_SAFE_INTEGER, inclusive))
      merged.set(row.key, row.version);
    for (const [k, u] of updates) {
      const [uns, key] = k.split('\u0000', 2) as [string, string];
      if (uns !== ns || !inRange(key)) continue;
      if (u.value.length === 0) merged.delete(key);
      else merged.set(key, u.version);
    }
    const now = [...merged.entries()].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const then = rq.getRawReads()?.getKvReadsList() ?? [];
    if (now.length !== then.length) return false;
    return now.every(([key, version], i) => {
      const r = then[i] as ledgerProtos.rwset.kvrwset.KVRead;
      const v = r.getVersion();
      return (
        r.getKey() === key && sameVersion(version, v ? { block: v.getBlockNum(), txNum: v.getTxNum() } : undefined)
      );
    });
  }

  /**
   * A config transaction (the peer's side of `channelconfig` validation): signed by an orderer of
   * the channel, and the configuration it carries is exactly what its update, re-authorized here
   * against the configuration in force, produces.
   */
  private validateConfigTx(env: ParsedEnvelope, config: ChannelConfig): { code: number; config?: ChannelConfig } {
    try {
      const creator = config.msps.deserialize(env.signatureHeader.getCreator_asU8());
      const isOrderer = config.ordererOrgs.some((o) => o.mspId === creator.mspId);
      if (!isOrderer || !creator.verify(env.payloadBytes, env.envelope.getSignature_asU8())) {
        return { code: C.BAD_CREATOR_SIGNATURE };
      }
      const carried = common.ConfigEnvelope.deserializeBinary(env.payload.getData_asU8());
      const lastUpdate = carried.getLastUpdate();
      const next = carried.getConfig();
      if (!lastUpdate || !next) return { code: C.INVALID_CONFIG_TRANSACTION };
      const updatePayload = common.Payload.deserializeBinary(lastUpdate.getPayload_asU8());
      const proposed = proposeConfigUpdate(
        config,
        common.ConfigUpdateEnvelope.deserializeBinary(updatePayload.getData_asU8()),
      );
      if (Buffer.compare(Buffer.from(proposed.serializeBinary()), Buffer.from(next.serializeBinary())) !== 0) {
        return { code: C.INVALID_CONFIG_TRANSACTION };
      }
      return { code: C.VALID, config: new ChannelConfig(config.channelId, next) };
    } catch {
      return { code: C.INVALID_CONFIG_TRANSACTION };
    }
  }

  private async validateTx(
    env: ParsedEnvelope,
    seenInBlock: Set<string>,
    txNum: number,
  ): Promise<{ code: number; candidate?: Candidate; config?: ChannelConfig }> {
    const ch = env.channelHeader;
    const sh = env.signatureHeader;
    const config = this.config();
    if (ch.getType() === common.HeaderType.CONFIG) return this.validateConfigTx(env, config);
    if (ch.getType() !== common.HeaderType.ENDORSER_TRANSACTION) return { code: C.UNKNOWN_TX_TYPE };
    if (ch.getEpoch() !== 0 || sh.getNonce_asU8().length === 0 || sh.getCreator_asU8().length === 0) {
      return { code: C.BAD_COMMON_HEADER };
    }
    if (ch.getChannelId() !== config.channelId) return { code: C.TARGET_CHAIN_NOT_FOUND };
    // Creator and its signature over the payload.
    try {
      const creator = config.msps.deserialize(sh.getCreator_asU8());
      if (!creator.verify(env.payloadBytes, env.envelope.getSignature_asU8())) return { code: C.BAD_CREATOR_SIGNATURE };
    } catch {
      return { code: C.BAD_CREATOR_SIGNATURE };
    }
    if (ch.getTxId() !== computeTxId(sh.getNonce_asU8(), sh.getCreator_asU8())) return { code: C.BAD_PROPOSAL_TXID };
    // Exactly one action whose proposal hash matches this header.
    let tx: peer.Transaction;
    let cap: peer.ChaincodeActionPayload;
    let action: peer.TransactionAction;
    try {
      tx = peer.Transaction.deserializeBinary(env.payload.getData_asU8());
      const actions = tx.getActionsList();
      if (actions.length !== 1) return { code: C.INVALID_ENDORSER_TRANSACTION };
      action = actions[0] as peer.TransactionAction;
      common.SignatureHeader.deserializeBinary(action.getHeader_asU8());
      cap = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
    } catch {
      return { code: C.INVALID_ENDORSER_TRANSACTION };
    }
    const endorsed = cap.getAction();
    if (!endorsed) return { code: C.INVALID_ENDORSER_TRANSACTION };
    const prpBytes = endorsed.getProposalResponsePayload_asU8();
    let prp: peer.ProposalResponsePayload;
    try {
      prp = peer.ProposalResponsePayload.deserializeBinary(prpBytes);
    } catch {
      return { code: C.BAD_RESPONSE_PAYLOAD };
    }
    const hash = proposalHash(env.channelHeaderBytes, action.getHeader_asU8(), cap.getChaincodeProposalPayload_asU8());
    if (Buffer.compare(hash, Buffer.from(prp.getProposalHash_asU8())) !== 0)
      return { code: C.INVALID_ENDORSER_TRANSACTION };
    // Duplicates: already in the ledger (valid or not), or earlier in this block.
    if (this.ledger.txStatus(ch.getTxId()) || seenInBlock.has(ch.getTxId())) return { code: C.DUPLICATE_TXID };

    let ccName: string;
    let chaincodeAction: peer.ChaincodeAction;
    try {
      ccName =
        peer.ChaincodeHeaderExtension.deserializeBinary(ch.getExtension_asU8()).getChaincodeId()?.getName() ?? '';
    } catch {
      return { code: C.BAD_HEADER_EXTENSION };
    }
    try {
      chaincodeAction = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
    } catch {
      return { code: C.BAD_RESPONSE_PAYLOAD };
    }
    const actionId = chaincodeAction.getChaincodeId();
    if (!ccName || !actionId || actionId.getName() !== ccName || !actionId.getVersion())
      return { code: C.INVALID_CHAINCODE };
    const eventBytes = chaincodeAction.getEvents_asU8();
    if (eventBytes.length > 0) {
      try {
        if (peer.ChaincodeEvent.deserializeBinary(eventBytes).getChaincodeId() !== ccName)
          return { code: C.INVALID_OTHER_REASON };
      } catch {
        return { code: C.INVALID_OTHER_REASON };
      }
    }
    let rw: TxWrites[];
    try {
      rw = ledgerProtos.rwset.TxReadWriteSet.deserializeBinary(chaincodeAction.getResults_asU8())
        .getNsRwsetList()
        .map((ns) => {
          const set = kv.KVRWSet.deserializeBinary(ns.getRwset_asU8());
          return {
            ns: ns.getNamespace(),
            writes: set
              .getWritesList()
              .map((w) => ({ key: w.getKey(), value: w.getIsDelete() ? new Uint8Array(0) : w.getValue_asU8() })),
            reads: set.getReadsList().map((r) => {
              const v = r.getVersion();
              return { key: r.getKey(), version: v ? { block: v.getBlockNum(), txNum: v.getTxNum() } : undefined };
            }),
            ranges: set.getRangeQueriesInfoList(),
          };
        });
    } catch {
      return { code: C.BAD_RWSET };
    }
    const namespaces = new Set<string>();
    for (const ns of rw) {
      if (namespaces.has(ns.ns)) return { code: C.ILLEGAL_WRITESET };
      namespaces.add(ns.ns);
      if (ns.writes.length > 0 && (ns.ns === 'qscc' || ns.ns === 'lscc' || ns.ns === 'cscc')) {
        return { code: C.ILLEGAL_WRITESET };
      }
      // Only the lifecycle system chaincode writes its namespace, and only its own.
      if (ns.ns === LIFECYCLE && ccName !== LIFECYCLE && ns.writes.length > 0) return { code: C.ILLEGAL_WRITESET };
    }
    // The endorsement policy of the invoked chaincode and of every namespace written.
    const written = new Set([ccName, ...rw.filter((n) => n.writes.length > 0).map((n) => n.ns)]);
    const endorsements: SignedData[] = endorsed.getEndorsementsList().map((e) => ({
      data: Buffer.concat([prpBytes, e.getEndorser_asU8()]),
      identity: e.getEndorser_asU8(),
      signature: e.getSignature_asU8(),
    }));
    for (const ns of written) {
      let policy: SignaturePolicy;
      try {
        policy = ns === LIFECYCLE ? lifecyclePolicy(rw, config) : (await this.registry.get(ns)).policy;
      } catch {
        return { code: C.INVALID_CHAINCODE };
      }
      if (!policy.evaluate(endorsements, config.msps)) return { code: C.ENDORSEMENT_POLICY_FAILURE };
    }
    const ts = ch.getTimestamp();
    return {
      code: C.VALID,
      candidate: { txNum, txId: ch.getTxId(), seconds: ts?.getSeconds() ?? 0, nanos: ts?.getNanos() ?? 0, rw },
    };
  }
}

/**
 * The endorsement `_lifecycle` writes need: an organisation's approval of a definition only its own
 * peer's (Fabric writes it to that organisation's implicit collection), anything else the channel's
 * LifecycleEndorsement policy.
 */
function lifecyclePolicy(rw: TxWrites[], config: ChannelConfig): SignaturePolicy {
  const writes = rw.find((n) => n.ns === LIFECYCLE)?.writes ?? [];
  const orgs = new Set(writes.map((w) => parseApprovalKey(w.key)?.mspId));
  const [only] = orgs;
  if (writes.length > 0 && orgs.size === 1 && only !== undefined) {
    return new SignaturePolicy(parseSignaturePolicy(`OR('${only}.peer')`));
  }
  return config.policies.signaturePolicy(LIFECYCLE_POLICY);
}
