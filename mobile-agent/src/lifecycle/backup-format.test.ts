import { randomBytes } from 'node:crypto';
import { JsonNumber, newPseudonym } from '@phr/common';
import {
  BackupError,
  BackupKeys,
  openArchive,
  openChunk,
  openManifest,
  sealArchive,
  sealChunk,
  sealManifest,
  sha256Hex,
  type BackupManifest,
  type ChunkContent,
  type ChunkEntry,
} from './backup-format';

const pseudonym = newPseudonym();
const keys = BackupKeys.derive(randomBytes(32));

function content(deliveryId = 'delivery-0001', elements = 2): ChunkContent {
  return {
    v: 1,
    pseudonym,
    delivery: {
      deliveryId,
      sender: 'Hospital1MSP',
      merkleRoot: 'a'.repeat(64),
      categories: ['laboratory'],
      segmentCount: 1,
      elementCount: elements,
      createdAt: '2025-01-01T00:00:00.000Z',
      storedAt: '2025-01-02T00:00:00.000Z',
    },
    elements: Array.from({ length: elements }, (_, i) => ({
      deliveryId,
      segmentId: 'segment-0001',
      element: {
        id: `segment-0001.${i}`,
        kind: 'coded' as const,
        resourceType: 'Observation',
        path: 'code',
        system: 'http://loinc.org',
        code: '4548-4',
        // the text the hospital hashed: 7.10 must come back as 7.10
        value: new JsonNumber('7.10'),
      },
      salt: 'c2FsdA==',
      proof: { segmentIndex: 0, elementIndex: i, elementPath: [{ hash: 'b'.repeat(64), left: true }], segmentPath: [] },
    })),
  };
}

function entryFor(c: ChunkContent, sealed: Buffer): ChunkEntry {
  return {
    chunkId: keys.chunkId(pseudonym, c.delivery.deliveryId),
    deliveryId: c.delivery.deliveryId,
    sha256: sha256Hex(sealed),
    size: sealed.length,
    elementCount: c.elements.length,
  };
}

function sealed(c = content()): { bytes: Buffer; entry: ChunkEntry } {
  const bytes = sealChunk(keys, c, keys.chunkId(pseudonym, c.delivery.deliveryId));
  return { bytes, entry: entryFor(c, bytes) };
}

function refusal(fn: () => unknown): BackupError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BackupError);
    return err as BackupError;
  }
  throw new Error('expected a BackupError');
}

describe('chunks', () => {
  it('round-trip a delivery with its elements, keeping numbers as the hospital wrote them', () => {
    const { bytes, entry } = sealed();
    const opened = openChunk(keys, pseudonym, entry, bytes);
    expect(opened.delivery).toEqual(content().delivery);
    expect(opened.elements).toHaveLength(2);
    expect(String(opened.elements[0]?.element.value)).toBe('7.10');
    expect(opened.elements[0]?.element.value).toBeInstanceOf(JsonNumber);
  });

  it('are encrypted: no element content, code or delivery id in the sealed bytes', () => {
    const { bytes } = sealed();
    const text = bytes.toString('latin1');
    for (const clear of ['4548-4', 'loinc', 'delivery-0001', 'Observation', 'Hospital1MSP']) {
      expect(text).not.toContain(clear);
    }
  });

  it('have the same id for the same delivery every time, and a different one for another delivery or key', () => {
    expect(keys.chunkId(pseudonym, 'delivery-0001')).toBe(keys.chunkId(pseudonym, 'delivery-0001'));
    expect(keys.chunkId(pseudonym, 'delivery-0001')).not.toBe(keys.chunkId(pseudonym, 'delivery-0002'));
    expect(BackupKeys.derive(randomBytes(32)).chunkId(pseudonym, 'delivery-0001')).not.toBe(
      keys.chunkId(pseudonym, 'delivery-0001'),
    );
    expect(keys.chunkId(pseudonym, 'delivery-0001')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuse a changed byte, naming the delivery', () => {
    const { bytes, entry } = sealed();
    const changed = Buffer.from(bytes);
    changed[40] = (changed[40] as number) ^ 1;
    const err = refusal(() => openChunk(keys, pseudonym, entry, changed));
    expect(err).toMatchObject({ code: 'ALTERED', where: { deliveryId: 'delivery-0001' } });
    expect(err.message).toContain('delivery-0001');
  });

  it('refuse a cut-short chunk and a missing one, naming the delivery', () => {
    const { bytes, entry } = sealed();
    expect(refusal(() => openChunk(keys, pseudonym, entry, bytes.subarray(0, bytes.length - 5)))).toMatchObject({
      code: 'ALTERED',
      message: expect.stringMatching(/delivery-0001 was cut short/),
    });
    expect(refusal(() => openChunk(keys, pseudonym, entry, undefined))).toMatchObject({
      code: 'MISSING',
      where: { deliveryId: 'delivery-0001' },
    });
  });

  it('refuse a chunk of another delivery put in its place, even with a matching hash in a forged entry', () => {
    const other = sealed(content('delivery-0002'));
    const { entry } = sealed();
    // the attacker cannot forge the manifest, but even a manifest that listed the other chunk's hash
    // under this delivery's id would not open it: the chunk id is bound as associated data
    const forged = { ...entry, sha256: other.entry.sha256, size: other.entry.size };
    expect(refusal(() => openChunk(keys, pseudonym, forged, other.bytes)).code).toBe('ALTERED');
  });

  it('refuse a chunk whose element count is not the manifest’s', () => {
    const { bytes, entry } = sealed();
    expect(refusal(() => openChunk(keys, pseudonym, { ...entry, elementCount: 3 }, bytes)).code).toBe('MALFORMED');
  });

  it('do not open under another key or for another patient', () => {
    const { bytes, entry } = sealed();
    expect(refusal(() => openChunk(BackupKeys.derive(randomBytes(32)), pseudonym, entry, bytes)).code).toBe('ALTERED');
    expect(refusal(() => openChunk(keys, newPseudonym(), entry, bytes)).code).toBe('ALTERED');
  });
});

describe('manifests', () => {
  function manifest(): BackupManifest {
    const { entry } = sealed();
    return { v: 1, pseudonym, backupNumber: 3, createdAt: '2025-02-01T00:00:00.000Z', chunks: [entry] };
  }

  it('round-trip', () => {
    const m = manifest();
    expect(openManifest(keys, pseudonym, sealManifest(keys, m))).toEqual(m);
  });

  it('refuse a wrong key, a cut-short file and a changed byte alike (WRONG_KEY), and a file of another kind', () => {
    const bytes = sealManifest(keys, manifest());
    expect(refusal(() => openManifest(BackupKeys.derive(randomBytes(32)), pseudonym, bytes)).code).toBe('WRONG_KEY');
    expect(refusal(() => openManifest(keys, pseudonym, bytes.subarray(0, bytes.length - 1))).code).toBe('WRONG_KEY');
    expect(refusal(() => openManifest(keys, pseudonym, bytes.subarray(0, 20))).code).toBe('ALTERED');
    const changed = Buffer.from(bytes);
    changed[25] = (changed[25] as number) ^ 1;
    expect(refusal(() => openManifest(keys, pseudonym, changed)).code).toBe('WRONG_KEY');
    expect(refusal(() => openManifest(keys, pseudonym, sealed().bytes)).code).toBe('MALFORMED');
  });

  it('refuse a manifest sealed for another patient', () => {
    const bytes = sealManifest(keys, manifest());
    expect(refusal(() => openManifest(keys, newPseudonym(), bytes)).code).toBe('WRONG_KEY');
  });

  it('refuse a manifest that names a chunk not derived from its delivery, or a delivery twice', () => {
    const m = manifest();
    const wrongId = { ...m, chunks: [{ ...(m.chunks[0] as ChunkEntry), chunkId: 'f'.repeat(64) }] };
    expect(refusal(() => openManifest(keys, pseudonym, sealManifest(keys, wrongId)))).toMatchObject({
      code: 'MALFORMED',
      where: { deliveryId: 'delivery-0001' },
    });
    const twice = { ...m, chunks: [m.chunks[0] as ChunkEntry, m.chunks[0] as ChunkEntry] };
    expect(refusal(() => openManifest(keys, pseudonym, sealManifest(keys, twice))).code).toBe('MALFORMED');
  });
});

describe('archives', () => {
  it('round-trip the manifest and chunks, and hide even how many chunks there are', () => {
    const a = sealed();
    const b = sealed(content('delivery-0002', 5));
    const parts = {
      manifest: Buffer.from('manifest bytes'),
      chunks: new Map([
        [a.entry.chunkId, a.bytes],
        [b.entry.chunkId, b.bytes],
      ]),
    };
    const archive = sealArchive(keys, pseudonym, parts);
    const opened = openArchive(keys, pseudonym, archive);
    expect(opened.manifest.toString()).toBe('manifest bytes');
    expect([...opened.chunks.keys()]).toEqual([a.entry.chunkId, b.entry.chunkId]);
    expect(opened.chunks.get(b.entry.chunkId)?.equals(b.bytes)).toBe(true);
    expect(archive.includes(a.bytes.subarray(20, 60))).toBe(false);
  });

  it('refuse a cut-short or altered archive', () => {
    const archive = sealArchive(keys, pseudonym, { manifest: Buffer.from('m'), chunks: new Map() });
    expect(refusal(() => openArchive(keys, pseudonym, archive.subarray(0, archive.length - 3))).code).toBe('WRONG_KEY');
    expect(refusal(() => openArchive(BackupKeys.derive(randomBytes(32)), pseudonym, archive)).code).toBe('WRONG_KEY');
  });
});

it('BackupKeys print as a placeholder', () => {
  expect(JSON.stringify({ keys })).toBe('{"keys":"[backup keys]"}');
  expect(() => BackupKeys.derive(Buffer.alloc(16))).toThrow(BackupError);
});
