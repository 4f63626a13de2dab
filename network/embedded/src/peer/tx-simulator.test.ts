import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ledger as ledgerProtos, peer } from '@hyperledger/fabric-protos';
import { PeerLedger, type StateWrite } from '../ledger/peer-ledger';
import { TxSimulator, type Reply } from './tx-simulator';

const T = peer.ChaincodeMessage.Type;
const kv = ledgerProtos.rwset.kvrwset;
const NS = 'phr';
const TX = 'tx-under-test';

function ok(reply: Reply): Uint8Array {
  if (!reply.ok) throw new Error(`refused: ${reply.message}`);
  return reply.payload;
}
function refused(reply: Reply): string {
  if (reply.ok) throw new Error('accepted');
  return reply.message;
}

const getState = (sim: TxSimulator, key: string) => {
  const m = new peer.GetState();
  m.setKey(key);
  return Buffer.from(ok(sim.handle(T.GET_STATE, m.serializeBinary()))).toString();
};
const putState = (sim: TxSimulator, key: string, value: string, collection = '') => {
  const m = new peer.PutState();
  m.setKey(key);
  m.setValue(Buffer.from(value));
  m.setCollection(collection);
  return sim.handle(T.PUT_STATE, m.serializeBinary());
};
const rangeRequest = (start: string, end: string, page?: { size: number; bookmark: string }) => {
  const m = new peer.GetStateByRange();
  m.setStartkey(start);
  m.setEndkey(end);
  if (page) {
    const meta = new peer.QueryMetadata();
    meta.setPagesize(page.size);
    meta.setBookmark(page.bookmark);
    m.setMetadata(meta.serializeBinary());
  }
  return m.serializeBinary();
};
const query = (reply: Reply) => {
  const r = peer.QueryResponse.deserializeBinary(ok(reply));
  const meta =
    r.getMetadata_asU8().length > 0 ? peer.QueryResponseMetadata.deserializeBinary(r.getMetadata_asU8()) : undefined;
  const results = r.getResultsList().map((b) => b.getResultbytes_asU8());
  return {
    id: r.getId(),
    hasMore: r.getHasMore(),
    get kvs() {
      return results.map((b) => ledgerProtos.queryresult.KV.deserializeBinary(b));
    },
    get keys() {
      return this.kvs.map((k) => k.getKey());
    },
    get history() {
      return results.map((b) => ledgerProtos.queryresult.KeyModification.deserializeBinary(b));
    },
    metadata: meta && { fetched: meta.getFetchedRecordsCount(), bookmark: meta.getBookmark() },
  };
};
const range = (sim: TxSimulator, start: string, end: string, page?: { size: number; bookmark: string }) =>
  query(sim.handle(T.GET_STATE_BY_RANGE, rangeRequest(start, end, page)));
const next = (sim: TxSimulator, id: string) => {
  const m = new peer.QueryStateNext();
  m.setId(id);
  return sim.handle(T.QUERY_STATE_NEXT, m.serializeBinary());
};
const close = (sim: TxSimulator, id: string) => {
  const m = new peer.QueryStateClose();
  m.setId(id);
  return query(sim.handle(T.QUERY_STATE_CLOSE, m.serializeBinary()));
};

/** The simulation's read-write set as plain values. */
function rwOf(sim: TxSimulator) {
  const tx = ledgerProtos.rwset.TxReadWriteSet.deserializeBinary(sim.readWriteSet());
  expect(tx.getDataModel()).toBe(ledgerProtos.rwset.TxReadWriteSet.DataModel.KV);
  const [ns] = tx.getNsRwsetList();
  expect(tx.getNsRwsetList()).toHaveLength(1);
  expect(ns?.getNamespace()).toBe(NS);
  const set = kv.KVRWSet.deserializeBinary(ns?.getRwset_asU8() as Uint8Array);
  const version = (v: ledgerProtos.rwset.kvrwset.Version | undefined) => (v ? [v.getBlockNum(), v.getTxNum()] : null);
  return {
    reads: set.getReadsList().map((r) => [r.getKey(), version(r.getVersion())]),
    writes: set.getWritesList().map((w) => [w.getKey(), w.getIsDelete(), Buffer.from(w.getValue_asU8()).toString()]),
    ranges: set.getRangeQueriesInfoList().map((r) => ({
      start: r.getStartKey(),
      end: r.getEndKey(),
      exhausted: r.getItrExhausted(),
      reads: (r.getRawReads()?.getKvReadsList() ?? []).map((x) => [x.getKey(), version(x.getVersion())]),
    })),
  };
}

const pad = (i: number) => String(i).padStart(3, '0');

describe('TxSimulator', () => {
  const dir = mkdtempSync(join(tmpdir(), 'phr-sim-'));
  let ledger: PeerLedger;
  let n = 0;
  beforeEach(() => {
    ledger = new PeerLedger(join(dir, `ledger-${n++}.db`));
    ledger.commit({ number: 0, headerHash: Buffer.from('h0'), bytes: Buffer.from('b0'), txIds: [], writes: [] });
  });
  afterEach(() => ledger.close());
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Commits `values` as block `number`, one transaction per key, timestamp = tx number seconds. */
  const commit = (number: number, values: Record<string, string>, txIdOf = (k: string) => `tx-${number}-${k}`) => {
    const writes: StateWrite[] = Object.entries(values).map(([key, value], txNum) => ({
      ns: NS,
      key,
      value: Buffer.from(value),
      txNum,
      txId: txIdOf(key),
      seconds: 1_000 + number,
      nanos: txNum,
    }));
    ledger.commit({
      number,
      headerHash: Buffer.from(`h${number}`),
      bytes: Buffer.from(`b${number}`),
      txIds: [],
      writes,
    });
  };
  const sim = () => new TxSimulator(ledger, NS, TX);

  it('reads the committed state, never its own writes, and records one read per key with its version', () => {
    commit(1, { a: 'x', k: 'old' });
    const s = sim();
    expect(getState(s, 'k')).toBe('old');
    ok(putState(s, 'k', 'new'));
    ok(putState(s, 'fresh', 'value'));
    expect(getState(s, 'k')).toBe('old');
    expect(getState(s, 'fresh')).toBe('');
    expect(getState(s, 'k')).toBe('old');
    expect(rwOf(s).reads).toEqual([
      ['fresh', null],
      ['k', [1, 1]],
    ]);
    expect(s.hasWrites).toBe(true);
  });

  it('keeps one write per key, the last value, sorted byte-wise; an empty value or DEL_STATE deletes', () => {
    const s = sim();
    expect(s.hasWrites).toBe(false);
    for (const [k, v] of [
      ['é', '1'],
      ['b', 'first'],
      ['\u0000c\u0000', '2'],
      ['b', 'second'],
      ['a', ''],
      ['Z', '3'],
    ] as const) {
      ok(putState(s, k, v));
    }
    const del = new peer.DelState();
    del.setKey('gone');
    ok(s.handle(T.DEL_STATE, del.serializeBinary()));
    expect(rwOf(s).writes).toEqual([
      ['\u0000c\u0000', false, '2'],
      ['Z', false, '3'],
      ['a', true, ''],
      ['b', false, 'second'],
      ['gone', true, ''],
      ['é', false, '1'],
    ]);
    expect(refused(putState(s, '', 'x'))).toMatch(/empty/);
  });

  it('scans ranges in batches of 100 with has_more, QUERY_STATE_NEXT and CLOSE, and records the whole scan', () => {
    commit(1, Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`k${pad(i)}`, `v${i}`])));
    const s = sim();
    const first = range(s, 'k', 'l');
    expect(first.keys).toHaveLength(100);
    expect(first.hasMore).toBe(true);
    expect(first.keys[0]).toBe('k000');
    expect(first.kvs[0]?.getNamespace()).toBe(NS);
    expect(Buffer.from(first.kvs[0]?.getValue_asU8() ?? []).toString()).toBe('v0');
    const second = query(next(s, first.id));
    expect([second.keys[0], second.keys.length, second.hasMore, second.id]).toEqual(['k100', 100, true, first.id]);
    const third = query(next(s, first.id));
    expect([third.keys[0], third.keys.at(-1), third.keys.length, third.hasMore]).toEqual(['k200', 'k249', 50, false]);
    expect(refused(next(s, first.id))).toMatch(/iterator not found/);
    expect(close(s, first.id)).toMatchObject({ id: first.id, hasMore: false, keys: [] });
    const [info] = rwOf(s).ranges;
    expect(info).toMatchObject({ start: 'k', end: 'l', exhausted: true });
    expect(info?.reads).toHaveLength(250);
    expect(info?.reads[7]).toEqual(['k007', [1, 7]]);
    expect(rwOf(s).reads).toEqual([]);
  });

  it.each([100, 200])('ends a scan of exactly %d keys without an empty batch', (count) => {
    commit(1, Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${pad(i)}`, 'v'])));
    const s = sim();
    let batch = range(s, '', '');
    const sizes = [batch.keys.length];
    while (batch.hasMore) {
      batch = query(next(s, batch.id));
      sizes.push(batch.keys.length);
    }
    expect(sizes).toEqual(Array.from({ length: count / 100 }, () => 100));
    expect(rwOf(s).ranges[0]).toMatchObject({ start: '', end: '', exhausted: true });
  });

  it('records an unfinished scan up to the last key returned, not exhausted', () => {
    commit(1, Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`k${pad(i)}`, 'v'])));
    const s = sim();
    const first = range(s, 'k000', '');
    expect(first.hasMore).toBe(true);
    close(s, first.id);
    const [info] = rwOf(s).ranges;
    expect(info).toMatchObject({ start: 'k000', end: 'k099', exhausted: false });
    expect(info?.reads).toHaveLength(100);
    expect(refused(next(s, first.id))).toMatch(/iterator not found/);
  });

  it('scans committed keys only, start inclusive, end exclusive, composite keys in their own space', () => {
    const composite = (...parts: string[]) => `\u0000${parts.join('\u0000')}\u0000`;
    commit(1, {
      a: '1',
      b: '2',
      c: '3',
      [composite('Consent', 'p1', 'x')]: '4',
      [composite('Consent', 'p1', 'y')]: '5',
      [composite('Consent', 'p2', 'x')]: '6',
      [composite('Consenter', 'p1')]: '7',
    });
    const s = sim();
    ok(putState(s, 'bb', 'not yet'));
    expect(range(s, 'a', 'c').keys).toEqual(['a', 'b']);
    expect(range(s, '\u0001', '').keys).toEqual(['a', 'b', 'c']);
    // The shim's partial composite key query: prefix to prefix + U+10FFFF.
    const prefix = composite('Consent', 'p1');
    expect(range(s, prefix, `${prefix}\u{10FFFF}`).keys).toEqual([
      composite('Consent', 'p1', 'x'),
      composite('Consent', 'p1', 'y'),
    ]);
    expect(rwOf(s).ranges.map((r) => [r.start, r.end, r.exhausted, r.reads.length])).toEqual([
      ['a', 'c', true, 2],
      ['\u0001', '', true, 3],
      [prefix, `${prefix}\u{10FFFF}`, true, 2],
    ]);
  });

  it('paginates as fabric-shim expects: one response of page size, bookmark = next key or "" at the end', () => {
    commit(1, Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`p${pad(i)}`, `v${i}`])));
    const s = sim();
    const page1 = range(s, 'p', 'q', { size: 10, bookmark: '' });
    expect([page1.keys[0], page1.keys.length, page1.hasMore, page1.metadata]).toEqual([
      'p000',
      10,
      false,
      { fetched: 10, bookmark: 'p010' },
    ]);
    const page2 = range(s, 'p', 'q', { size: 10, bookmark: 'p010' });
    expect([page2.keys[0], page2.keys.length, page2.metadata]).toEqual(['p010', 10, { fetched: 10, bookmark: 'p020' }]);
    const page3 = range(s, 'p', 'q', { size: 10, bookmark: 'p020' });
    expect([page3.keys.at(-1), page3.keys.length, page3.hasMore, page3.metadata]).toEqual([
      'p024',
      5,
      false,
      { fetched: 5, bookmark: '' },
    ]);
    // Exactly one page left: the bookmark is already empty.
    expect(range(s, 'p', 'q', { size: 5, bookmark: 'p020' }).metadata).toEqual({ fetched: 5, bookmark: '' });
    // Nothing fetched and no bookmark: the metadata is all defaults, zero bytes, and the shim sees none.
    expect(range(s, 'x', 'y', { size: 5, bookmark: '' }).metadata).toBeUndefined();
    // The end key bounds the pages.
    expect(range(s, 'p', 'p012', { size: 10, bookmark: 'p010' }).keys).toEqual(['p010', 'p011']);
    // A bookmark without a page size reads everything from it (Fabric's total query limit).
    expect(range(s, 'p', 'q', { size: 0, bookmark: 'p020' }).keys).toEqual(['p020', 'p021', 'p022', 'p023', 'p024']);
    expect(rwOf(s).ranges).toEqual([]);
  });

  it('treats metadata with neither page size nor bookmark as an ordinary scan', () => {
    commit(1, { a: '1', b: '2' });
    const s = sim();
    const r = range(s, 'a', '', { size: 0, bookmark: '' });
    expect(r.keys).toEqual(['a', 'b']);
    expect(r.metadata).toBeUndefined();
    ok(putState(s, 'c', 'allowed after an ordinary scan'));
  });

  it("refuses a paginated query after a write, and a write after a paginated query, in Fabric's words", () => {
    commit(1, { a: '1' });
    const writer = sim();
    ok(putState(writer, 'w', '1'));
    expect(refused(writer.handle(T.GET_STATE_BY_RANGE, rangeRequest('a', 'b', { size: 10, bookmark: '' })))).toBe(
      `txid [${TX}]: unsuppored transaction. Paginated queries are supported only in a read-only transaction`,
    );
    const reader = sim();
    range(reader, 'a', 'b', { size: 10, bookmark: '' });
    expect(refused(putState(reader, 'w', '1'))).toBe(
      `txid [${TX}]: unsuppored transaction. Transaction has already performed a paginated query. Writes are not allowed`,
    );
    const del = new peer.DelState();
    del.setKey('w');
    expect(refused(reader.handle(T.DEL_STATE, del.serializeBinary()))).toMatch(/Writes are not allowed/);
    expect(reader.hasWrites).toBe(false);
  });

  it('returns a key’s history newest first with transaction ids, timestamps and deletes, in batches', () => {
    commit(1, { k: 'v1' }, () => 'tx-a');
    commit(2, { other: 'x', k: 'v2' }, (k) => (k === 'k' ? 'tx-b' : 'tx-o'));
    commit(3, { k: '' }, () => 'tx-c');
    commit(4, { k: 'v3' }, () => 'tx-d');
    const s = sim();
    const m = new peer.GetHistoryForKey();
    m.setKey('k');
    const h = query(s.handle(T.GET_HISTORY_FOR_KEY, m.serializeBinary()));
    expect(h.hasMore).toBe(false);
    expect(
      h.history.map((e) => [
        e.getTxId(),
        Buffer.from(e.getValue_asU8()).toString(),
        e.getIsDelete(),
        e.getTimestamp()?.getSeconds(),
        e.getTimestamp()?.getNanos(),
      ]),
    ).toEqual([
      ['tx-d', 'v3', false, 1004, 0],
      ['tx-c', '', true, 1003, 0],
      ['tx-b', 'v2', false, 1002, 1],
      ['tx-a', 'v1', false, 1001, 0],
    ]);
    // History is not part of the read-write set.
    expect(rwOf(s)).toEqual({ reads: [], writes: [], ranges: [] });

    const many: StateWrite[] = Array.from({ length: 150 }, (_, txNum) => ({
      ns: NS,
      key: 'busy',
      value: Buffer.from(`v${txNum}`),
      txNum,
      txId: `t${txNum}`,
      seconds: 1,
      nanos: 0,
    }));
    ledger.commit({ number: 5, headerHash: Buffer.from('h5'), bytes: Buffer.from('b5'), txIds: [], writes: many });
    m.setKey('busy');
    const first = query(s.handle(T.GET_HISTORY_FOR_KEY, m.serializeBinary()));
    expect([first.history.length, first.hasMore, first.history[0]?.getTxId()]).toEqual([100, true, 't149']);
    const rest = query(next(s, first.id));
    expect([rest.history.length, rest.hasMore, rest.history.at(-1)?.getTxId()]).toEqual([50, false, 't0']);
  });

  it('refuses what the embedded network does not support, with a message', () => {
    const s = sim();
    expect(refused(putState(s, 'k', 'v', 'collection'))).toMatch(/private data/);
    const get = new peer.GetState();
    get.setKey('k');
    get.setCollection('c');
    expect(refused(s.handle(T.GET_STATE, get.serializeBinary()))).toMatch(/private data/);
    expect(refused(s.handle(T.GET_QUERY_RESULT, new Uint8Array(0)))).toMatch(/CouchDB/);
    expect(refused(s.handle(T.PUT_STATE_METADATA, new Uint8Array(0)))).toMatch(/state-based endorsement/);
    expect(refused(s.handle(T.INVOKE_CHAINCODE, new Uint8Array(0)))).toMatch(/chaincode-to-chaincode/);
    expect(refused(s.handle(T.PURGE_PRIVATE_DATA, new Uint8Array(0)))).toMatch(/private data/);
    expect(refused(s.handle(T.KEEPALIVE, new Uint8Array(0)))).toContain(TX);
    expect(refused(s.handle(T.GET_STATE, Buffer.from([0x0a, 0xff])))).not.toBe('');
    expect(
      peer.StateMetadataResult.deserializeBinary(ok(s.handle(T.GET_STATE_METADATA, get.serializeBinary()))),
    ).toBeDefined();
  });
});
