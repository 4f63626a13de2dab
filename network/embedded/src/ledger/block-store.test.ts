import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockStore } from './block-store';

describe('BlockStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'phr-blockstore-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('appends only the next block and keeps the chain after reopening', () => {
    const file = join(dir, 'chain.db');
    let store = new BlockStore(file);
    expect(store.height()).toBe(0);
    expect(store.block(0)).toBeUndefined();
    expect(() => store.append(1, Buffer.from('h1'), Buffer.from('b1'))).toThrow(/not the next block/);
    store.append(0, Buffer.from('h0'), Buffer.from('b0'));
    store.append(1, Buffer.from('h1'), Buffer.from('b1'));
    expect(() => store.append(1, Buffer.from('h1'), Buffer.from('again'))).toThrow(/not the next block/);
    store.close();
    store = new BlockStore(file);
    expect(store.height()).toBe(2);
    expect(Buffer.from(store.block(1) ?? []).toString()).toBe('b1');
    expect(Buffer.from(store.headerHash(0) ?? []).toString()).toBe('h0');
    expect(store.headerHash(2)).toBeUndefined();
    store.close();
  });
});
