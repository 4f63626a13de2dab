import type { Logger } from '../logging';
import { seekEnvelope, type ChannelClients } from '../node/channel-clients';
import type { LocalIdentity } from '../node/local-identity';
import { readFields } from '../node/wire';

export interface BlockPullerOptions {
  channelId: string;
  identity: LocalIdentity;
  clients: ChannelClients;
  endpoints: () => string[];
  height: () => number;
  commit: (block: Uint8Array) => Promise<void>;
  log: Logger;
}

/**
 * Keeps the peer's ledger following the orderer: a Deliver stream from the peer's height on,
 * blocks committed one at a time (the stream is paused meanwhile). When the orderer goes away the
 * puller retries, rotating over the channel's orderer endpoints with a capped backoff, and resumes
 * from whatever height the ledger has then: a peer that was down catches up the same way.
 */
export class BlockPuller {
  private stopped = false;
  private current: { cancel(): void } | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: BlockPullerOptions) {}

  start(): void {
    this.connect();
  }

  private connect(): void {
    if (this.stopped) return;
    const endpoints = this.o.endpoints();
    const address = endpoints[this.attempt % Math.max(1, endpoints.length)];
    if (!address) {
      this.retry('the channel names no orderer');
      return;
    }
    const call = this.o.clients.deliver(address);
    this.current = call;
    let received = false;
    let commits: Promise<void> = Promise.resolve();
    call.on('data', (bytes: Buffer) => {
      const fields = readFields(bytes);
      const block = fields.get(2)?.[0];
      if (block instanceof Uint8Array) {
        received = true;
        this.attempt = 0;
        call.pause();
        commits = commits
          .then(() => this.o.commit(block))
          .then(
            () => {
              call.resume();
            },
            (err: unknown) => {
              this.o.log.error({ event: 'commit-failed', err: String(err) }, 'could not commit a block; reconnecting');
              call.cancel();
            },
          );
      } else {
        const status = fields.get(1)?.[0];
        this.o.log.warn({ event: 'deliver-status', orderer: address, status }, 'orderer ended the block stream');
      }
    });
    let ended = false;
    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      if (this.current === call) this.current = undefined;
      void commits.then(() => this.retry(reason, received ? undefined : address));
    };
    call.on('error', (err: Error) => end(err.message));
    call.on('end', () => end('stream ended'));
    call.write(seekEnvelope(this.o.identity, this.o.channelId, this.o.height()));
  }

  private retry(reason: string, failedAddress?: string): void {
    if (this.stopped) return;
    this.attempt++;
    const delay = Math.min(2000, 100 * 2 ** Math.min(this.attempt, 5));
    this.o.log.info(
      { event: 'deliver-retry', reason, orderer: failedAddress, delayMs: delay },
      'reconnecting to the ordering service',
    );
    this.timer = setTimeout(() => this.connect(), delay);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.current?.cancel();
  }
}
