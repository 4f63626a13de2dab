import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateEncryptionKeyPair, isRecordId, parseExactJson, type EncryptionKeyPair } from '@phr/common';
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
    writeFileSync(file, JSON.stringify(keys), { mode: 0o600 });
    chmodSync(file, 0o600);
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

  saveExtract(verified: VerifiedExtract): void {
    const dir = join(this.offerDir(verified.offerId), 'extracts');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `${checkedId(verified.participationId)}.json`);
    writeFileSync(file, JSON.stringify(verified), { mode: 0o600 });
  }

  /** The offer's verified extracts, by participation id. */
  extracts(offerId: string): VerifiedExtract[] {
    const dir = join(this.dir, 'offers', checkedId(offerId), 'extracts');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => parseExactJson(readFileSync(join(dir, f), 'utf8')) as VerifiedExtract);
  }

  hasExtract(offerId: string, participationId: string): boolean {
    return existsSync(join(this.dir, 'offers', checkedId(offerId), 'extracts', `${checkedId(participationId)}.json`));
  }

  private keyFile(offerId: string): string {
    return join(this.dir, 'offers', checkedId(offerId), 'sealing-key.json');
  }

  private offerDir(offerId: string): string {
    const dir = join(this.dir, 'offers', checkedId(offerId));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  }
}

/** Ids become file names: only record ids (letters, digits, . _ -, never starting with a dot). */
function checkedId(id: string): string {
  if (!isRecordId(id)) throw new ResearchError('NOT_FOUND', `${String(id)} is not a record id`);
  return id;
}
