import { check, DemoFailure, FinalFailure, until } from './deadline';

describe('deadlines', () => {
  test('until returns the first value, asking again after errors', async () => {
    let calls = 0;
    const value = await until(
      'the third call',
      async () => {
        calls += 1;
        if (calls === 1) throw new Error('not yet');
        return calls === 3 ? 'ok' : undefined;
      },
      5_000,
      1,
    );
    expect(value).toBe('ok');
  });

  test('until gives up with what it waited for and the last error', async () => {
    await expect(
      until(
        'the peer',
        async () => {
          throw new Error('UNAVAILABLE');
        },
        20,
        5,
      ),
    ).rejects.toThrow(new DemoFailure('gave up after 0 s waiting for the peer (last error: UNAVAILABLE)'));
  });

  test('until stops at once on a failure that waiting will not mend', async () => {
    let calls = 0;
    await expect(
      until(
        'the delivery',
        async () => {
          calls += 1;
          throw new FinalFailure('the device refused the delivery');
        },
        5_000,
        1,
      ),
    ).rejects.toThrow('the device refused the delivery');
    expect(calls).toBe(1);
  });

  test('check fails with the sentence it was given', () => {
    expect(() => check(1 + 1 === 3, 'the sum is not three')).toThrow(new DemoFailure('the sum is not three'));
    expect(() => check(true, 'never')).not.toThrow();
  });
});
