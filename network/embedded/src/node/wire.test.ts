import { randomBytes } from 'node:crypto';
import { common, orderer as ordererProtos } from '@hyperledger/fabric-protos';
import { Timestamp } from 'google-protobuf/google/protobuf/timestamp_pb';
import { newBlock } from '../ledger/block';
import { bytesField, readFields } from './wire';

describe('wire', () => {
  it.each([0, 1, 127, 128, 16_383, 16_384, 300_000])('writes a %d-byte field as protobuf does', (size) => {
    const block = newBlock(5, randomBytes(32), [randomBytes(size)]);
    const response = new ordererProtos.DeliverResponse();
    response.setBlock(block);
    expect(bytesField(2, block.serializeBinary())).toEqual(Buffer.from(response.serializeBinary()));
  });

  it('writes field numbers that need a two-byte tag', () => {
    expect([...bytesField(16, Buffer.from('x'))]).toEqual([0x82, 0x01, 0x01, 0x78]);
  });

  it('reads top-level fields: varints, exact embedded bytes, repeated fields in order', () => {
    const header = new common.BlockHeader();
    header.setNumber(2 ** 40 + 3);
    header.setPreviousHash(Buffer.from('prev'));
    header.setDataHash(Buffer.from('data'));
    const fields = readFields(header.serializeBinary());
    expect(fields.get(1)).toEqual([2 ** 40 + 3]);
    expect(Buffer.from(fields.get(2)?.[0] as Uint8Array).toString()).toBe('prev');
    expect(Buffer.from(fields.get(3)?.[0] as Uint8Array).toString()).toBe('data');

    const data = new common.BlockData();
    data.setDataList([Buffer.from('a'), Buffer.from(''), Buffer.from('c')]);
    expect(
      readFields(data.serializeBinary())
        .get(1)
        ?.map((b) => Buffer.from(b as Uint8Array).toString()),
    ).toEqual(['a', '', 'c']);

    const ts = new Timestamp();
    ts.setSeconds(1_700_000_000);
    ts.setNanos(5);
    expect([...readFields(ts.serializeBinary()).entries()]).toEqual([
      [1, [1_700_000_000]],
      [2, [5]],
    ]);
    // A DeliverResponse's block comes back as the very bytes that were sent.
    const blockBytes = newBlock(1, randomBytes(32), [randomBytes(10)]).serializeBinary();
    expect(Buffer.from(readFields(bytesField(2, blockBytes)).get(2)?.[0] as Uint8Array)).toEqual(
      Buffer.from(blockBytes),
    );
    const status = new ordererProtos.DeliverResponse();
    status.setStatus(common.Status.FORBIDDEN);
    expect(readFields(status.serializeBinary()).get(1)).toEqual([403]);
  });

  it('reads fixed-width fields and refuses truncated or unknown wire types', () => {
    const fixed = Buffer.from([(1 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8, (2 << 3) | 5, 9, 9, 9, 9]);
    const fields = readFields(fixed);
    expect([...(fields.get(1)?.[0] as Uint8Array)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...(fields.get(2)?.[0] as Uint8Array)]).toEqual([9, 9, 9, 9]);
    expect(() => readFields(Buffer.from([0x08, 0x80]))).toThrow(/truncated/);
    expect(() => readFields(Buffer.from([(1 << 3) | 3]))).toThrow(/wire type 3/);
    expect(readFields(new Uint8Array(0)).size).toBe(0);
  });
});
