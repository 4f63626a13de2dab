import { randomUUID } from 'node:crypto';
import { ledger as ledgerProtos, peer } from '@hyperledger/fabric-protos';
import { Timestamp } from 'google-protobuf/google/protobuf/timestamp_pb';
import type { KeyValue, PeerLedger, Version } from '../ledger/peer-ledger';

const T = peer.ChaincodeMessage.Type;
const kv = ledgerProtos.rwset.kvrwset;
const qr = ledgerProtos.queryresult;

/** Fabric's limits: results per QUERY_STATE_NEXT batch, and per query in all. */
export const MAX_RESULT_LIMIT = 100;
export const TOTAL_QUERY_LIMIT = 100_000;

export interface RangeRead {
  key: string;
  version: Version;
}

/** A range query as the validator re-runs it at commit (phantom read check). */
export interface RangeQuery {
  startKey: string;
  endKey: string;
  exhausted: boolean;
  reads: RangeRead[];
}

interface OpenIterator {
  /** Pull the next batch; undefined when the underlying scan is exhausted. */
  next(): { results: Uint8Array[]; hasMore: boolean };
}

export type Reply = { ok: true; payload: Uint8Array } | { ok: false; message: string };

const ok = (payload: Uint8Array = new Uint8Array(0)): Reply => ({ ok: true, payload });
const fail = (message: string): Reply => ({ ok: false, message });

/**
 * One chaincode invocation's view of the world state, with Fabric's simulation rules: reads see
 * the state as of the last committed block, never the transaction's own writes; each key read is
 * recorded once with its version; writes are kept per key (an empty value deletes); range scans are
 * recorded for the phantom check; paginated queries and writes exclude each other.
 */
export class TxSimulator {
  private readonly reads = new Map<string, Version | null>();
  private readonly writes = new Map<string, Uint8Array>();
  private readonly ranges: RangeQuery[] = [];
  private readonly iterators = new Map<string, OpenIterator>();
  private writePerformed = false;
  private paginatedQueryPerformed = false;

  constructor(
    private readonly ledger: PeerLedger,
    readonly namespace: string,
    readonly txId: string,
  ) {}

  /** Answers one chaincode request (GET_STATE, PUT_STATE, …). */
  handle(type: number, payload: Uint8Array): Reply {
    try {
      switch (type) {
        case T.GET_STATE:
          return this.getState(peer.GetState.deserializeBinary(payload));
        case T.PUT_STATE:
          return this.putState(peer.PutState.deserializeBinary(payload));
        case T.DEL_STATE: {
          const del = peer.DelState.deserializeBinary(payload);
          if (del.getCollection()) return fail('private data is not supported by the embedded network');
          return this.write(del.getKey(), new Uint8Array(0));
        }
        case T.GET_STATE_BY_RANGE:
          return this.getStateByRange(peer.GetStateByRange.deserializeBinary(payload));
        case T.QUERY_STATE_NEXT:
          return this.queryNext(peer.QueryStateNext.deserializeBinary(payload).getId());
        case T.QUERY_STATE_CLOSE:
          return this.queryClose(peer.QueryStateClose.deserializeBinary(payload).getId());
        case T.GET_HISTORY_FOR_KEY:
          return this.history(peer.GetHistoryForKey.deserializeBinary(payload).getKey());
        case T.GET_STATE_METADATA:
          return ok(new peer.StateMetadataResult().serializeBinary());
        case T.GET_QUERY_RESULT:
          return fail('ExecuteQuery not supported for leveldb: the embedded network has no CouchDB');
        case T.PUT_STATE_METADATA:
          return fail('state-based endorsement is not supported by the embedded network');
        case T.INVOKE_CHAINCODE:
          return fail('chaincode-to-chaincode invocation is not supported by the embedded network');
        case T.GET_PRIVATE_DATA_HASH:
        case T.PURGE_PRIVATE_DATA:
          return fail('private data is not supported by the embedded network');
        default:
          return fail(`[${this.txId}] Fabric side handler cannot handle message (${type}) while in ready state`);
      }
    } catch (err) {
      return fail(err instanceof Error ? err.message : String(err));
    }
  }

  /** A system chaincode's read (in process): the committed value, recorded like a chaincode's. */
  read(key: string): Uint8Array | undefined {
    const current = this.ledger.getState(this.namespace, key);
    if (!this.reads.has(key)) this.reads.set(key, current?.version ?? null);
    return current?.value;
  }

  /** A system chaincode's write (in process). */
  put(key: string, value: Uint8Array): void {
    const reply = this.write(key, value);
    if (!reply.ok) throw new Error(reply.message);
  }

  /** A system chaincode's range scan (in process), recorded for the phantom check; [start, end). */
  scan(startKey: string, endKey: string): { key: string; value: Uint8Array }[] {
    const rows = this.ledger.range(this.namespace, startKey, endKey, TOTAL_QUERY_LIMIT);
    this.ranges.push({
      startKey,
      endKey,
      exhausted: true,
      reads: rows.map((r) => ({ key: r.key, version: r.version })),
    });
    return rows.map((r) => ({ key: r.key, value: r.value }));
  }

  private getState(req: peer.GetState): Reply {
    if (req.getCollection()) return fail('private data is not supported by the embedded network');
    const key = req.getKey();
    const current = this.ledger.getState(this.namespace, key);
    if (!this.reads.has(key)) this.reads.set(key, current?.version ?? null);
    return ok(current?.value ?? new Uint8Array(0));
  }

  private putState(req: peer.PutState): Reply {
    if (req.getCollection()) return fail('private data is not supported by the embedded network');
    return this.write(req.getKey(), req.getValue_asU8());
  }

  private write(key: string, value: Uint8Array): Reply {
    if (this.paginatedQueryPerformed) {
      return fail(
        `txid [${this.txId}]: unsuppored transaction. Transaction has already performed a paginated query. Writes are not allowed`,
      );
    }
    if (key === '') return fail('key must not be an empty string');
    this.writePerformed = true;
    this.writes.set(key, Buffer.from(value));
    return ok();
  }

  private getStateByRange(req: peer.GetStateByRange): Reply {
    if (req.getCollection()) return fail('private data is not supported by the embedded network');
    const metaBytes = req.getMetadata_asU8();
    const meta = metaBytes.length > 0 ? peer.QueryMetadata.deserializeBinary(metaBytes) : undefined;
    const paginated = !!meta && (meta.getPagesize() !== 0 || meta.getBookmark() !== '');
    let startKey = req.getStartkey();
    const endKey = req.getEndkey();
    if (paginated) {
      if (this.writePerformed) {
        return fail(
          `txid [${this.txId}]: unsuppored transaction. Paginated queries are supported only in a read-only transaction`,
        );
      }
      this.paginatedQueryPerformed = true;
      // A bookmark without a page size reads up to the total query limit (`calculateTotalReturnLimit`).
      const pageSize = meta.getPagesize() > 0 ? Math.min(meta.getPagesize(), TOTAL_QUERY_LIMIT) : TOTAL_QUERY_LIMIT;
      if (meta.getBookmark() !== '') startKey = meta.getBookmark();
      const rows = this.ledger.range(this.namespace, startKey, endKey, pageSize + 1);
      const page = rows.slice(0, pageSize);
      const response = new peer.QueryResponse();
      response.setResultsList(page.map((r) => this.kvResult(r)));
      response.setHasMore(false);
      response.setId(randomUUID());
      const m = new peer.QueryResponseMetadata();
      m.setFetchedRecordsCount(page.length);
      m.setBookmark(rows.length > pageSize ? (rows[pageSize] as KeyValue).key : '');
      response.setMetadata(m.serializeBinary());
      return ok(response.serializeBinary());
    }
    const info: RangeQuery = { startKey, endKey, exhausted: false, reads: [] };
    this.ranges.push(info);
    let from = startKey;
    let first = true;
    let delivered = 0;
    let exhausted = false;
    const iterator: OpenIterator = {
      next: () => {
        if (exhausted) return { results: [], hasMore: false };
        const want = Math.min(MAX_RESULT_LIMIT, TOTAL_QUERY_LIMIT - delivered);
        // After the first batch the scan resumes after the last key: [last, end) minus `last`. One
        // row more than wanted tells whether more follow: as Fabric, has_more is never followed by
        // an empty batch (fabric-shim's iterator fails on one).
        const rows = this.ledger.range(this.namespace, from, endKey, want + 1 + (first ? 0 : 1));
        const after = !first && rows[0]?.key === from ? rows.slice(1) : rows;
        const batch = after.slice(0, want);
        first = false;
        for (const r of batch) {
          info.reads.push({ key: r.key, version: r.version });
          info.endKey = r.key;
        }
        delivered += batch.length;
        exhausted = after.length <= want;
        if (exhausted) {
          info.exhausted = true;
          info.endKey = endKey;
        }
        if (batch.length > 0) from = (batch[batch.length - 1] as KeyValue).key;
        return {
          results: batch.map((r) => this.kvResult(r).getResultbytes_asU8()),
          hasMore: !exhausted && delivered < TOTAL_QUERY_LIMIT,
        };
      },
    };
    return this.openIterator(iterator);
  }

  private history(key: string): Reply {
    const entries = this.ledger.history(this.namespace, key);
    let at = 0;
    return this.openIterator({
      next: () => {
        const batch = entries.slice(at, at + MAX_RESULT_LIMIT);
        at += batch.length;
        const results = batch.map((e) => {
          const m = new qr.KeyModification();
          m.setTxId(e.txId);
          m.setValue(e.value);
          const ts = new Timestamp();
          ts.setSeconds(e.seconds);
          ts.setNanos(e.nanos);
          m.setTimestamp(ts);
          m.setIsDelete(e.isDelete);
          return m.serializeBinary();
        });
        return { results, hasMore: at < entries.length };
      },
    });
  }

  private openIterator(iterator: OpenIterator): Reply {
    const id = randomUUID();
    const batch = iterator.next();
    if (batch.hasMore) this.iterators.set(id, iterator);
    return ok(this.queryResponse(id, batch));
  }

  private queryNext(id: string): Reply {
    const iterator = this.iterators.get(id);
    if (!iterator) return fail(`query iterator not found`);
    const batch = iterator.next();
    if (!batch.hasMore) this.iterators.delete(id);
    return ok(this.queryResponse(id, batch));
  }

  private queryClose(id: string): Reply {
    this.iterators.delete(id);
    const response = new peer.QueryResponse();
    response.setHasMore(false);
    response.setId(id);
    return ok(response.serializeBinary());
  }

  private queryResponse(id: string, batch: { results: Uint8Array[]; hasMore: boolean }): Uint8Array {
    const response = new peer.QueryResponse();
    response.setResultsList(
      batch.results.map((b) => {
        const r = new peer.QueryResultBytes();
        r.setResultbytes(b);
        return r;
      }),
    );
    response.setHasMore(batch.hasMore);
    response.setId(id);
    return response.serializeBinary();
  }

  private kvResult(r: KeyValue): peer.QueryResultBytes {
    const k = new qr.KV();
    k.setNamespace(this.namespace);
    k.setKey(r.key);
    k.setValue(r.value);
    const out = new peer.QueryResultBytes();
    out.setResultbytes(k.serializeBinary());
    return out;
  }

  /** Whether the invocation wrote anything. */
  get hasWrites(): boolean {
    return this.writes.size > 0;
  }

  /**
   * The read-write set as Fabric encodes it: one namespace, reads and writes sorted by key, range
   * query infos in execution order with their raw reads.
   */
  readWriteSet(): Uint8Array {
    const set = new kv.KVRWSet();
    const byKey = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    set.setReadsList(
      [...this.reads.keys()].sort(byKey).map((key) => {
        const read = new kv.KVRead();
        read.setKey(key);
        const v = this.reads.get(key);
        if (v) {
          const version = new kv.Version();
          version.setBlockNum(v.block);
          version.setTxNum(v.txNum);
          read.setVersion(version);
        }
        return read;
      }),
    );
    set.setRangeQueriesInfoList(
      this.ranges.map((r) => {
        const info = new kv.RangeQueryInfo();
        info.setStartKey(r.startKey);
        info.setEndKey(r.endKey);
        info.setItrExhausted(r.exhausted);
        const raw = new kv.QueryReads();
        raw.setKvReadsList(
          r.reads.map((read) => {
            const k = new kv.KVRead();
            k.setKey(read.key);
            const version = new kv.Version();
            version.setBlockNum(read.version.block);
            version.setTxNum(read.version.txNum);
            k.setVersion(version);
            return k;
          }),
        );
        info.setRawReads(raw);
        return info;
      }),
    );
    set.setWritesList(
      [...this.writes.keys()].sort(byKey).map((key) => {
        const w = new kv.KVWrite();
        const value = this.writes.get(key) as Uint8Array;
        w.setKey(key);
        w.setIsDelete(value.length === 0);
        w.setValue(value);
        return w;
      }),
    );
    const ns = new ledgerProtos.rwset.NsReadWriteSet();
    ns.setNamespace(this.namespace);
    ns.setRwset(set.serializeBinary());
    const tx = new ledgerProtos.rwset.TxReadWriteSet();
    tx.setDataModel(ledgerProtos.rwset.TxReadWriteSet.DataModel.KV);
    tx.setNsRwsetList([ns]);
    return tx.serializeBinary();
  }
}
