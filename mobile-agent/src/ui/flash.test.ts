import { FLASH_TTL_MS, FlashStore } from './flash';

describe('FlashStore', () => {
  it('gives a notice once, by its id', () => {
    const store = new FlashStore();
    const id = store.put({ kind: 'success', title: 'Done' });
    expect(store.take('another')).toBeUndefined();
    expect(store.take(id)).toEqual({ kind: 'success', title: 'Done' });
    expect(store.take(id)).toBeUndefined();
    expect(store.take(undefined)).toBeUndefined();
  });

  it('drops a notice nobody fetched, codes and all, after its time', () => {
    let now = 1_000_000;
    const store = new FlashStore(() => now);
    const codes = [{ title: 'Your recovery code', about: 'Write it down.', codes: ['PHRR-AAAA'] }];
    const late = store.put({ kind: 'success', title: 'Backup made', codes });
    const inTime = store.put({ kind: 'success', title: 'Backup made', codes });
    now += FLASH_TTL_MS - 1;
    expect(store.take(inTime)?.codes).toEqual(codes);
    now += 1;
    expect(store.take(late)).toBeUndefined();
    // and it is gone from memory, not only hidden
    expect(store['waiting'].size).toBe(0);
  });

  it('keeps at most 50 notices waiting', () => {
    const store = new FlashStore();
    const first = store.put({ kind: 'success', title: 'first' });
    for (let i = 0; i < 50; i++) store.put({ kind: 'success', title: `n${i}` });
    expect(store.take(first)).toBeUndefined();
    expect(store['waiting'].size).toBe(50);
  });
});
