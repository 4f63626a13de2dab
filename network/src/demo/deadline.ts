/** A step of the demo that did not happen as the story says: the message is what the newcomer reads. */
export class DemoFailure extends Error {
  override readonly name = 'DemoFailure';
}

/** A failure that waiting longer will not mend: `until` gives up at once. */
export class FinalFailure extends DemoFailure {}

/** Fails with `message` unless `condition` holds: every claim the demo prints is checked first. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new DemoFailure(message);
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Asks `probe` again until it gives a value or the deadline passes. The network settles on its
 * own time (blocks, gossip, a gateway's outbox), so the demo waits for it, but never forever. A
 * probe that throws is asked again (the last error is part of the timeout message), unless it
 * throws a FinalFailure.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 500,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      if (err instanceof FinalFailure) throw err;
      last = err;
    }
    if (Date.now() + intervalMs > end) {
      const why = last === undefined ? '' : ` (last error: ${errorText(last)})`;
      throw new DemoFailure(`gave up after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}
