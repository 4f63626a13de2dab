import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { common } from '@hyperledger/fabric-protos';
import { blockHeaderHash, getMetadata, newBlock } from '../ledger/block';
import { PeerLedger } from '../ledger/peer-ledger';
import { StateLock } from '../ledger/state-lock';
import { silentLogger } from '../testing/channel';
import { BlockInvalidError, type BlockValidator, type ValidatedBlock } from './block-validator';
import { Committer, type CommittedBlock } from './committer';

/** A validator that checks only the block number and answers the codes it is given. */
class FakeValidator {
  codes: number[][] = [];
  failNext = false;
  checkBlock(block: common.Block, expected: number): void {
    if (block.getHeader()?.getNumber() !== expected) throw new BlockInvalidError(`expected block ${expected}`);
  }
  async validate(block: common.Block): Promise<ValidatedBlock> {
    await new Promise((r) => setImmediate(r));
    if (this.failNext) {
      this.failNext = false;
      throw new Error('validation blew up');
    }
    const number = block.getHeader()?.getNumber() as number;
    const codes = this.codes.shift() ?? [];
    return {
      codes,
      txIds: codes.map((code, txNum) => ({ txId: `b${number}t${txNum}`, txNum, code })),
      writes: [
        { ns: 'phr', key: `k${number}`, value: Buffer.from('v'), txNum: 0, txId: `b${number}t0`, seconds: 1, nanos: 0 },
      ],
    };
  }
}

describe('Committer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'phr-committer-'));
  let ledger: PeerLedger;
  let lock: StateLock;
  let validator: FakeValidator;
  let committer: Committer;
  const blocks: common.Block[] = [];

  beforeEach(() => {
    ledger = new PeerLedger(join(dir, `ledger-${Date.now()}-${Math.random()}.db`));
    lock = new StateLock();
    validator = new FakeValidator();
    committer = new Committer(ledger, lock, validator as unknown as BlockValidator, silentLogger());
    blocks.length = 0;
    let prev: Uint8Array = new Uint8Array(0);
    for (let n = 0; n < 4; n++) {
      const b = newBlock(n, prev, [Buffer.from(`env-${n}-a`), Buffer.from(`env-${n}-b`)]);
      prev = blockHeaderHash(b.getHeader() as common.BlockHeader);
      blocks.push(b);
    }
  });
  afterEach(() => ledger.close());
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes TRANSACTIONS_FILTER into the stored block and tells the listeners', async () => {
    const seen: CommittedBlock[] = [];
    const off = committer.onCommitted((b) => seen.push(b));
    validator.codes = [[0, 11]];
    await committer.commit((blocks[0] as common.Block).serializeBinary());
    const stored = common.Block.deserializeBinary(ledger.block(0) as Uint8Array);
    expect([...getMetadata(stored, common.BlockMetadataIndex.TRANSACTIONS_FILTER)]).toEqual([0, 11]);
    expect(Buffer.from(ledger.headerHash(0) as Uint8Array)).toEqual(
      blockHeaderHash(stored.getHeader() as common.BlockHeader),
    );
    expect(ledger.txStatus('b0t1')).toEqual({ block: 0, txNum: 1, code: 11 });
    expect(seen).toEqual([
      {
        number: 0,
        txIds: [
          { txId: 'b0t0', txNum: 0, code: 0 },
          { txId: 'b0t1', txNum: 1, code: 11 },
        ],
      },
    ]);
    off();
    await committer.commit((blocks[1] as common.Block).serializeBinary());
    expect(seen).toHaveLength(1);
  });

  it('commits queued blocks one at a time, in order, and goes on after a failure', async () => {
    const order: number[] = [];
    committer.onCommitted((b) => order.push(b.number));
    const bytes = blocks.map((b) => b.serializeBinary());
    const p0 = committer.commit(bytes[0] as Uint8Array);
    const p1 = committer.commit(bytes[1] as Uint8Array);
    const p3 = committer.commit(bytes[3] as Uint8Array);
    const p2 = committer.commit(bytes[2] as Uint8Array);
    await Promise.all([p0, p1]);
    await expect(p3).rejects.toThrow(/expected block 2/);
    await p2;
    expect(order).toEqual([0, 1, 2]);
    validator.failNext = true;
    await expect(committer.commit(bytes[3] as Uint8Array)).rejects.toThrow('validation blew up');
    expect(ledger.height()).toBe(3);
    await committer.commit(bytes[3] as Uint8Array);
    await committer.commit(bytes[1] as Uint8Array);
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it('waits for running simulations before changing the state', async () => {
    let release!: () => void;
    const simulation = lock.read(() => new Promise<void>((r) => (release = r)));
    const commit = committer.commit((blocks[0] as common.Block).serializeBinary());
    await new Promise((r) => setTimeout(r, 20));
    expect(ledger.height()).toBe(0);
    release();
    await Promise.all([simulation, commit]);
    expect(ledger.height()).toBe(1);
    expect(ledger.getState('phr', 'k0')).toBeDefined();
  });
});
