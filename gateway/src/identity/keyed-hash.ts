import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { makePrivateDir } from '@phr/common';

/**
 * The gateway's local secret for keyed hashes of MRNs and bundle contents: the database then holds
 * no MRN and no unsalted hash of health data, and a copy of it is useless without this key.
 */
export class KeyedHash {
  /** Made once: createHmac with a raw Buffer key imports it again on every call (~6 times slower). */
  private readonly hmacKey: KeyObject;

  private constructor(private readonly key: Buffer) {
    this.hmacKey = createSecretKey(key);
  }

  static loadOrCreate(file: string): KeyedHash {
    if (!existsSync(file)) {
      makePrivateDir(dirname(file));
      writeFileSync(file, randomBytes(32), { mode: 0o600, flag: 'wx' });
    }
    const key = readFileSync(file);
    if (key.length !== 32) throw new Error(`${file} must hold a 32-byte key`);
    return new KeyedHash(key);
  }

  static fromKey(key: Buffer): KeyedHash {
    return new KeyedHash(Buffer.from(key));
  }

  /** A copy of the key for the ingest worker threads, which hash bundle contents with it. */
  keyCopy(): Uint8Array {
    return new Uint8Array(this.key);
  }

  hash(domain: string, value: string | Uint8Array): string {
    return createHmac('sha256', this.hmacKey).update(domain).update('\0').update(value).digest('hex');
  }
}
