import { isChaincodeErrorCode, type ChaincodeErrorCode } from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import type { Logger } from '../logger';
import { isStorageFull } from '../store/storage-full';
import type { DeliveryStore, StoredDelivery } from '../store/delivery-store';
import type { LedgerPort } from './ledger-port';

export interface OutboxOptions {
  concurrency: number;
  retryMinMs: number;
  retryMaxMs: number;
}

/**
 * Refusals by the chaincode itself: each of them would refuse the same commitment again, so the
 * delivery fails instead of being retried.
 */
const REFUSED: Record<ChaincodeErrorCode, 'failed' | 'retry'> = {
  INVALID_ARGUMENT: 'failed',
  FORBIDDEN: 'failed',
  NOT_FOUND: 'failed',
  CONFLICT: 'failed',
  INVALID_STATE: 'failed',
  CONSENT_REQUIRED: 'failed',
};

/** Codes of a transaction that was ordered but committed as invalid: its id is spent. */
const SPENT = new Set(['MVCC_READ_CONFLICT', 'PHANTOM_READ_CONFLICT', 'ENDORSEMENT_POLICY_FAILURE', 'DUPLICATE_TXID']);

export type OutboxEvent =
  { type: 'committed'; delivery: StoredDelivery } | { type: 'failed'; delivery: StoredDelivery };

/**
 * Drains the ledger outbox: every queued delivery is committed exactly once, however long the
 * ledger is away. Many transactions are in flight at once, because the orderer batches them.
 */
export class OutboxWorker {
  private readonly inFlight = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private readonly listeners: ((e: OutboxEvent) => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  /**
   * Deliveries whose last attempt's outcome could not be written (a full disk): left alone until
   * then, in memory only. Their rows stay queued, so nothing is lost if the gateway stops meanwhile.
   */
  private readonly held = new Map<string, { until: number; times: number }>();

  constructor(
    private readonly store: DeliveryStore,
    private readonly ledger: LedgerPort,
    private readonly log: Logger,
    private readonly options: OutboxOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.kick();
  }

  /** Stops taking new work and waits for the transactions in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.inFlight.size > 0) await new Promise((r) => setTimeout(r, 20));
  }

  onEvent(listener: (e: OutboxEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Something was queued: look now instead of at the next timer. */
  kick(): void {
    if (this.stopped) return;
    setImmediate(() => this.pump());
  }

  get pending(): number {
    return this.store.queued();
  }

  /** Resolves when nothing is queued (for tests and graceful shutdown). */
  idle(): Promise<void> {
    if (this.store.queued() === 0 && this.inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    if (this.stopped) return;
    try {
      const room = this.options.concurrency - this.inFlight.size;
      if (room > 0) {
        const now = Date.now();
        const due = this.store
          .due(now, room + this.inFlight.size + this.held.size)
          .filter((d) => !this.inFlight.has(d.deliveryId) && (this.held.get(d.deliveryId)?.until ?? 0) <= now);
        for (const d of due.slice(0, room)) {
          this.inFlight.add(d.deliveryId);
          void this.send(d)
            .then(
              () => this.held.delete(d.deliveryId),
              (err: unknown) => this.unrecorded(d, err),
            )
            .finally(() => {
              this.inFlight.delete(d.deliveryId);
              this.kick();
            });
        }
      }
      this.schedule();
    } catch (err) {
      // The database could not be read: look again later rather than stop (or crash the gateway).
      this.log.error({ err: (err as Error).message }, 'the ledger outbox could not be read; retrying');
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.pump(), this.options.retryMaxMs);
      this.timer.unref();
    }
  }

  /**
   * An attempt whose outcome could not be written to the database (a full disk). The row stays
   * queued and the delivery is held back for a while; the next attempt sends the same signed
   * transaction again, so a commit that did happen is then found on the ledger and recorded.
   */
  private unrecorded(d: StoredDelivery, err: unknown): void {
    const times = (this.held.get(d.deliveryId)?.times ?? 0) + 1;
    const wait = Math.min(this.options.retryMaxMs, this.options.retryMinMs * 2 ** Math.min(times, 16));
    this.held.set(d.deliveryId, { until: Date.now() + wait, times });
    this.log.warn(
      { deliveryId: d.deliveryId, storageFull: isStorageFull(err), err: (err as Error).message, retryInMs: wait },
      "the outcome of a ledger commit could not be recorded in the gateway's database; it will be checked again",
    );
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    const queued = this.store.queued();
    if (queued === 0 && this.inFlight.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((w) => w());
    }
    if (queued > this.inFlight.size) {
      this.timer = setTimeout(() => this.pump(), this.options.retryMinMs);
      this.timer.unref();
    }
  }

  private async send(d: StoredDelivery): Promise<void> {
    try {
      const result = await this.ledger.submit(
        {
          transactionId: d.transactionId,
          ...(d.proposal ? { proposal: d.proposal } : {}),
          ...(d.signature ? { signature: d.signature } : {}),
        },
        d,
      );
      this.committed(d, result.blockNumber);
    } catch (err) {
      await this.handleFailure(d, err);
    }
  }

  private committed(d: StoredDelivery, blockNumber: bigint | undefined): void {
    if (this.store.markCommitted(d.deliveryId, blockNumber, new Date().toISOString())) {
      this.log.info(
        { deliveryId: d.deliveryId, txId: d.transactionId, attempts: d.attempts + 1 },
        'delivery committed',
      );
      this.emit({ type: 'committed', delivery: this.store.get(d.deliveryId) ?? d });
    }
  }

  private async handleFailure(d: StoredDelivery, err: unknown): Promise<void> {
    const code = err instanceof LedgerError ? err.code : 'LEDGER_ERROR';
    const message = err instanceof Error ? err.message : String(err);
    // Maybe it did commit (a lost reply, or a resend of a committed proposal): the ledger's state decides.
    if (!(err instanceof LedgerError && err.code === 'UNAVAILABLE')) {
      try {
        const onLedger = await this.ledger.readDelivery(d.deliveryId);
        if (onLedger && onLedger.merkleRoot === d.merkleRoot && onLedger.pseudonym === d.pseudonym) {
          this.committed(d, undefined);
          return;
        }
      } catch {
        // unreachable ledger: fall through to a retry
      }
    }
    if (isChaincodeErrorCode(code) && REFUSED[code] === 'failed') {
      this.store.markFailed(d.deliveryId, `${code}: ${message}`);
      this.log.error({ deliveryId: d.deliveryId, code }, 'the ledger refused a delivery commitment');
      this.emit({ type: 'failed', delivery: this.store.get(d.deliveryId) ?? d });
      return;
    }
    if (SPENT.has(code) || /duplicate transaction/i.test(message)) {
      try {
        this.store.replacePrepared(d.deliveryId, await this.ledger.prepareDelivery(d));
      } catch (prepErr) {
        this.log.warn(
          { deliveryId: d.deliveryId, err: (prepErr as Error).message },
          'could not prepare a new proposal',
        );
      }
    }
    const delay = Math.min(this.options.retryMaxMs, this.options.retryMinMs * 2 ** Math.min(d.attempts, 16));
    const jittered = Math.round(delay / 2 + Math.random() * (delay / 2));
    this.store.scheduleRetry(d.deliveryId, Date.now() + jittered, `${code}: ${message}`);
    this.log.warn(
      { deliveryId: d.deliveryId, code, attempts: d.attempts + 1, retryInMs: jittered },
      'ledger commit deferred',
    );
  }

  private emit(e: OutboxEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'outbox listener failed');
      }
    }
  }
}
