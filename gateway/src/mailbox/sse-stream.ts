import type { Response } from 'express';

export interface SseOptions {
  /** Comment lines keep proxies from closing an idle stream and reveal dead connections. */
  heartbeatMs: number;
  /** Reconnection delay suggested to EventSource clients. */
  retryMs: number;
}

/**
 * A server-sent-events response (text/event-stream). Owns its heartbeat timer; `closed` resolves
 * when the client disconnects or `end()` is called, after which writes are ignored.
 */
export class SseStream {
  readonly closed: Promise<void>;
  private readonly res: Response;
  private readonly heartbeat: NodeJS.Timeout;
  private open = true;

  constructor(res: Response, options: SseOptions) {
    this.res = res;
    res.status(200);
    res.set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store, no-transform',
      Connection: 'keep-alive',
      // nginx and similar proxies buffer responses unless told otherwise, which would hold events back.
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write(`retry: ${options.retryMs}\n\n`);
    this.heartbeat = setInterval(() => this.comment('heartbeat'), options.heartbeatMs);
    this.closed = new Promise((resolve) => {
      res.on('close', () => {
        this.open = false;
        clearInterval(this.heartbeat);
        resolve();
      });
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** `data` must not contain newlines (we only send compact JSON). */
  send(event: string, id: string, data: string): void {
    if (!this.open) return;
    this.res.write(`id: ${id}\nevent: ${event}\ndata: ${data}\n\n`);
  }

  comment(text: string): void {
    if (!this.open) return;
    this.res.write(`: ${text}\n\n`);
  }

  end(): void {
    if (!this.open) return;
    clearInterval(this.heartbeat);
    this.res.end();
  }
}
