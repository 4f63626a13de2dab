import { StateLock } from './state-lock';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets every pending promise callback run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('StateLock', () => {
  it('lets readers run together', async () => {
    const lock = new StateLock();
    const a = deferred();
    const b = deferred();
    const running: string[] = [];
    const ra = lock.read(async () => {
      running.push('a');
      await a.promise;
    });
    const rb = lock.read(async () => {
      running.push('b');
      await b.promise;
    });
    await settle();
    expect(running).toEqual(['a', 'b']);
    b.resolve();
    a.resolve();
    await Promise.all([ra, rb]);
  });

  it('makes a writer wait for running readers, and readers for a running writer', async () => {
    const lock = new StateLock();
    const log: string[] = [];
    const reading = deferred();
    const r = lock.read(async () => {
      log.push('read start');
      await reading.promise;
      log.push('read end');
    });
    const w = lock.write(() => log.push('write'));
    await settle();
    expect(log).toEqual(['read start']);
    reading.resolve();
    await Promise.all([r, w]);
    expect(log).toEqual(['read start', 'read end', 'write']);
  });

  it('prefers a waiting writer: a reader arriving meanwhile waits too', async () => {
    const lock = new StateLock();
    const log: string[] = [];
    const first = deferred();
    const r1 = lock.read(async () => {
      log.push('r1');
      await first.promise;
      log.push('r1 done');
    });
    const w = lock.write(() => log.push('w'));
    const r2 = lock.read(async () => {
      log.push('r2');
    });
    await settle();
    expect(log).toEqual(['r1']);
    first.resolve();
    await Promise.all([r1, w, r2]);
    expect(log).toEqual(['r1', 'r1 done', 'w', 'r2']);
  });

  it('runs writers one at a time, then releases every waiting reader together', async () => {
    const lock = new StateLock();
    const log: string[] = [];
    const hold = deferred();
    const r0 = lock.read(() => hold.promise);
    const w1 = lock.write(() => log.push('w1'));
    const w2 = lock.write(() => log.push('w2'));
    const readers = deferred();
    const r1 = lock.read(async () => {
      log.push('r1');
      await readers.promise;
    });
    const r2 = lock.read(async () => {
      log.push('r2');
      await readers.promise;
    });
    hold.resolve();
    await settle();
    expect(log).toEqual(['w1', 'w2', 'r1', 'r2']);
    const w3 = lock.write(() => log.push('w3'));
    await settle();
    expect(log).toHaveLength(4);
    readers.resolve();
    await Promise.all([r0, w1, w2, r1, r2, w3]);
    expect(log.at(-1)).toBe('w3');
  });

  it('releases the lock when the work throws', async () => {
    const lock = new StateLock();
    await expect(lock.read(() => Promise.reject(new Error('read failed')))).rejects.toThrow('read failed');
    await expect(
      lock.write(() => {
        throw new Error('write failed');
      }),
    ).rejects.toThrow('write failed');
    await expect(lock.write(() => 'ok')).resolves.toBe('ok');
    await expect(lock.read(async () => 'ok')).resolves.toBe('ok');
  });
});
