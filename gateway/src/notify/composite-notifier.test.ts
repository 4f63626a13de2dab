import { CompositeNotifier } from './composite-notifier';
import { LocalNotifier } from './local-notifier';
import type { Logger } from './logger';

describe('CompositeNotifier with the local channel', () => {
  const pseudonym = 'ptabcdefghijklmnopqrstuvwxyz';

  it('reaches every open stream of the patient, and only that patient', async () => {
    const local = new LocalNotifier();
    const notifier = new CompositeNotifier({ local, logger: recordingLogger([]) });
    const a: number[] = [];
    const b: number[] = [];
    const other: number[] = [];
    local.subscribe(pseudonym, (h) => a.push(h.sequence));
    const stopB = local.subscribe(pseudonym, (h) => b.push(h.sequence));
    local.subscribe('ptzzzzzzzzzzzzzzzzzzzzzzzzzz', (h) => other.push(h.sequence));
    await notifier.wake(pseudonym, { sequence: 1 });
    stopB();
    await notifier.wake(pseudonym, { sequence: 2 });
    expect(a).toEqual([1, 2]);
    expect(b).toEqual([1]);
    expect(other).toEqual([]);
    expect(local.subscriberCount(pseudonym)).toBe(1);
  });

  it('never rejects: a broken stream is logged and the other streams still hear', async () => {
    const local = new LocalNotifier();
    const logs: object[] = [];
    const notifier = new CompositeNotifier({ local, logger: recordingLogger(logs) });
    const heard: number[] = [];
    local.subscribe(pseudonym, () => {
      throw new Error('socket gone');
    });
    local.subscribe(pseudonym, (h) => heard.push(h.sequence));
    await expect(notifier.wake(pseudonym, { sequence: 3 })).resolves.toBeUndefined();
    expect(heard).toEqual([3]);
    expect(logs).toEqual([{ pseudonym, channel: 'local', code: 'failed' }]);
  });
});

function recordingLogger(into: object[]): Logger {
  const record = (fields: object) => void into.push(fields);
  return { debug: () => undefined, info: record, warn: record, error: record };
}
