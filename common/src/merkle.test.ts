import { createHash, randomBytes } from 'node:crypto';
import {
  DeliveryTree,
  elementLeafHash,
  MerkleError,
  merklePath,
  MerkleTree,
  merkleRoot,
  newSalt,
  newSalts,
  rootFromPath,
  SALT_BYTES,
  verifyElementProof,
  type ElementProof,
  type MerkleStep,
} from './merkle';

// Reference implementation written differently from merkle.ts on purpose: RFC 6962's recursive
// MTH (split at the largest power of two below n) over Buffers. Level-by-level promotion of the odd
// node must produce the same tree, so agreement checks both the shape and the hashing.
const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
function referenceRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0] as Buffer;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha256(Buffer.from([1]), referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}
const randomLeaves = (n: number) => Array.from({ length: n }, () => randomBytes(32).toString('hex'));
const hexRoot = (leaves: string[]) => referenceRoot(leaves.map((l) => Buffer.from(l, 'hex'))).toString('hex');

/** Flips one bit of a hex string, keeping it valid lower-case hex. */
function flipHexBit(hex: string, bit: number): string {
  const buf = Buffer.from(hex, 'hex');
  const byte = Math.floor(bit / 8) % buf.length;
  buf[byte] = (buf[byte] as number) ^ (1 << (bit % 8));
  return buf.toString('hex');
}

function expectMerkleError(fn: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(MerkleError);
  expect((thrown as MerkleError).name).toBe('MerkleError');
  expect((thrown as MerkleError).code).toBe(code);
}

// Known-answer vectors computed outside this code base (Python hashlib + json.dumps with sorted
// keys, which equals RFC 8785 for ASCII strings and integers). They pin the wire format.
const VECTOR = {
  elements: [
    {
      id: 's1.1',
      kind: 'coded',
      resourceType: 'Observation',
      path: 'Observation.code.coding[0]',
      system: 'http://loinc.org',
      code: '8867-4',
      value: 72,
      unit: '/min',
    },
    {
      id: 's1.2',
      kind: 'coded',
      resourceType: 'Observation',
      path: 'Observation.code.coding[1]',
      system: 'http://snomed.info/sct',
      code: '364075005',
    },
    {
      id: 's2.1',
      kind: 'coded',
      resourceType: 'Condition',
      path: 'Condition.code.coding[0]',
      system: 'http://snomed.info/sct',
      code: '44054006',
      time: '2020-01-01T00:00:00Z',
    },
  ],
  salts: ['000102030405060708090a0b0c0d0e0f', 'f0e0d0c0b0a090807060504030201000', '0123456789abcdef0123456789abcdef'],
  leaves: [
    '3df6a4ba14442d270261e633f9d8d6a6b3251bbdac64a4c8d4b4641ae26c0cf9',
    '9b9a9291a3b0cf886ef29d3b2f70689e07aaabfb177deaa5db25e44c8544d16a',
    'd61db7808bbc507635011bfbe080b3a6f2f992641f4ae8e82ec1c784e6829ed2',
  ],
  root: '3aecbe0759d181825c5853407a6ebfd4cf799b3497ccdc65668d64c6608a06e2',
};

describe('salts and leaf hashes', () => {
  it('newSalt gives 128 random bits as lower-case hex', () => {
    const salts = new Set(Array.from({ length: 100 }, newSalt));
    expect(salts.size).toBe(100);
    for (const s of salts) expect(s).toMatch(new RegExp(`^[0-9a-f]{${SALT_BYTES * 2}}$`));
  });

  it('newSalts gives as many independent salts of the same form', () => {
    const salts = newSalts(1000);
    expect(salts).toHaveLength(1000);
    expect(new Set(salts).size).toBe(1000);
    for (const s of salts) expect(s).toMatch(new RegExp(`^[0-9a-f]{${SALT_BYTES * 2}}$`));
    expect(newSalts(0)).toEqual([]);
  });

  it('matches the independently computed leaf vectors', () => {
    VECTOR.elements.forEach((el, i) => {
      expect(elementLeafHash(el, VECTOR.salts[i] as string)).toBe(VECTOR.leaves[i]);
    });
  });

  it('hashes the RFC 8785 text of { element, salt }', () => {
    const element = { b: [1, 'x'], a: { d: true, c: null } };
    const salt = newSalt();
    const text = `{"element":{"a":{"c":null,"d":true},"b":[1,"x"]},"salt":"${salt}"}`;
    expect(elementLeafHash(element, salt)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
  });

  it('does not depend on key order', () => {
    const salt = newSalt();
    const a = { code: '1', system: 's', nested: { y: 2, x: 1 } };
    const b = { nested: { x: 1, y: 2 }, system: 's', code: '1' };
    expect(elementLeafHash(a, salt)).toBe(elementLeafHash(b, salt));
  });

  it('changes with the salt and with any value', () => {
    const el = VECTOR.elements[0] as Record<string, unknown>;
    const salt = VECTOR.salts[0] as string;
    const base = elementLeafHash(el, salt);
    expect(elementLeafHash(el, flipHexBit(salt, 0))).not.toBe(base);
    expect(elementLeafHash({ ...el, value: 73 }, salt)).not.toBe(base);
    expect(elementLeafHash({ ...el, value: '72' }, salt)).not.toBe(base);
  });

  it('rejects malformed salts and unhashable elements', () => {
    expectMerkleError(() => elementLeafHash({}, 'abc'), 'INVALID_SALT');
    expectMerkleError(() => elementLeafHash({}, 'A'.repeat(32)), 'INVALID_SALT');
    expectMerkleError(() => elementLeafHash({}, 42 as unknown as string), 'INVALID_SALT');
    expectMerkleError(() => elementLeafHash(undefined, newSalt()), 'INVALID_ELEMENT');
    expectMerkleError(() => elementLeafHash({ v: Number.NaN }, newSalt()), 'INVALID_ELEMENT');
    expectMerkleError(() => elementLeafHash({ v: undefined }, newSalt()), 'INVALID_ELEMENT');
  });
});

describe('merkleRoot, merklePath, rootFromPath', () => {
  it('hand-hashes the three-leaf vector: H(1 || H(1 || l0 || l1) || l2)', () => {
    const [l0, l1, l2] = VECTOR.leaves.map((l) => Buffer.from(l, 'hex')) as [Buffer, Buffer, Buffer];
    const one = Buffer.from([1]);
    const byHand = sha256(one, sha256(one, l0, l1), l2).toString('hex');
    expect(byHand).toBe(VECTOR.root);
    expect(merkleRoot(VECTOR.leaves)).toBe(VECTOR.root);
  });

  it('a single leaf is its own root and has an empty path', () => {
    const [leaf] = randomLeaves(1) as [string];
    expect(merkleRoot([leaf])).toBe(leaf);
    expect(merklePath([leaf], 0)).toEqual([]);
    expect(rootFromPath(leaf, [])).toBe(leaf);
  });

  it('promotes the odd node unchanged instead of duplicating it', () => {
    const leaves = randomLeaves(3);
    const [a, b, c] = leaves.map((l) => Buffer.from(l, 'hex')) as [Buffer, Buffer, Buffer];
    const one = Buffer.from([1]);
    expect(merkleRoot(leaves)).toBe(sha256(one, sha256(one, a, b), c).toString('hex'));
    // With duplication, [a, b, c] and [a, b, c, c] would share a root (CVE-2012-2459).
    expect(merkleRoot([...leaves, leaves[2] as string])).not.toBe(merkleRoot(leaves));
    // The promoted leaf's path skips the level where it had no sibling.
    expect(merklePath(leaves, 2)).toEqual([{ hash: sha256(one, a, b).toString('hex'), left: true }]);
  });

  it('matches the RFC 6962 reference for every size 1..70 and every proof verifies', () => {
    for (let n = 1; n <= 70; n++) {
      const leaves = randomLeaves(n);
      const root = merkleRoot(leaves);
      expect(root).toBe(hexRoot(leaves));
      for (let i = 0; i < n; i++) {
        const path = merklePath(leaves, i);
        expect(path.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));
        expect(rootFromPath(leaves[i] as string, path)).toBe(root);
      }
    }
  });

  it('a proof for one leaf does not verify another', () => {
    const leaves = randomLeaves(9);
    const root = merkleRoot(leaves);
    expect(rootFromPath(leaves[4] as string, merklePath(leaves, 3))).not.toBe(root);
  });

  it('any flipped bit in a sibling, a direction or the leaf changes the result', () => {
    const leaves = randomLeaves(23);
    const root = merkleRoot(leaves);
    const path = merklePath(leaves, 13);
    const leaf = leaves[13] as string;
    for (let s = 0; s < path.length; s++) {
      for (const bit of [0, 7, 100, 255]) {
        const tampered = path.map((step, j) => (j === s ? { ...step, hash: flipHexBit(step.hash, bit) } : step));
        expect(rootFromPath(leaf, tampered)).not.toBe(root);
      }
      const swapped = path.map((step, j) => (j === s ? { ...step, left: !step.left } : step));
      expect(rootFromPath(leaf, swapped)).not.toBe(root);
    }
    expect(rootFromPath(flipHexBit(leaf, 77), path)).not.toBe(root);
  });

  it('rejects empty input, bad hashes and bad indices with typed errors', () => {
    expectMerkleError(() => merkleRoot([]), 'EMPTY_TREE');
    expectMerkleError(() => merklePath([], 0), 'INDEX_OUT_OF_RANGE');
    expectMerkleError(() => merkleRoot(['00'.repeat(31)]), 'INVALID_HASH');
    expectMerkleError(() => merkleRoot(['AB'.repeat(32)]), 'INVALID_HASH');
    expectMerkleError(() => merkleRoot(['zz'.repeat(32)]), 'INVALID_HASH');
    expectMerkleError(() => merkleRoot(null as unknown as string[]), 'INVALID_HASH');
    const leaves = randomLeaves(4);
    expectMerkleError(() => merklePath(leaves, 4), 'INDEX_OUT_OF_RANGE');
    expectMerkleError(() => merklePath(leaves, -1), 'INDEX_OUT_OF_RANGE');
    expectMerkleError(() => merklePath(leaves, 1.5), 'INDEX_OUT_OF_RANGE');
    expectMerkleError(() => rootFromPath('x', []), 'INVALID_HASH');
    expectMerkleError(() => rootFromPath(leaves[0] as string, [{ hash: 'nope', left: true }]), 'INVALID_HASH');
    expectMerkleError(
      () => rootFromPath(leaves[0] as string, [{ hash: leaves[1], left: 'yes' } as unknown as MerkleStep]),
      'INVALID_PROOF',
    );
    expectMerkleError(() => rootFromPath(leaves[0] as string, {} as MerkleStep[]), 'INVALID_PROOF');
    const tooLong = Array.from({ length: 65 }, () => ({ hash: leaves[1] as string, left: false }));
    expectMerkleError(() => rootFromPath(leaves[0] as string, tooLong), 'INVALID_PROOF');
  });

  it('takes exactly the sibling hashes that are 64 lower-case hex characters, any other code unit anywhere refused', () => {
    // The fold checks siblings by decoding them, not with a regular expression: same rule, compared here.
    const [leaf, sibling] = randomLeaves(2) as [string, string];
    const digest = /^[0-9a-f]{64}$/;
    const disagreements: string[] = [];
    const judge = (hash: unknown) => {
      const expected = typeof hash === 'string' && digest.test(hash);
      // as a sibling in a path, and as a leaf or root (checked without being written)
      for (const use of [
        () => rootFromPath(leaf, [{ hash: hash as string, left: false }]),
        () => rootFromPath(hash as string, []),
      ]) {
        let accepted = true;
        try {
          use();
        } catch (err) {
          if (!(err instanceof MerkleError) || err.code !== 'INVALID_HASH') throw err;
          accepted = false;
        }
        if (accepted !== expected) disagreements.push(JSON.stringify(hash));
      }
    };
    for (let code = 0; code <= 0xffff; code++) {
      for (const at of [0, 1, 37, 63]) judge(sibling.slice(0, at) + String.fromCharCode(code) + sibling.slice(at + 1));
    }
    for (const hash of [
      sibling.slice(1),
      `${sibling}0`,
      `0x${sibling.slice(2)}`,
      '',
      42,
      null,
      undefined,
      sibling.toUpperCase(),
    ])
      judge(hash);
    expect(disagreements).toEqual([]);
    // and a refused sibling never leaves a half-written node behind: the next fold is as before
    const expected = rootFromPath(leaf, [{ hash: sibling, left: true }]);
    expectMerkleError(
      () => rootFromPath(leaf, [{ hash: `${sibling.slice(0, 40)}zz${sibling.slice(42)}`, left: true }]),
      'INVALID_HASH',
    );
    expect(rootFromPath(leaf, [{ hash: sibling, left: true }])).toBe(expected);
    expect(expected).toBe(hexRoot([sibling, leaf]));
  });
});

describe('MerkleTree', () => {
  it('has the root and the paths of merkleRoot and merklePath, built once, for any size', () => {
    for (const n of [1, 2, 3, 5, 8, 13, 33]) {
      const leaves = randomLeaves(n);
      const tree = new MerkleTree(leaves);
      expect(tree.root).toBe(hexRoot(leaves));
      leaves.forEach((leaf, i) => {
        expect(tree.path(i)).toEqual(merklePath(leaves, i));
        expect(rootFromPath(leaf, tree.path(i))).toBe(tree.root);
      });
      expectMerkleError(() => tree.path(n), 'INDEX_OUT_OF_RANGE');
    }
    expectMerkleError(() => new MerkleTree([]), 'EMPTY_TREE');
    expectMerkleError(() => new MerkleTree(['ab']), 'INVALID_HASH');
  });
});

describe('DeliveryTree and verifyElementProof', () => {
  function randomDelivery(segmentSizes: number[]) {
    const segments = segmentSizes.map((size, s) =>
      Array.from({ length: size }, (_, e) => ({
        element: { id: `seg${s}.${e}`, kind: 'coded', code: randomBytes(4).toString('hex') },
        salt: newSalt(),
      })),
    );
    const leaves = segments.map((els) => els.map(({ element, salt }) => elementLeafHash(element, salt)));
    return { segments, leaves, tree: new DeliveryTree(leaves) };
  }

  it('matches the independent vector: two segments [l0, l1] and [l2]', () => {
    const [l0, l1, l2] = VECTOR.leaves as [string, string, string];
    const tree = new DeliveryTree([[l0, l1], [l2]]);
    expect(tree.segmentRoots).toEqual([merkleRoot([l0, l1]), l2]);
    expect(tree.root).toBe(VECTOR.root);
    const proof = tree.proof(1, 0);
    expect(verifyElementProof(VECTOR.elements[2], VECTOR.salts[2] as string, proof, VECTOR.root)).toBe(true);
  });

  it('root is the tree over segment roots, each over its element leaves', () => {
    const { leaves, tree } = randomDelivery([5, 1, 8, 3]);
    const segmentRoots = leaves.map(hexRoot);
    expect(tree.segmentRoots).toEqual(segmentRoots);
    expect(tree.root).toBe(hexRoot(segmentRoots));
  });

  it('every proof of random deliveries verifies (1..70 segments, 1..12 elements each)', () => {
    for (const segmentCount of [1, 2, 3, 7, 16, 33, 70]) {
      const sizes = Array.from({ length: segmentCount }, (_, i) => 1 + ((i * 7 + segmentCount) % 12));
      const { segments, tree } = randomDelivery(sizes);
      segments.forEach((els, s) =>
        els.forEach(({ element, salt }, e) => {
          const proof = tree.proof(s, e);
          expect(proof).toMatchObject({ segmentIndex: s, elementIndex: e });
          expect(verifyElementProof(element, salt, proof, tree.root)).toBe(true);
        }),
      );
    }
  });

  it('proofs survive a JSON round trip (they travel over the network)', () => {
    const { segments, tree } = randomDelivery([4, 6, 2]);
    const proof = JSON.parse(JSON.stringify(tree.proof(1, 5))) as ElementProof;
    const { element, salt } = segments[1]?.[5] as { element: unknown; salt: string };
    expect(verifyElementProof(JSON.parse(JSON.stringify(element)), salt, proof, tree.root)).toBe(true);
  });

  it('fails on any flipped bit in the element, salt, sibling or root', () => {
    const { segments, tree } = randomDelivery([3, 5, 4, 2, 7]);
    const { element, salt } = segments[2]?.[1] as { element: { id: string; kind: string; code: string }; salt: string };
    const proof = tree.proof(2, 1);
    expect(verifyElementProof(element, salt, proof, tree.root)).toBe(true);

    expect(verifyElementProof({ ...element, code: `${element.code}0` }, salt, proof, tree.root)).toBe(false);
    expect(verifyElementProof({ ...element, extra: true }, salt, proof, tree.root)).toBe(false);
    for (let bit = 0; bit < SALT_BYTES * 8; bit += 13) {
      expect(verifyElementProof(element, flipHexBit(salt, bit), proof, tree.root)).toBe(false);
    }
    for (let bit = 0; bit < 256; bit += 17) {
      expect(verifyElementProof(element, salt, proof, flipHexBit(tree.root, bit))).toBe(false);
    }
    for (const which of ['elementPath', 'segmentPath'] as const) {
      expect(proof[which].length).toBeGreaterThan(0);
      proof[which].forEach((_, i) => {
        const tampered: ElementProof = {
          ...proof,
          [which]: proof[which].map((step, j) => (j === i ? { ...step, hash: flipHexBit(step.hash, 5 + i) } : step)),
        };
        expect(verifyElementProof(element, salt, tampered, tree.root)).toBe(false);
      });
    }
    // Another element's proof, or a proof with a step dropped, does not verify this element.
    expect(verifyElementProof(element, salt, tree.proof(2, 2), tree.root)).toBe(false);
    expect(verifyElementProof(element, salt, { ...proof, segmentPath: proof.segmentPath.slice(1) }, tree.root)).toBe(
      false,
    );
  });

  it('rejects malformed trees, indices and proofs with typed errors', () => {
    expectMerkleError(() => new DeliveryTree([]), 'EMPTY_TREE');
    expectMerkleError(() => new DeliveryTree([randomLeaves(2), []]), 'EMPTY_TREE');
    expectMerkleError(() => new DeliveryTree([['bad']]), 'INVALID_HASH');
    const { segments, tree } = randomDelivery([2, 3]);
    expectMerkleError(() => tree.proof(2, 0), 'INDEX_OUT_OF_RANGE');
    expectMerkleError(() => tree.proof(0, 2), 'INDEX_OUT_OF_RANGE');
    expectMerkleError(() => tree.proof(-1, 0), 'INDEX_OUT_OF_RANGE');
    const { element, salt } = segments[0]?.[0] as { element: unknown; salt: string };
    const proof = tree.proof(0, 0);
    expectMerkleError(() => verifyElementProof(element, salt, proof, 'root'), 'INVALID_HASH');
    expectMerkleError(() => verifyElementProof(element, 'salt', proof, tree.root), 'INVALID_SALT');
    expectMerkleError(
      () => verifyElementProof(element, salt, null as unknown as ElementProof, tree.root),
      'INVALID_PROOF',
    );
    expectMerkleError(
      () => verifyElementProof(element, salt, { ...proof, elementPath: 'x' as unknown as MerkleStep[] }, tree.root),
      'INVALID_PROOF',
    );
  });

  it('a built tree does not change when the caller mutates its input arrays', () => {
    const leaves = [randomLeaves(3), randomLeaves(2)];
    const tree = new DeliveryTree(leaves);
    const root = tree.root;
    const before = tree.proof(0, 1);
    (leaves[0] as string[])[0] = randomLeaves(1)[0] as string;
    expect(tree.proof(0, 1)).toEqual(before);
    expect(tree.root).toBe(root);
  });
});
