import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import type { EnvelopeSigner } from '@phr/common';
import type { BundleCheck } from './bundle-check';
import type { XmlGuardLimits } from '../ccda/xml-guard';
import type { CcdaConversion, IngestWorkerData } from './ingest-worker';
import { reviveExactNumber } from '@phr/common';
import type { ResealRequest, SealedDelivery, SealRequest } from './sealed-delivery';

/**
 * Worker threads always run the compiled JavaScript. Started from the TypeScript sources (ts-jest
 * in the integration tests), the build's copy of the same file is used: `make unit` builds first.
 */
const WORKER_FILE = __filename.endsWith('.ts')
  ? join(__dirname, '..', '..', 'dist', 'ingest', 'ingest-worker.js')
  : join(__dirname, 'ingest-worker.js');

/** Worker threads run a little behind the event loop when cores are short (ingest-worker.ts). */
const WORKER_NICENESS = 5;

export interface IngestPoolOptions {
  /** Worker threads; default: one per available core. */
  threads?: number;
  keyedHashKey: Uint8Array;
  signer: EnvelopeSigner;
}

/**
 * The ingest's CPU-heavy steps (bundle-check.ts, sealed-delivery.ts) on a pool of worker threads
 * (piscina), so that bundles are validated and sealed on every core while the event loop serves
 * HTTP, SQLite and the ledger. Each thread loads its own FhirValidator (~3 s); `start` resolves
 * only when every thread has, so a gateway that listens is a warm one.
 */
export class IngestPool {
  private constructor(
    private readonly pool: Piscina,
    readonly threads: number,
  ) {}

  static async start(options: IngestPoolOptions): Promise<IngestPool> {
    if (!existsSync(WORKER_FILE)) throw new Error(`${WORKER_FILE} is missing: build the gateway first (npx tsc -b)`);
    const threads = Math.max(1, options.threads ?? availableParallelism());
    const workerData: IngestWorkerData = {
      keyedHashKey: options.keyedHashKey,
      signer: options.signer,
      niceness: WORKER_NICENESS,
    };
    const pool = new Piscina({
      filename: WORKER_FILE,
      minThreads: threads,
      maxThreads: threads,
      // A thread costs seconds to load: keep every one for the life of the gateway.
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData,
      loadBalancer: takeTurns(),
    });
    const ingestPool = new IngestPool(pool, threads);
    try {
      await ingestPool.warm();
    } catch (err) {
      await pool.destroy();
      throw err;
    }
    return ingestPool;
  }

  /** Validation issues and content key of a bundle, from the request body it was parsed from. */
  check(body: Uint8Array): Promise<BundleCheck> {
    return this.pool.run(body, { name: 'check' }) as Promise<BundleCheck>;
  }

  /** The accepted entries of the same body, built into a delivery and sealed to the patient. */
  async seal(body: Uint8Array, request: SealRequest): Promise<SealedDelivery> {
    const sealed = (await this.pool.run({ body, request }, { name: 'seal' })) as SealedDelivery;
    // Structured clone keeps a JsonNumber's fields but not its class: make the values numbers again.
    for (const s of sealed.segments) {
      for (const e of s.coded) if (e.value !== undefined) e.value = reviveExactNumber(e.value) as typeof e.value;
    }
    return sealed;
  }

  /**
   * A kept delivery sealed again to the patient's current key (a rebuild), on a thread: the
   * payload is decrypted and sealed there, so its plaintext never reaches the event loop.
   */
  reseal(request: ResealRequest): Promise<string> {
    return this.pool.run(request, { name: 'reseal' }) as Promise<string>;
  }

  /** A posted C-CDA document checked for hostile XML and converted into a transaction Bundle. */
  convertCcda(body: Uint8Array, limits: XmlGuardLimits): Promise<CcdaConversion> {
    return this.pool.run({ body, limits }, { name: 'convertCcdaDocument' }) as Promise<CcdaConversion>;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }

  /**
   * One task per thread at once: a thread takes one task at a time, so each lands on its own
   * thread and is answered only once that thread's validator is loaded. Checked by thread id.
   */
  private async warm(): Promise<void> {
    const warmed = new Set<number>();
    for (let round = 0; warmed.size < this.threads; round++) {
      if (round === 5) throw new Error(`only ${warmed.size} of ${this.threads} ingest threads started`);
      const ids = await Promise.all(
        Array.from({ length: this.threads }, () => this.pool.run(null, { name: 'warm' }) as Promise<number>),
      );
      ids.forEach((id) => warmed.add(id));
    }
  }
}

type LoadBalancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;

/**
 * Idle threads take turns. Piscina's default gives every task to the first idle thread, so with
 * requests one at a time the other threads stay cold (V8 optimizes what runs often) and are slow
 * when load arrives; taking turns keeps every thread as warm as the traffic allows. A task that
 * finds no idle thread waits in the pool's queue.
 */
function takeTurns(): LoadBalancer {
  let next = 0;
  return (_task, workers) => {
    for (let i = 0; i < workers.length; i++) {
      const worker = workers[(next + i) % workers.length];
      if (worker && worker.currentUsage === 0 && !worker.terminating && !worker.destroyed) {
        next = (next + i + 1) % workers.length;
        return worker;
      }
    }
    return null;
  };
}
