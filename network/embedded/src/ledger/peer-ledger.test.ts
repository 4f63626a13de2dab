import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeerLedger, type BlockCommit, type StateWrite } from './peer-ledger';

const NS = 'phr';
const write = (key: string, value: string, txNum = 0, txId = `tx-${key}-${txNum}`): StateWrite => ({
  ns: NS,
  key,
  value: Buffer.from(value),
  txNum,
  txId,
  seconds: 1_700_000_000 + txNum,
  nanos: 5,
});

describe('PeerLedger', () => {
  const dir = mkdtempSync(join(tmpdir(), 'phr-ledger-'));
  let n = 0;
  let ledger: PeerLedger;
  let file: string;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    file = join(dir, `ledger-${n++}.db`);
    ledger = new PeerLedger(file);
  });
  afterEach(() => ledger.close());

  const block = (number: number, writes: StateWrite[], txIds: BlockCommit['txIds'] = []): BlockCommit => ({
    number,
    headerHash: Buffer.from(`hash-${number}`),
    bytes: Buffer.from(`block-${number}`),
    txIds,
    writes,
  });
  const keys = (rows: { key: string }[]) => rows.map((r) => r.key);

  it('orders keys byte-wise on UTF-8, as LevelDB does', () => {
    // UTF-16 order would put U+FFFD before U+1F600 (a surrogate pair); UTF-8 bytes put it after.
    const all = ['b', 'a', '\u0000x\u0000', 'é', '\uFFFD', '😀', 'a\u0000', 'Z', '\u0001', 'ab'];
    ledger.commit(
      block(
        0,
        all.map((k) => write(k, `v-${k}`)),
      ),
    );
    const byBytes = [...all].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(byBytes).toEqual(['\u0000x\u0000', '\u0001', 'Z', 'a', 'a\u0000', 'ab', 'b', 'é', '\uFFFD', '😀']);
    expect(keys(ledger.range(NS, '', '', 100))).toEqual(byBytes);
    expect(keys(ledger.range(NS, 'a', 'b', 100))).toEqual(['a', 'a\u0000', 'ab']);
    expect(Buffer.from(ledger.getState(NS, '😀')?.value ?? []).toString()).toBe('v-😀');
  });

  it('ranges: start inclusive, end exclusive or inclusive, empty end open, with a limit', () => {
    ledger.commit(
      block(
        0,
        ['k1', 'k2', 'k3', 'k4'].map((k, i) => write(k, k, i)),
      ),
    );
    expect(keys(ledger.range(NS, 'k2', 'k4', 100))).toEqual(['k2', 'k3']);
    expect(keys(ledger.range(NS, 'k2', 'k4', 100, true))).toEqual(['k2', 'k3', 'k4']);
    expect(keys(ledger.range(NS, 'k2', '', 100))).toEqual(['k2', 'k3', 'k4']);
    expect(keys(ledger.range(NS, 'k2', '', 100, true))).toEqual(['k2', 'k3', 'k4']);
    expect(keys(ledger.range(NS, 'k1', '', 2))).toEqual(['k1', 'k2']);
    expect(keys(ledger.range(NS, 'k3', 'k3', 100))).toEqual([]);
    expect(keys(ledger.range('other', '', '', 100))).toEqual([]);
    expect(ledger.range(NS, 'k3', 'k4', 100)[0]?.version).toEqual({ block: 0, txNum: 2 });
  });

  it('keeps namespaces apart', () => {
    ledger.commit(block(0, [write('k', 'phr'), { ...write('k', 'other'), ns: 'other' }]));
    expect(Buffer.from(ledger.getState(NS, 'k')?.value ?? []).toString()).toBe('phr');
    expect(Buffer.from(ledger.getState('other', 'k')?.value ?? []).toString()).toBe('other');
    expect(ledger.history('other', 'k')).toHaveLength(1);
  });

  it('versions each key by block and transaction; an empty value deletes it', () => {
    ledger.commit(block(0, [write('a', '1', 0), write('b', '1', 1)]));
    expect(ledger.getState(NS, 'a')?.version).toEqual({ block: 0, txNum: 0 });
    ledger.commit(block(1, [write('a', '2', 3), write('b', '', 4)]));
    expect(ledger.getState(NS, 'a')).toEqual({ value: expect.anything(), version: { block: 1, txNum: 3 } });
    expect(Buffer.from(ledger.getState(NS, 'a')?.value ?? []).toString()).toBe('2');
    expect(ledger.getState(NS, 'b')).toBeUndefined();
    expect(keys(ledger.range(NS, '', '', 10))).toEqual(['a']);
  });

  it('keeps history newest first with transaction ids, timestamps and deletes', () => {
    ledger.commit(block(0, [write('k', 'v1', 0, 'tx1')]));
    ledger.commit(block(1, [write('x', 'other', 0, 'tx2'), write('k', 'v2', 1, 'tx3')]));
    ledger.commit(block(2, [write('k', '', 0, 'tx4')]));
    ledger.commit(block(3, [write('k', 'v3', 2, 'tx5')]));
    expect(
      ledger.history(NS, 'k').map((h) => [h.txId, Buffer.from(h.value).toString(), h.isDelete, h.seconds, h.nanos]),
    ).toEqual([
      ['tx5', 'v3', false, 1_700_000_002, 5],
      ['tx4', '', true, 1_700_000_000, 5],
      ['tx3', 'v2', false, 1_700_000_001, 5],
      ['tx1', 'v1', false, 1_700_000_000, 5],
    ]);
    expect(ledger.history(NS, 'never')).toEqual([]);
  });

  it('indexes every transaction id; the first entry wins', () => {
    ledger.commit(block(0, [], [{ txId: 'genesis', txNum: 0, code: 0 }]));
    ledger.commit(
      block(
        1,
        [],
        [
          { txId: 't1', txNum: 0, code: 0 },
          { txId: 't2', txNum: 1, code: 11 },
          { txId: 't1', txNum: 2, code: 9 },
        ],
      ),
    );
    ledger.commit(block(2, [], [{ txId: 't2', txNum: 0, code: 9 }]));
    expect(ledger.txStatus('t1')).toEqual({ block: 1, txNum: 0, code: 0 });
    expect(ledger.txStatus('t2')).toEqual({ block: 1, txNum: 1, code: 11 });
    expect(ledger.txStatus('nope')).toBeUndefined();
  });

  it('stores blocks by number with their header hashes, and only the next block', () => {
    ledger.commit(block(0, []));
    expect(() => ledger.commit(block(2, []))).toThrow(/not the next block/);
    expect(() => ledger.commit(block(0, []))).toThrow(/not the next block/);
    ledger.commit(block(1, []));
    expect(ledger.height()).toBe(2);
    expect(Buffer.from(ledger.block(1) ?? []).toString()).toBe('block-1');
    expect(Buffer.from(ledger.headerHash(0) ?? []).toString()).toBe('hash-0');
    expect(ledger.block(2)).toBeUndefined();
    expect(ledger.headerHash(5)).toBeUndefined();
  });

  it('commits a block atomically: a failure half-way leaves nothing of it', () => {
    ledger.commit(block(0, [write('k', 'before')], [{ txId: 'g', txNum: 0, code: 0 }]));
    const broken = block(
      1,
      [write('k', 'after', 0, 'ok'), write('new', 'x', 0, 'ok'), { ...write('z', 'x'), ns: null as unknown as string }],
      [{ txId: 'ok', txNum: 0, code: 0 }],
    );
    expect(() => ledger.commit(broken)).toThrow();
    expect(ledger.height()).toBe(1);
    expect(ledger.block(1)).toBeUndefined();
    expect(ledger.txStatus('ok')).toBeUndefined();
    expect(Buffer.from(ledger.getState(NS, 'k')?.value ?? []).toString()).toBe('before');
    expect(ledger.getState(NS, 'new')).toBeUndefined();
    expect(ledger.history(NS, 'k')).toHaveLength(1);
    // The ledger is still usable.
    ledger.commit(block(1, [write('k', 'after')]));
    expect(Buffer.from(ledger.getState(NS, 'k')?.value ?? []).toString()).toBe('after');
  });

  it('keeps everything after reopening', () => {
    ledger.commit(block(0, [write('k', 'v', 0, 'tx')], [{ txId: 'tx', txNum: 0, code: 0 }]));
    ledger.close();
    ledger = new PeerLedger(file);
    expect(ledger.height()).toBe(1);
    expect(Buffer.from(ledger.getState(NS, 'k')?.value ?? []).toString()).toBe('v');
    expect(ledger.txStatus('tx')).toEqual({ block: 0, txNum: 0, code: 0 });
    expect(ledger.history(NS, 'k').map((h) => h.txId)).toEqual(['tx']);
    expect(Buffer.from(ledger.block(0) ?? []).toString()).toBe('block-0');
  });
});
