import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { newPseudonym } from '@phr/common';
import { WakeupChannelStore } from './wakeup-channels';
import { openDatabase } from '../store/database';

describe('WakeupChannelStore', () => {
  let dir: string;
  let file: string;
  let db: DatabaseSync;
  const alice = newPseudonym();
  const oldToken = 'old-token_0123456789:abc';
  const newToken = 'new-token_0123456789:def';

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wakeup-'));
    file = join(dir, 'gateway.sqlite');
    db = openDatabase(file);
  });
  afterEach(() => {
    if (db.isOpen) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('defaults to nothing registered and keeps registrations across a restart', () => {
    const channels = new WakeupChannelStore(db);
    expect(channels.get(alice)).toBeUndefined();
    expect(channels.fcmToken(alice)).toBeUndefined();
    channels.register(alice, { channel: 'fcm', token: oldToken });
    db.close();
    db = openDatabase(file);
    const reopened = new WakeupChannelStore(db);
    expect(reopened.get(alice)).toEqual({
      pseudonym: alice,
      channel: 'fcm',
      token: oldToken,
      updatedAt: expect.any(String),
    });
    expect(reopened.fcmToken(alice)).toBe(oldToken);
  });

  it('invalidates only the token FCM complained about, and a new registration clears the mark', () => {
    const channels = new WakeupChannelStore(db);
    channels.register(alice, { channel: 'fcm', token: oldToken });
    channels.register(alice, { channel: 'fcm', token: newToken });
    // A late failure report for the replaced token must not kill the fresh one.
    expect(channels.markTokenInvalid(alice, oldToken)).toBe(false);
    expect(channels.fcmToken(alice)).toBe(newToken);

    expect(channels.markTokenInvalid(alice, newToken)).toBe(true);
    expect(channels.markTokenInvalid(alice, newToken)).toBe(false);
    expect(channels.fcmToken(alice)).toBeUndefined();
    expect(channels.get(alice)?.tokenInvalidAt).toEqual(expect.any(String));

    channels.register(alice, { channel: 'fcm', token: newToken });
    expect(channels.fcmToken(alice)).toBe(newToken);
    channels.register(alice, { channel: 'local' });
    expect(channels.get(alice)).toEqual({ pseudonym: alice, channel: 'local', updatedAt: expect.any(String) });
  });
});
