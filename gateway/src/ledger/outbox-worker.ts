import { isChaincodeErrorCode, MAX_DELIVERIES_PER_TRANSACTION, type ChaincodeErrorCode } from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import type { Logger } from '../logger';
import { isStorageFull } from '../store/storage-full';
import type { DeliveryStore, QueuedDelivery, StoredDelivery } from '../store/delivery-store';
import type { DeliverySlot, LedgerPort, PreparedCommit } from './ledger-port';

export interface OutboxOptions {
  /** Ledger transactions in flight at once. */
  concurrency: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** The most deliveries one transaction records (1: each delivery alone). */
  batchSize: number;
  /**
   * While fewer than this many transactions are in flight, a transaction is sent as soon as it
   * holds a delivery: under light load nothing waits. Otherwise (and while the ledger is out of
   * reach) the open transaction collects deliveries until fewer are in flight again, it is full,
   * or `batchWindowMs` has passed.
   */
  eagerTransactions: number;
  /** The longest a transaction stays open for more deliveries. */
  batchWindowMs: number;
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
 * ledger is away. Deliveries share transactions: each joins the open one as it is stored (its
 * receipt names that transaction's id at once), and the transaction is closed and sent at once
 * under light load, or, while `eagerTransactions` are in flight, when fewer are again, when it is
 * full, or when its window has passed. Up to `concurrency` transactions are in flight.
 */
export class OutboxWorker {
  /** Transactions being sent, and how many deliveries they hold. */
  private readonly inFlight = new Map<string, number>();
  private inFlightDeliveries = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private readonly listeners: ((e: OutboxEvent) => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  /**
   * Transactions whose last attempt's outcome could not be written (a full disk): left alone until
   * then, in memory only. Their rows stay queued, so nothing is lost if the gateway stops meanwhile.
   */
  private readonly held = new Map<string, { until: number; times: number }>();
  /** The transaction deliveries join now; it exists in the database only through them. */
  private open: { slot: DeliverySlot; openedAt: number; members: number } | undefined;
  /**
   * The last attempt found the ledger out of reach: sends fail at once then, so nothing stays in
   * flight, and without this every delivery of an outage would close its own transaction.
   */
  private away = false;

  constructor(
    private readonly store: DeliveryStore,
    private readonly ledger: LedgerPort,
    private readonly log: Logger,
    private readonly options: OutboxOptions,
  ) {
    if (options.batchSize < 1 || options.batchSize > MAX_DELIVERIES_PER_TRANSACTION) {
      throw new RangeError(`batchSize must be 1 to ${MAX_DELIVERIES_PER_TRANSACTION}`);
    }
  }

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

  /**
   * The transaction a delivery about to be stored joins. The caller stores the delivery under it
   * before it awaits anything, so the transaction cannot be closed in between.
   */
  joinTransaction(): DeliverySlot {
    if (!this.open || this.open.members >= this.options.batchSize) {
      this.open = { slot: this.ledger.newDeliverySlot(), openedAt: Date.now(), members: 0 };
    }
    this.open.members += 1;
    return this.open.slot;
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
    let wakeAt: number | undefined;
    try {
      let room = this.options.concurrency - this.inFlight.size;
      if (room > 0) {
        const now = Date.now();
        // One more than could be sent: the open transaction may be left to collect.
        const due = this.store.dueTransactions(
          now,
          room + this.inFlight.size + this.held.size + 1,
          this.options.batchSize,
        );
        for (const [tx, hold] of this.held) {
          // A transaction whose deliveries moved on to another is no longer held.
          if (hold.until <= now && !due.includes(tx) && this.store.queuedIn(tx).length === 0) this.held.delete(tx);
        }
        for (const tx of due) {
          if (room <= 0) break;
          if (this.inFlight.has(tx) || (this.held.get(tx)?.until ?? 0) > now) continue;
          const collecting = this.collectingUntil(tx, now);
          if (collecting !== undefined) {
            wakeAt = collecting;
            continue;
          }
          room -= 1;
          this.dispatch(tx);
        }
      }
      this.schedule(wakeAt);
    } catch (err) {
      // The database could not be read: look again later rather than stop (or crash the gateway).
      this.log.error({ err: (err as Error).message }, 'the ledger outbox could not be read; retrying');
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.pump(), this.options.retryMaxMs);
      this.timer.unref();
    }
  }

  /**
   * When `tx` is the open transaction and should go on collecting: the time its window ends.
   * Otherwise undefined, and an open transaction is closed here (the next delivery opens another).
   */
  private collectingUntil(tx: string, now: number): number | undefined {
    if (this.open?.slot.transactionId !== tx) return undefined;
    const closesAt = this.open.openedAt + this.options.batchWindowMs;
    const eager = !this.away && this.inFlight.size < this.options.eagerTransactions;
    if (!eager && this.open.members < this.options.batchSize && now < closesAt) return closesAt;
    this.open = undefined;
    return undefined;
  }

  /** Sends one transaction with the deliveries queued in it now (no other joins it from here on). */
  private dispatch(transactionId: string): void {
    const members = this.store.queuedIn(transactionId);
    this.inFlight.set(transactionId, members.length);
    this.inFlightDeliveries += members.length;
    void this.send(transactionId, members)
      .then(
        () => this.held.delete(transactionId),
        (err: unknown) => this.unrecorded(transactionId, members, err),
      )
      .finally(() => {
        this.inFlight.delete(transactionId);
        this.inFlightDeliveries -= members.length;
        this.kick();
      });
  }

  /**
   * An attempt whose outcome could not be written to the database (a full disk), or whose
   * transaction could not be built. The rows stay queued and the transaction is held back for a
   * while; the next attempt sends the same signed transaction again, so a commit that did happen
   * is then found on the ledger and recorded.
   */
  private unrecorded(transactionId: string, members: readonly QueuedDelivery[], err: unknown): void {
    const times = (this.held.get(transactionId)?.times ?? 0) + 1;
    const wait = Math.min(this.options.retryMaxMs, this.options.retryMinMs * 2 ** Math.min(times, 16));
    this.held.set(transactionId, { until: Date.now() + wait, times });
    this.log.warn(
      {
        txId: transactionId,
        deliveryIds: members.map((d) => d.deliveryId),
        storageFull: isStorageFull(err),
        err: (err as Error).message,
        retryInMs: wait,
      },
      "the outcome of a ledger commit could not be recorded in the gateway's database; it will be checked again",
    );
  }

  private schedule(wakeAt: number | undefined): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const queued = this.store.queued();
    if (queued === 0 && this.inFlight.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((w) => w());
    }
    if (queued > this.inFlightDeliveries) {
      const delay =
        wakeAt === undefined ? this.options.retryMinMs : Math.min(this.options.retryMinMs, wakeAt - Date.now());
      this.timer = setTimeout(() => this.pump(), Math.max(0, delay));
      this.timer.unref();
    }
  }

  /**
   * The signed transaction of `members`: kept when it was closed, or built and kept now. A slot the
   * ledger identity no longer owns (the gateway restarted with a renewed certificate) is replaced
   * first: nothing was ever sent under its id, which a peer would now refuse.
   */
  private async preparedFor(transactionId: string, members: readonly QueuedDelivery[]): Promise<PreparedCommit> {
    const kept = this.store.prepared(transactionId);
    if (kept) return kept;
    const [only] = members;
    // A delivery queued before transactions were shared carries its own signed proposal.
    if (members.length === 1 && only?.proposal && only.signature) {
      return { transactionId, proposal: only.proposal, signature: only.signature };
    }
    const nonce = only?.transactionNonce;
    let slot: DeliverySlot = { transactionId, ...(nonce ? { nonce } : {}) };
    if (!this.ledger.ownsSlot(slot)) {
      slot = this.ledger.newDeliverySlot();
      this.store.reassign(
        transactionId,
        members.map((d) => ({ deliveryId: d.deliveryId, slot })),
      );
      this.log.warn(
        { txId: transactionId, newTxId: slot.transactionId, deliveries: members.length },
        "a transaction drawn under another ledger identity moves to a new id (the receipt's id was never sent)",
      );
    }
    const prepared = await this.ledger.prepareDeliveries(slot, members);
    // Kept before it is sent, so a resend is these bytes. Without a ledger there are none to keep.
    if (prepared.proposal) this.store.savePrepared(prepared, new Date().toISOString());
    return prepared;
  }

  private async send(transactionId: string, members: readonly QueuedDelivery[]): Promise<void> {
    if (members.length === 0) {
      this.store.forgetIfDone(transactionId);
      return;
    }
    const prepared = await this.preparedFor(transactionId, members);
    try {
      const result = await this.ledger.submit(prepared, members);
      this.away = false;
      this.committed(prepared.transactionId, members, result.blockNumber);
    } catch (err) {
      if (err instanceof LedgerError && err.code === 'UNAVAILABLE') this.away = true;
      await this.handleFailure(prepared.transactionId, members, err);
    }
  }

  private committed(transactionId: string, members: readonly QueuedDelivery[], blockNumber: bigint | undefined): void {
    const ids = members.map((d) => d.deliveryId);
    const changed = this.store.markAllCommitted(transactionId, ids, blockNumber, new Date().toISOString());
    for (const id of changed) {
      const d = this.store.get(id);
      this.log.info({ deliveryId: id, txId: transactionId, attempts: (d?.attempts ?? 0) + 1 }, 'delivery committed');
      if (d) this.emit({ type: 'committed', delivery: d });
    }
  }

  /** Those of `members` the ledger already holds as they were sent (a lost reply, a resend). */
  private async onLedger(members: readonly QueuedDelivery[]): Promise<QueuedDelivery[]> {
    const found = await Promise.all(members.map((d) => this.ledger.readDelivery(d.deliveryId)));
    return members.filter((d, i) => {
      const r = found[i];
      return r !== undefined && r.merkleRoot === d.merkleRoot && r.pseudonym === d.pseudonym;
    });
  }

  private async handleFailure(transactionId: string, members: readonly QueuedDelivery[], err: unknown): Promise<void> {
    const code = err instanceof LedgerError ? err.code : 'LEDGER_ERROR';
    const message = err instanceof Error ? err.message : String(err);
    let remaining = members;
    // Maybe it did commit (a lost reply, or a resend of a committed proposal): the ledger's state decides.
    if (!(err instanceof LedgerError && err.code === 'UNAVAILABLE')) {
      try {
        const held = await this.onLedger(members);
        if (held.length > 0) this.committed(transactionId, held, undefined);
        remaining = members.filter((d) => !held.includes(d));
        if (remaining.length === 0) return;
      } catch {
        // unreachable ledger: fall through to a retry
      }
    }
    if (isChaincodeErrorCode(code) && REFUSED[code] === 'failed') {
      const [only] = remaining;
      if (members.length === 1 && only) {
        this.store.markFailed(only.deliveryId, `${code}: ${message}`);
        this.store.forgetIfDone(transactionId);
        this.log.error({ deliveryId: only.deliveryId, code }, 'the ledger refused a delivery commitment');
        const failed = this.store.get(only.deliveryId);
        if (failed) this.emit({ type: 'failed', delivery: failed });
        return;
      }
      // All or nothing: one refused delivery refuses its transaction. Each goes alone, at once,
      // so that only the refused one fails.
      this.store.reassign(
        transactionId,
        remaining.map((d) => ({ deliveryId: d.deliveryId, slot: this.ledger.newDeliverySlot() })),
      );
      this.log.warn(
        { txId: transactionId, deliveries: remaining.length, code },
        'the ledger refused a transaction of several deliveries; each is sent alone',
      );
      return;
    }
    let retrying = transactionId;
    if (SPENT.has(code) || /duplicate transaction/i.test(message) || remaining.length < members.length) {
      // The id is spent (or its proposal holds deliveries no longer queued): a new transaction.
      const slot = this.ledger.newDeliverySlot();
      this.store.reassign(
        transactionId,
        remaining.map((d) => ({ deliveryId: d.deliveryId, slot })),
      );
      retrying = slot.transactionId;
    }
    const attempts = Math.max(...remaining.map((d) => d.attempts));
    const delay = Math.min(this.options.retryMaxMs, this.options.retryMinMs * 2 ** Math.min(attempts, 16));
    const jittered = Math.round(delay / 2 + Math.random() * (delay / 2));
    const at = Date.now() + jittered;
    for (const d of remaining) this.store.scheduleRetry(d.deliveryId, at, `${code}: ${message}`);
    this.log.warn(
      {
        txId: retrying,
        deliveryIds: remaining.map((d) => d.deliveryId),
        code,
        attempts: attempts + 1,
        retryInMs: jittered,
      },
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
