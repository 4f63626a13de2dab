import type { ChaincodeStub, Iterators } from 'fabric-shim';
import { canonicalBytes, MAX_LEDGER_PAGE_SIZE, type Page } from '@phr/common';
import { invalidArgument } from './errors';

/** A protobuf Timestamp (proposal or history time) as an ISO 8601 instant with milliseconds. */
export function timestampToIso(ts: { seconds: number | { toString(): string }; nanos: number }): string {
  return new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6)).toISOString();
}

/**
 * The one way state is written: RFC 8785 canonical JSON, so every endorser produces identical
 * write sets. Keys are plain strings with a type prefix (range queries need simple keys) or
 * Fabric composite keys for secondary indexes.
 */
export class StateStore {
  constructor(private readonly stub: ChaincodeStub) {}

  async get<T>(key: string): Promise<T | undefined> {
    const bytes = await this.stub.getState(key);
    if (!bytes || bytes.length === 0) return undefined;
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  }

  async put(key: string, value: unknown): Promise<void> {
    await this.stub.putState(key, canonicalBytes(value));
  }

  async delete(key: string): Promise<void> {
    await this.stub.deleteState(key);
  }

  async exists(key: string): Promise<boolean> {
    const bytes = await this.stub.getState(key);
    return !!bytes && bytes.length > 0;
  }

  /** Index entries under a composite key hold a single byte: Fabric treats empty values as deletes. */
  async putIndex(objectType: string, attributes: string[]): Promise<void> {
    await this.stub.putState(this.stub.createCompositeKey(objectType, attributes), Buffer.from([0]));
  }

  // fabric-shim leaves `metadata` undefined when the peer's metadata is all defaults (an empty last
  // page serializes to no bytes), so both pagers read it optionally.
  async pageByRange<T>(startKey: string, endKey: string, pageSize: number, bookmark: string): Promise<Page<T>> {
    const size = checkPageSize(pageSize);
    const { iterator, metadata } = await this.stub.getStateByRangeWithPagination(startKey, endKey, size, bookmark);
    const records = await drain<T>(iterator, (kv) => JSON.parse(Buffer.from(kv.value).toString('utf8')) as T);
    return {
      records,
      bookmark: metadata?.bookmark ?? '',
      fetchedCount: metadata?.fetchedRecordsCount ?? records.length,
    };
  }

  /** Pages an index; `resolve` maps the index key's attributes to the indexed record. */
  async pageByIndex<T>(
    objectType: string,
    attributes: string[],
    pageSize: number,
    bookmark: string,
    resolve: (attrs: string[]) => Promise<T | undefined>,
  ): Promise<Page<T>> {
    const size = checkPageSize(pageSize);
    const { iterator, metadata } = await this.stub.getStateByPartialCompositeKeyWithPagination(
      objectType,
      attributes,
      size,
      bookmark,
    );
    const keys = await drain(iterator, (kv) => this.stub.splitCompositeKey(kv.key).attributes);
    const records: T[] = [];
    for (const attrs of keys) {
      const record = await resolve(attrs);
      if (record !== undefined) records.push(record);
    }
    return { records, bookmark: metadata?.bookmark ?? '', fetchedCount: metadata?.fetchedRecordsCount ?? keys.length };
  }

  /** All index entries (unpaginated: for bounded sets such as one patient's consents). */
  async allByIndex(objectType: string, attributes: string[]): Promise<string[][]> {
    const iterator = await this.stub.getStateByPartialCompositeKey(objectType, attributes);
    return drain(iterator, (kv) => this.stub.splitCompositeKey(kv.key).attributes);
  }

  /**
   * Whether any index entry satisfies `test`, tried in key order; stops at the first that does,
   * so a hit costs no more reads than it needs.
   */
  async someByIndex(
    objectType: string,
    attributes: string[],
    test: (attrs: string[]) => Promise<boolean>,
  ): Promise<boolean> {
    const iterator = await this.stub.getStateByPartialCompositeKey(objectType, attributes);
    try {
      for (let res = await iterator.next(); !res.done; res = await iterator.next()) {
        if (await test(this.stub.splitCompositeKey(res.value.key).attributes)) return true;
      }
      return false;
    } finally {
      await iterator.close();
    }
  }

  async history(key: string): Promise<{ txId: string; timestamp: string; isDelete: boolean; value?: unknown }[]> {
    const iterator = await this.stub.getHistoryForKey(key);
    const out: { txId: string; timestamp: string; isDelete: boolean; value?: unknown }[] = [];
    try {
      for (let res = await iterator.next(); !res.done; res = await iterator.next()) {
        const m = res.value;
        const entry: { txId: string; timestamp: string; isDelete: boolean; value?: unknown } = {
          txId: m.txId,
          timestamp: timestampToIso(m.timestamp),
          isDelete: m.isDelete,
        };
        if (!m.isDelete && m.value.length > 0) entry.value = JSON.parse(Buffer.from(m.value).toString('utf8'));
        out.push(entry);
      }
    } finally {
      await iterator.close();
    }
    return out;
  }
}

function checkPageSize(pageSize: number): number {
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_LEDGER_PAGE_SIZE) {
    throw invalidArgument(`pageSize must be an integer from 1 to ${MAX_LEDGER_PAGE_SIZE}`);
  }
  return pageSize;
}

async function drain<T>(iterator: Iterators.StateQueryIterator, map: (kv: Iterators.KV) => T): Promise<T[]> {
  const out: T[] = [];
  try {
    for (let res = await iterator.next(); !res.done; res = await iterator.next()) out.push(map(res.value));
  } finally {
    await iterator.close();
  }
  return out;
}
