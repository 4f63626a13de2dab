import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  generateEncryptionKeyPair,
  isRecordId,
  makePrivateDir,
  parseExactJson,
  writePrivateFile,
  type EncryptionKeyPair,
} from '@phr/common';
import { ResearchError } from './research-errors';
import type { VerifiedExtract } from './verify-extract';

/**
 * What the researcher keeps on its own machine, per offer: the X25519 key extracts are sealed to
 * (its private half never leaves this directory; mode 0600) and the extracts that passed
 * verification. Directories are 0700.
 */
export class ResearchState {
  constructor(readonly dir: string) {}

  /**
   * The offer's sealing key: the one kept, or a new one saved before anything is posted, so a
   * retried `offer post` posts the same terms and the key of an offer is never lost.
   */
  sealingKey(offerId: string): EncryptionKeyPair {
    const file = this.keyFile(offerId);
    if (existsSync(file)) return this.readKey(offerId);
    const keys = generateEncryptionKeyPair('X25519');
    this.offerDir(offerId);
    writePrivateFile(file, JSON.stringify(keys));
    return keys;
  }

  /** @throws ResearchError STATE when this machine holds no key for the offer. */
  readKey(offerId: string): EncryptionKeyPair {
    try {
      return JSON.parse(readFileSync(this.keyFile(offerId), 'utf8')) as EncryptionKeyPair;
    } catch (err) {
      throw new ResearchError(
        'STATE',
        `no sealing key for offer ${offerId} in ${this.dir}: it was not posted from here`,
        undefined,
        {
          cause: err,
        },
      );
    }
  }

  /**
   * Keeps a verified extract: written to a temporary file in the same directory, synced, then
   * renamed over the name, so a crash leaves the old file or the new one, never half of one (the
   * gateway's copy is dropped only after this returns).
   */
  saveExtract(verified: VerifiedExtract): void {
    const dir = this.extractDir(verified.offerId);
    const file = join(dir, `${checkedId(verified.participationId)}.json`);
    makePrivateDir(dir);
    try {
      // A temporary file in the same directory, synced, renamed over the name.
      writePrivateFile(file, JSON.stringify(verified));
    } catch (err) {
      throw new ResearchError('STATE', `cannot keep the extract in ${dir}`, undefined, { cause: err });
    }
    syncDir(dir);
  }

  /**
   * The offer's kept extracts, by participation id, and the files that could not be read back
   * (named, so the researcher can see them; the others are still returned).
   */
  readExtracts(offerId: string): { extracts: VerifiedExtract[]; corrupt: string[] } {
    const dir = this.extractDir(offerId);
    if (!existsSync(dir)) return { extracts: [], corrupt: [] };
    const extracts: VerifiedExtract[] = [];
    const corrupt: string[] = [];
    for (const f of readdirSync(dir)
      .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
      .sort()) {
      const x = readKept(join(dir, f), offerId, f.slice(0, -'.json'.length));
      if (x) extracts.push(x);
      else corrupt.push(f);
    }
    return { extracts, corrupt };
  }

  /** The offer's kept extracts that read back whole. */
  extracts(offerId: string): VerifiedExtract[] {
    return this.readExtracts(offerId).extracts;
  }

  /** Whether a whole, readable extract of this participation is kept here. */
  hasExtract(offerId: string, participationId: string): boolean {
    return this.keptExtract(offerId, participationId) === 'kept';
  }

  /** `corrupt`: a file is there but does not read back as this participation's verified extract. */
  keptExtract(offerId: string, participationId: string): 'kept' | 'absent' | 'corrupt' {
    const file = join(this.extractDir(offerId), `${checkedId(participationId)}.json`);
    if (!existsSync(file)) return 'absent';
    return readKept(file, offerId, participationId) ? 'kept' : 'corrupt';
  }

  private extractDir(offerId: string): string {
    return join(this.dir, 'offers', checkedId(offerId), 'extracts');
  }

  private keyFile(offerId: string): string {
    return join(this.dir, 'offers', checkedId(offerId), 'sealing-key.json');
  }

  private offerDir(offerId: string): string {
    const dir = join(this.dir, 'offers', checkedId(offerId));
    makePrivateDir(dir);
    return dir;
  }
}

/** A kept file parsed and checked for the shape this class writes; undefined when it is not that. */
function readKept(file: string, offerId: string, participationId: string): VerifiedExtract | undefined {
  try {
    const x = parseExactJson(readFileSync(file, 'utf8')) as Partial<VerifiedExtract> | null;
    const ok =
      typeof x === 'object' &&
      x !== null &&
      x.offerId === offerId &&
      x.participationId === participationId &&
      typeof x.extractHash === 'string' &&
      typeof x.extract === 'object' &&
      x.extract !== null &&
      Array.isArray(x.extract.elements) &&
      typeof x.extract.demographics === 'object' &&
      Array.isArray(x.changed);
    return ok ? (x as VerifiedExtract) : undefined;
  } catch {
    return undefined;
  }
}

/** Makes a rename in `dir` durable; a file system that cannot sync a directory is let be. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // the rename happened; only its durability across a power cut is not promised here
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Ids become file names: only record ids (letters, digits, . _ -, never starting with a dot). */
function checkedId(id: string): string {
  if (!isRecordId(id)) throw new ResearchError('NOT_FOUND', `${String(id)} is not a record id`);
  return id;
}
