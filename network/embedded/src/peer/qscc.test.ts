import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { common, peer } from '@hyperledger/fabric-protos';
import { blockHeaderHash, newBlock } from '../ledger/block';
import { PeerLedger } from '../ledger/peer-ledger';
import type { Identity } from '../msp/msp';
import { Qscc } from './qscc';

describe('Qscc', () => {
  const dir = mkdtempSync(join(tmpdir(), 'phr-qscc-'));
  const ledger = new PeerLedger(join(dir, 'ledger.db'));
  const qscc = new Qscc('phr', ledger);
  const caller = {} as Identity;
  const call = (...args: string[]) =>
    qscc.invoke(
      args.map((a) => Buffer.from(a)),
      caller,
    );
  const blocks: common.Block[] = [];
  const envelope = (text: string) => {
    const e = new common.Envelope();
    e.setPayload(Buffer.from(text));
    return e.serializeBinary();
  };
  beforeAll(() => {
    let prev: Uint8Array = new Uint8Array(0);
    for (let n = 0; n < 3; n++) {
      const b = newBlock(n, prev, [envelope(`env-${n}-0`), envelope(`env-${n}-1`)]);
      prev = blockHeaderHash(b.getHeader() as common.BlockHeader);
      blocks.push(b);
      ledger.commit({
        number: n,
        headerHash: prev,
        bytes: b.serializeBinary(),
        txIds: [0, 1].map((txNum) => ({ txId: `tx-${n}-${txNum}`, txNum, code: txNum === 1 ? 11 : 0 })),
        writes: [],
      });
    }
  });
  afterAll(() => {
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GetChainInfo: height and the last two header hashes', () => {
    const r = call('GetChainInfo', 'phr');
    expect(r.getStatus()).toBe(200);
    const info = common.BlockchainInfo.deserializeBinary(r.getPayload_asU8());
    expect(info.getHeight()).toBe(3);
    expect(Buffer.from(info.getCurrentblockhash_asU8())).toEqual(
      blockHeaderHash(blocks[2]?.getHeader() as common.BlockHeader),
    );
    expect(Buffer.from(info.getPreviousblockhash_asU8())).toEqual(
      blockHeaderHash(blocks[1]?.getHeader() as common.BlockHeader),
    );
  });

  it('GetBlockByNumber, GetBlockByTxID and GetTransactionByID with its validation code', () => {
    expect(Buffer.from(call('GetBlockByNumber', 'phr', '1').getPayload_asU8())).toEqual(
      Buffer.from(blocks[1]?.serializeBinary() ?? []),
    );
    expect(Buffer.from(call('GetBlockByTxID', 'phr', 'tx-2-1').getPayload_asU8())).toEqual(
      Buffer.from(blocks[2]?.serializeBinary() ?? []),
    );
    const processed = peer.ProcessedTransaction.deserializeBinary(
      call('GetTransactionByID', 'phr', 'tx-1-1').getPayload_asU8(),
    );
    expect(processed.getValidationcode()).toBe(11);
    expect(Buffer.from(processed.getTransactionenvelope()?.getPayload_asU8() ?? []).toString()).toBe('env-1-1');
  });

  it('answers 500 with Fabric-like messages otherwise', () => {
    expect(call('GetBlockByNumber', 'phr', '9').getMessage()).toMatch(/Failed to get block number 9/);
    expect(call('GetBlockByNumber', 'phr', 'x').getStatus()).toBe(500);
    expect(call('GetBlockByTxID', 'phr', 'nope').getMessage()).toMatch(/Failed to get block for txID nope/);
    expect(call('GetTransactionByID', 'phr', 'nope').getMessage()).toMatch(/Failed to get transaction with id nope/);
    expect(call('GetChainInfo', 'other').getMessage()).toBe('Invalid chain ID, other');
    expect(call('Nope', 'phr').getMessage()).toBe('Requested function Nope not found.');
    expect(qscc.invoke([], caller).getMessage()).toBe('Incorrect number of arguments, 0');
  });
});
