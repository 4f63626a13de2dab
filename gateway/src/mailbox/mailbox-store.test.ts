import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { newPseudonym } from '@phr/common';
import { MailboxError } from './mailbox-error';
import { MailboxStore, type MailEnqueued } from './mailbox-store';
import { openDatabase } from '../store/database';

const body = (n: number) => JSON.stringify({ alg: 'test', ciphertext: `c${n}` });
const msgId = (n: number) => `msg-0000000${n}`;

describe('MailboxStore', () => {
  let dir: string;
  let file: string;
  let db: DatabaseSync;
  let mailbox: MailboxStore;
  const alice = newPseudonym();
  const bob = newPseudonym();

  const open = () => {
    db = openDatabase(file);
    db.exec('PRAGMA journal_mode = WAL');
    mailbox = new MailboxStore(db);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mailbox-'));
    file = join(dir, 'gateway.sqlite');
    open();
  });
  afterEach(() => {
    if (db.isOpen) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps pending mail in order across a close and reopen (gateway restart)', () => {
    for (let i = 1; i <= 3; i++)
      mailbox.enqueue({ pseudonym: alice, messageId: msgId(i), kind: 'delivery', body: body(i) });
    mailbox.enqueue({ pseudonym: bob, messageId: msgId(9), kind: 'delivery', body: body(9) });
    db.close();

    open();
    const pending = mailbox.pending(alice);
    expect(pending.map((m) => [m.sequence, m.messageId, m.body])).toEqual([
      [1, msgId(1), body(1)],
      [2, msgId(2), body(2)],
      [3, msgId(3), body(3)],
    ]);
    expect(pending.every((m) => m.pseudonym === alice && m.ackedAt === null && m.attempts === 0)).toBe(true);
    // Sequences are per patient, and keep counting after the restart.
    expect(mailbox.pending(bob).map((m) => m.sequence)).toEqual([1]);
    expect(mailbox.enqueue({ pseudonym: alice, messageId: msgId(4), kind: 'delivery', body: body(4) }).sequence).toBe(
      4,
    );
  });

  it('is idempotent on messageId and refuses to reuse one for another patient or kind', () => {
    const first = mailbox.enqueue({ pseudonym: alice, messageId: msgId(1), kind: 'delivery', body: body(1) });
    const again = mailbox.enqueue({ pseudonym: alice, messageId: msgId(1), kind: 'delivery', body: body(2) });
    expect(again).toEqual(first);
    expect(mailbox.pending(alice)).toHaveLength(1);
    expect(() => mailbox.enqueue({ pseudonym: bob, messageId: msgId(1), kind: 'delivery', body: body(1) })).toThrow(
      expect.objectContaining({ name: 'MailboxError', code: 'conflict' }),
    );
    expect(() =>
      mailbox.enqueue({ pseudonym: alice, messageId: msgId(1), kind: 'data-request', body: body(1) }),
    ).toThrow(MailboxError);
    expect(mailbox.pending(bob)).toHaveLength(0);
  });

  it('rejects malformed input', () => {
    const ok = { pseudonym: alice, messageId: msgId(1), kind: 'delivery', body: body(1) };
    for (const bad of [
      { ...ok, pseudonym: 'Alice Smith' },
      { ...ok, messageId: 'x' },
      { ...ok, kind: 'Delivery!' },
      { ...ok, body: '' },
    ]) {
      expect(() => mailbox.enqueue(bad)).toThrow(expect.objectContaining({ code: 'invalid' }));
    }
    expect(() => mailbox.pending(alice, { limit: 0 })).toThrow(MailboxError);
    expect(() => mailbox.pending(alice, { after: -1 })).toThrow(MailboxError);
    expect(mailbox.pending(alice)).toEqual([]);
  });

  it('acknowledges idempotently, drops the body, and survives a restart', () => {
    mailbox.enqueue({ pseudonym: alice, messageId: msgId(1), kind: 'delivery', body: body(1) });
    mailbox.enqueue({ pseudonym: alice, messageId: msgId(2), kind: 'delivery', body: body(2) });
    const ack = mailbox.ack(alice, msgId(1));
    expect(ack).toEqual({ messageId: msgId(1), sequence: 1, ackedAt: expect.any(String) });
    expect(mailbox.ack(alice, msgId(1))).toEqual(ack);
    expect(mailbox.get(alice, msgId(1))).toMatchObject({ body: null, ackedAt: ack.ackedAt });
    expect(mailbox.pending(alice).map((m) => m.messageId)).toEqual([msgId(2)]);

    db.close();
    open();
    expect(mailbox.ack(alice, msgId(1))).toEqual(ack);
    // Re-enqueueing acknowledged mail (a resubmitted bundle) does not resurrect it.
    expect(mailbox.enqueue({ pseudonym: alice, messageId: msgId(1), kind: 'delivery', body: body(1) }).ackedAt).toBe(
      ack.ackedAt,
    );
    expect(mailbox.pending(alice).map((m) => m.messageId)).toEqual([msgId(2)]);
  });

  it("does not let one patient acknowledge or see another patient's mail", () => {
    mailbox.enqueue({ pseudonym: alice, messageId: msgId(1), kind: 'delivery', body: body(1) });
    expect(() => mailbox.ack(bob, msgId(1))).toThrow(expect.objectContaining({ code: 'not-found' }));
    expect(() => mailbox.ack(alice, msgId(7))).toThrow(expect.objectContaining({ code: 'not-found' }));
    expect(mailbox.get(bob, msgId(1))).toBeUndefined();
    expect(mailbox.fetch(bob)).toEqual([]);
    expect(mailbox.pending(alice)).toHaveLength(1);
  });

  it('redelivers unacknowledged mail on every fetch, counting attempts', () => {
    for (let i = 1; i <= 3; i++)
      mailbox.enqueue({ pseudonym: alice, messageId: msgId(i), kind: 'delivery', body: body(i) });
    expect(mailbox.fetch(alice).map((m) => m.attempts)).toEqual([1, 1, 1]);
    mailbox.ack(alice, msgId(2));
    const second = mailbox.fetch(alice);
    expect(second.map((m) => [m.messageId, m.attempts])).toEqual([
      [msgId(1), 2],
      [msgId(3), 2],
    ]);
    expect(second[0]?.lastFetchedAt).toEqual(expect.any(String));
    // A cursor pages through without counting what it skips; a limit only counts what it returns.
    expect(mailbox.fetch(alice, { after: 1, limit: 1 }).map((m) => m.messageId)).toEqual([msgId(3)]);
    expect(mailbox.pending(alice).map((m) => m.attempts)).toEqual([2, 3]);
  });

  it('writes nothing and announces nothing when the caller rolls back', () => {
    const events: MailEnqueued[] = [];
    mailbox.onEnqueued((e) => events.push(e));
    db.exec('BEGIN IMMEDIATE');
    const inside = mailbox.enqueue({ pseudonym: alice, messageId: msgId(1), kind: 'delivery', body: body(1) });
    expect(inside.sequence).toBe(1);
    expect(() => mailbox.announce(alice)).toThrow(expect.objectContaining({ code: 'invalid' }));
    db.exec('ROLLBACK');
    mailbox.announce(alice); // even a careless caller: nothing committed, nothing announced
    expect(events).toEqual([]);
    expect(mailbox.pending(alice)).toEqual([]);

    // The sequence the rolled-back message had is free again: order has no gaps.
    db.exec('BEGIN IMMEDIATE');
    mailbox.enqueue({ pseudonym: alice, messageId: msgId(2), kind: 'delivery', body: body(2) });
    db.exec('COMMIT');
    mailbox.announce(alice);
    expect(events).toEqual([{ pseudonym: alice, sequence: 1 }]);
  });

  it('enqueueNow commits and announces, and refuses to nest in an open transaction', () => {
    const forAlice: MailEnqueued[] = [];
    const all: MailEnqueued[] = [];
    const stop = mailbox.onEnqueuedFor(alice, (e) => forAlice.push(e));
    mailbox.onEnqueued((e) => all.push(e));
    mailbox.enqueueNow({ pseudonym: alice, messageId: msgId(1), kind: 'delivery', body: body(1) });
    mailbox.enqueueNow({ pseudonym: bob, messageId: msgId(2), kind: 'delivery', body: body(2) });
    stop();
    mailbox.enqueueNow({ pseudonym: alice, messageId: msgId(3), kind: 'delivery', body: body(3) });
    expect(forAlice).toEqual([{ pseudonym: alice, sequence: 1 }]);
    expect(all).toEqual([
      { pseudonym: alice, sequence: 1 },
      { pseudonym: bob, sequence: 1 },
      { pseudonym: alice, sequence: 2 },
    ]);

    db.exec('BEGIN');
    expect(() =>
      mailbox.enqueueNow({ pseudonym: alice, messageId: msgId(4), kind: 'delivery', body: body(4) }),
    ).toThrow();
    db.exec('ROLLBACK');
    expect(mailbox.pending(alice).map((m) => m.messageId)).toEqual([msgId(1), msgId(3)]);
  });

  it('keeps announcing to other listeners when one throws', () => {
    const seen: number[] = [];
    mailbox.onEnqueued(() => {
      throw new Error('listener bug');
    });
    mailbox.onEnqueued((e) => seen.push(e.sequence));
    expect(() =>
      mailbox.enqueueNow({ pseudonym: alice, messageId: msgId(1), kind: 'delivery', body: body(1) }),
    ).not.toThrow();
    expect(seen).toEqual([1]);
  });
});
