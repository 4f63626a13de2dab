import { silentLogger } from '../notify/logger';
import type { Logger } from '../logger';
import { openDatabase } from '../store/database';
import { DeliveryStore } from '../store/delivery-store';
import { NoLedger } from './no-ledger';
import { OutboxWorker } from './outbox-worker';

/** The error node:sqlite throws when the disk is full. */
const diskFull = () =>
  Object.assign(new Error('database or disk is full'), { code: 'ERR_SQLITE_ERROR', errcode: 13, errstr: 'full' });

describe('the ledger outbox on a full disk', () => {
  it('keeps running when a commit cannot be written down, and records it once there is room', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const db = openDatabase(':memory:');
    const store = new DeliveryStore(db);
    const ledger = new NoLedger(new Map(), 'Hospital1MSP');
    let submits = 0;
    const submit = ledger.submit.bind(ledger);
    ledger.submit = (prepared, c) => {
      submits += 1;
      return submit(prepared, c);
    };
    const commitment = {
      deliveryId: 'delivery-full-1',
      pseudonym: 'pt0000000000000000000000000a',
      merkleRoot: 'a'.repeat(64),
      elementCount: 3,
      segmentCount: 1,
      categories: [],
    };
    store.insert(
      commitment,
      { idempotencyKey: 'k', contentKey: 'c' },
      await ledger.prepareDelivery(),
      '{}',
      new Date().toISOString(),
    );
    // The disk is full for the first three attempts to record the outcome (commit or retry).
    let full = 3;
    for (const method of ['markCommitted', 'scheduleRetry'] as const) {
      const original = store[method].bind(store) as (...args: unknown[]) => unknown;
      (store as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        if (full > 0) {
          full -= 1;
          throw diskFull();
        }
        return original(...args);
      };
    }
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (_o: unknown, msg?: string) => warnings.push(msg ?? '') } as unknown as Logger;
    const outbox = new OutboxWorker(store, ledger, log, { concurrency: 4, retryMinMs: 10, retryMaxMs: 40 });
    try {
      outbox.start();
      await outbox.idle();
      expect(store.get(commitment.deliveryId)?.status).toBe('committed');
      expect(full).toBe(0);
      expect(warnings.filter((w) => /could not be recorded/.test(w)).length).toBeGreaterThan(0);
      // Sent again after each unrecorded attempt: the same transaction, found on the ledger and recorded.
      expect(submits).toBeGreaterThan(1);
      expect(unhandled).toEqual([]);
    } finally {
      await outbox.stop();
      process.off('unhandledRejection', onUnhandled);
      db.close();
    }
  });
});
