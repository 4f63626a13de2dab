import { createHash, randomBytes } from 'node:crypto';
import { common } from '@hyperledger/fabric-protos';
import * as asn1js from 'asn1js';
import {
  blockDataHash,
  blockHeaderBytes,
  blockHeaderHash,
  blockNumber,
  getMetadata,
  METADATA_SLOTS,
  newBlock,
  setMetadata,
} from './block';

/** protoutil.BlockHeaderBytes written with asn1js, independently of the code under test. */
function referenceHeaderDer(number: number, previousHash: Uint8Array, dataHash: Uint8Array): Buffer {
  return Buffer.from(
    new asn1js.Sequence({
      value: [
        asn1js.Integer.fromBigInt(BigInt(number)),
        new asn1js.OctetString({ valueHex: previousHash }),
        new asn1js.OctetString({ valueHex: dataHash }),
      ],
    }).toBER(false),
  );
}

function header(number: number, previousHash: Uint8Array, dataHash: Uint8Array): common.BlockHeader {
  const h = new common.BlockHeader();
  h.setNumber(number);
  h.setPreviousHash(previousHash);
  h.setDataHash(dataHash);
  return h;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();

describe('block header bytes and hash', () => {
  it.each([0, 1, 127, 128, 255, 256, 65_535, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER])(
    'encodes block number %d as DER',
    (n) => {
      const prev = randomBytes(32);
      const data = randomBytes(32);
      const h = header(n, prev, data);
      expect(blockHeaderBytes(h)).toEqual(referenceHeaderDer(n, prev, data));
      expect(blockHeaderHash(h)).toEqual(sha256(referenceHeaderDer(n, prev, data)));
    },
  );

  it('encodes empty and long hashes with DER lengths (genesis has no previous hash)', () => {
    for (const [prev, data] of [
      [new Uint8Array(0), randomBytes(32)],
      [randomBytes(200), randomBytes(300)],
      [randomBytes(70_000), new Uint8Array(0)],
    ] as const) {
      expect(blockHeaderBytes(header(7, prev, data))).toEqual(referenceHeaderDer(7, prev, data));
    }
  });
});

describe('blocks', () => {
  it('hashes the data as SHA-256 of the envelopes concatenated', () => {
    const envs = [Buffer.from('one'), Buffer.from('two'), randomBytes(1000)];
    expect(blockDataHash(envs)).toEqual(sha256(Buffer.concat(envs)));
    expect(blockDataHash([])).toEqual(sha256(new Uint8Array(0)));
  });

  it('makes a block with its header, data and five empty metadata slots', () => {
    const prev = randomBytes(32);
    const envs = [Buffer.from('a'), Buffer.from('b')];
    const block = common.Block.deserializeBinary(newBlock(3, prev, envs).serializeBinary());
    expect(blockNumber(block)).toBe(3);
    expect(Buffer.from(block.getHeader()?.getPreviousHash_asU8() ?? [])).toEqual(prev);
    expect(Buffer.from(block.getHeader()?.getDataHash_asU8() ?? [])).toEqual(sha256(Buffer.from('ab')));
    expect(
      block
        .getData()
        ?.getDataList_asU8()
        .map((d) => Buffer.from(d).toString()),
    ).toEqual(['a', 'b']);
    expect(block.getMetadata()?.getMetadataList_asU8()).toHaveLength(METADATA_SLOTS);
    for (let i = 0; i < METADATA_SLOTS; i++) expect(getMetadata(block, i)).toHaveLength(0);
  });

  it('sets one metadata slot and keeps the others, filling missing slots', () => {
    const block = newBlock(1, new Uint8Array(0), []);
    block.getMetadata()?.setMetadataList([]);
    setMetadata(block, common.BlockMetadataIndex.TRANSACTIONS_FILTER, Uint8Array.from([0, 11]));
    setMetadata(block, common.BlockMetadataIndex.SIGNATURES, Buffer.from('sig'));
    const back = common.Block.deserializeBinary(block.serializeBinary());
    expect(back.getMetadata()?.getMetadataList_asU8()).toHaveLength(METADATA_SLOTS);
    expect([...getMetadata(back, common.BlockMetadataIndex.TRANSACTIONS_FILTER)]).toEqual([0, 11]);
    expect(Buffer.from(getMetadata(back, common.BlockMetadataIndex.SIGNATURES)).toString()).toBe('sig');
    expect(getMetadata(back, common.BlockMetadataIndex.LAST_CONFIG)).toHaveLength(0);
    expect(getMetadata(new common.Block(), 0)).toHaveLength(0);
    expect(blockNumber(new common.Block())).toBe(0);
  });
});
