import { ClientIdentity } from 'fabric-shim';
import type { ChaincodeStub } from 'fabric-shim';
import type { Contract } from 'fabric-contract-api';
import type { PhrContract } from '../phr-contract';
import type { TestIdentity } from './identities';

const NS = '\u0000';

interface HistoryEntry {
  txId: string;
  seconds: number;
  value: Buffer | null;
}

/**
 * An in-memory world state with Fabric's transaction semantics where they matter for the
 * contracts: reads do not see the transaction's own writes, a failed transaction writes nothing,
 * keys are ordered byte-wise, composite keys live in their own namespace, history is kept per key.
 */
export class FakeLedger {
  readonly state = new Map<string, Buffer>();
  readonly history = new Map<string, HistoryEntry[]>();
  readonly events: { name: string; payload: unknown }[] = [];
  private readonly listeners = new Set<(event: { name: string; payload: unknown }) => void>();
  /** Seconds since the epoch used as the next transaction's timestamp. */
  clock = Date.parse('2026-06-01T00:00:00.000Z') / 1000;
  private txCounter = 0;

  /** Runs one transaction through the contract's own lifecycle hooks, as the contract runtime does. */
  async invoke(contract: PhrContract, fn: string, args: unknown[], as: TestIdentity): Promise<string> {
    const txId = `tx${(++this.txCounter).toString().padStart(6, '0')}`;
    const stub = new FakeStub(this, txId, `${contract.getName()}:${fn}`, as);
    const ctx = contract.createContext();
    // The contract runtime calls these setters; they exist at run time but not in the typings.
    const settable = ctx as unknown as { setChaincodeStub(s: unknown): void; setClientIdentity(c: unknown): void };
    settable.setChaincodeStub(stub);
    settable.setClientIdentity(new ClientIdentity(stub as unknown as ChaincodeStub));
    await contract.beforeTransaction(ctx);
    const method = (contract as unknown as Record<string, unknown>)[fn];
    if (typeof method !== 'function') throw new Error(`no transaction function ${fn}`);
    const result = await (method as (...a: unknown[]) => Promise<string>).apply(contract, [ctx, ...args]);
    stub.commit();
    this.clock += 1;
    return result;
  }

  /** Calls `listener` with each event of a committed transaction, as a peer's event stream does. */
  onEvent(listener: (event: { name: string; payload: unknown }) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @internal the stub reports its transaction's event once the transaction commits. */
  recordEvent(event: { name: string; payload: unknown }): void {
    this.events.push(event);
    for (const listener of this.listeners) listener(event);
  }

  /** Invokes and parses the JSON result. */
  async call<T>(contract: Contract, fn: string, args: unknown[], as: TestIdentity): Promise<T> {
    return JSON.parse(await this.invoke(contract as PhrContract, fn, args, as)) as T;
  }
}

class FakeIterator {
  private i = 0;
  constructor(private readonly items: { key: string; value: Buffer }[]) {}
  async next(): Promise<{ value?: { key: string; value: Buffer; namespace: string }; done: boolean }> {
    const item = this.items[this.i++];
    return item ? { value: { ...item, namespace: 'phr' }, done: false } : { done: true };
  }
  async close(): Promise<void> {}
}

class FakeStub {
  private readonly writes = new Map<string, Buffer | null>();
  private event: { name: string; payload: Buffer } | undefined;

  constructor(
    private readonly ledger: FakeLedger,
    private readonly txId: string,
    private readonly fcn: string,
    private readonly identity: TestIdentity,
  ) {}

  commit(): void {
    for (const [key, value] of this.writes) {
      if (value === null) this.ledger.state.delete(key);
      else this.ledger.state.set(key, value);
      const h = this.ledger.history.get(key) ?? [];
      h.push({ txId: this.txId, seconds: this.ledger.clock, value });
      this.ledger.history.set(key, h);
    }
    if (this.event)
      this.ledger.recordEvent({ name: this.event.name, payload: JSON.parse(this.event.payload.toString()) });
  }

  getTxID(): string {
    return this.txId;
  }
  getChannelID(): string {
    return 'phr';
  }
  getFunctionAndParameters(): { fcn: string; params: string[] } {
    return { fcn: this.fcn, params: [] };
  }
  getCreator(): { mspid: string; idBytes: Uint8Array } {
    return { mspid: this.identity.mspId, idBytes: Buffer.from(this.identity.certificatePem) };
  }
  getTxTimestamp(): { seconds: number; nanos: number } {
    return { seconds: this.ledger.clock, nanos: 123_000_000 };
  }
  setEvent(name: string, payload: Uint8Array): void {
    this.event = { name, payload: Buffer.from(payload) };
  }

  async getState(key: string): Promise<Uint8Array> {
    return this.ledger.state.get(key) ?? Buffer.alloc(0);
  }
  async putState(key: string, value: Uint8Array): Promise<void> {
    if (!key) throw new Error('empty key');
    this.writes.set(key, Buffer.from(value));
  }
  async deleteState(key: string): Promise<void> {
    this.writes.set(key, null);
  }

  createCompositeKey(objectType: string, attributes: string[]): string {
    return NS + objectType + NS + attributes.map((a) => a + NS).join('');
  }
  splitCompositeKey(key: string): { objectType: string; attributes: string[] } {
    const parts = key.slice(1).split(NS);
    return { objectType: parts[0] ?? '', attributes: parts.slice(1, -1) };
  }

  private sortedKeys(): string[] {
    return [...this.ledger.state.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  private page(keys: string[], pageSize: number, bookmark: string) {
    const from = bookmark ? keys.indexOf(bookmark) : 0;
    const slice = keys.slice(Math.max(from, 0), Math.max(from, 0) + pageSize);
    const next = keys[Math.max(from, 0) + pageSize] ?? '';
    const items = slice.map((key) => ({ key, value: this.ledger.state.get(key) as Buffer }));
    // As fabric-shim does: metadata whose fields are all protobuf defaults arrives as no metadata at all.
    const metadata =
      items.length === 0 && next === '' ? undefined : { fetchedRecordsCount: items.length, bookmark: next };
    return { iterator: new FakeIterator(items), metadata };
  }

  async getStateByRangeWithPagination(startKey: string, endKey: string, pageSize: number, bookmark: string) {
    if (startKey.startsWith(NS) || endKey.startsWith(NS)) throw new Error('range queries take simple keys only');
    const keys = this.sortedKeys().filter((k) => !k.startsWith(NS) && k >= startKey && (endKey === '' || k < endKey));
    return this.page(keys, pageSize, bookmark);
  }

  async getStateByPartialCompositeKey(objectType: string, attributes: string[]) {
    const prefix = this.createCompositeKey(objectType, attributes);
    const keys = this.sortedKeys().filter((k) => k.startsWith(prefix));
    return new FakeIterator(keys.map((key) => ({ key, value: this.ledger.state.get(key) as Buffer })));
  }

  async getStateByPartialCompositeKeyWithPagination(
    objectType: string,
    attributes: string[],
    pageSize: number,
    bookmark: string,
  ) {
    const prefix = this.createCompositeKey(objectType, attributes);
    return this.page(
      this.sortedKeys().filter((k) => k.startsWith(prefix)),
      pageSize,
      bookmark,
    );
  }

  async getHistoryForKey(key: string) {
    const entries = [...(this.ledger.history.get(key) ?? [])].reverse();
    let i = 0;
    return {
      next: async () => {
        const e = entries[i++];
        if (!e) return { done: true };
        return {
          done: false,
          value: {
            txId: e.txId,
            isDelete: e.value === null,
            value: e.value ?? Buffer.alloc(0),
            timestamp: { seconds: e.seconds, nanos: 0 },
          },
        };
      },
      close: async () => {},
    };
  }
}
