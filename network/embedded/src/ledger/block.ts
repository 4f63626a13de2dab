import { createHash } from 'node:crypto';
import { common } from '@hyperledger/fabric-protos';

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let body = Buffer.from(hex, 'hex');
  if ((body[0] as number) & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02]), derLength(body.length), body]);
}

function derOctets(bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0x04]), derLength(bytes.length), bytes]);
}

/**
 * The bytes a block header is hashed and signed as: ASN.1 DER of SEQUENCE { INTEGER number,
 * OCTET STRING previous_hash, OCTET STRING data_hash } (`protoutil.BlockHeaderBytes`).
 */
export function blockHeaderBytes(header: common.BlockHeader): Buffer {
  const body = Buffer.concat([
    derInteger(BigInt(header.getNumber())),
    derOctets(header.getPreviousHash_asU8()),
    derOctets(header.getDataHash_asU8()),
  ]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

/** SHA-256 of the header's DER bytes: the next block's `previous_hash`. */
export function blockHeaderHash(header: common.BlockHeader): Buffer {
  return sha256(blockHeaderBytes(header));
}

/** SHA-256 of all envelopes concatenated (`protoutil.ComputeBlockDataHash`). */
export function blockDataHash(envelopes: readonly Uint8Array[]): Buffer {
  return sha256(Buffer.concat(envelopes));
}

export const METADATA_SLOTS = 5;

/** A block with header and data filled in and five empty metadata slots. */
export function newBlock(number: number, previousHash: Uint8Array, envelopes: readonly Uint8Array[]): common.Block {
  const header = new common.BlockHeader();
  header.setNumber(number);
  header.setPreviousHash(previousHash);
  header.setDataHash(blockDataHash(envelopes));
  const data = new common.BlockData();
  data.setDataList([...envelopes]);
  const metadata = new common.BlockMetadata();
  metadata.setMetadataList(Array.from({ length: METADATA_SLOTS }, () => new Uint8Array(0)));
  const block = new common.Block();
  block.setHeader(header);
  block.setData(data);
  block.setMetadata(metadata);
  return block;
}

export function setMetadata(block: common.Block, index: number, value: Uint8Array): void {
  const md = block.getMetadata() as common.BlockMetadata;
  const list = md.getMetadataList_asU8().slice();
  while (list.length < METADATA_SLOTS) list.push(new Uint8Array(0));
  list[index] = value;
  md.setMetadataList(list);
}

export function getMetadata(block: common.Block, index: number): Uint8Array {
  return block.getMetadata()?.getMetadataList_asU8()[index] ?? new Uint8Array(0);
}

export function blockNumber(block: common.Block): number {
  return block.getHeader()?.getNumber() ?? 0;
}
