import type { Logger } from '../logging';

/**
 * Runs a node process: logs start-up failures and exits non-zero; stops cleanly on SIGTERM/SIGINT
 * (the network scripts send SIGTERM to the process group, then SIGKILL after 5 s).
 */
export function runNode(name: string, log: Logger, start: () => Promise<() => Promise<void>>): void {
  start().then(
    (stop) => {
      let stopping = false;
      const onSignal = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ event: 'stopping', signal }, `${name} stopping`);
        stop().then(
          () => process.exit(0),
          (err: unknown) => {
            log.error({ event: 'stop-failed', err: String(err) }, `${name} did not stop cleanly`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => onSignal('SIGTERM'));
      process.on('SIGINT', () => onSignal('SIGINT'));
    },
    (err: unknown) => {
      log.fatal(
        { event: 'start-failed', err: err instanceof Error ? err.message : String(err) },
        `${name} failed to start`,
      );
      process.exit(1);
    },
  );
}
