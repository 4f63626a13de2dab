import { gunzipSync, gzipSync } from 'node:zlib';
import { canonicalJson } from './canonical-json';
import type { DataElement } from './data-element';
import { JsonNumber, parseExactJson } from './exact-json';
import { DeliveryTree, elementLeafHash, newSalt, verifyElementProof } from './merkle';
import type { AnswerDelivery, DisclosedElement, PullAnswerV1, PullAnswerV2 } from './pull';
import {
  answerElements,
  compactPullAnswer,
  decodePullAnswer,
  encodePullAnswer,
  encodePullAnswerSync,
  MAX_PULL_ANSWER_BYTES,
  PullAnswerFormatError,
  type ListedSegment,
} from './pull-answer';

const HEAD = { requestId: 'req-1', pseudonym: 'pt' + 'a'.repeat(26), answeredAt: '2026-12-01T10:00:00.000Z' };

/** Two deliveries of five segments of three elements each, disclosed in an interleaved order. */
function disclosed(extra: readonly (readonly [number, number, number])[] = []): DisclosedElement[] {
  const deliveries = [0, 1].map((d) => {
    const segments = Array.from({ length: 5 }, (_, s) =>
      Array.from({ length: 3 }, (_, e): { element: DataElement; salt: string } => ({
        element: {
          id: `seg-${d}-${s}.${e}`,
          kind: 'coded',
          resourceType: 'Observation',
          path: 'Observation.code.coding[0]',
          code: `${d}${s}${e}`,
          value: e === 2 ? new JsonNumber('7.10') : s,
        },
        salt: newSalt(),
      })),
    );
    const tree = new DeliveryTree(segments.map((seg) => seg.map((x) => elementLeafHash(x.element, x.salt))));
    return { deliveryId: `delivery-${d}`, segments, tree };
  });
  const picks = [[1, 4, 2], [0, 0, 0], [1, 4, 0], [0, 3, 1], [0, 0, 2], [1, 0, 1], [0, 3, 0], ...extra] as const;
  return picks.map(([d, s, e]) => {
    const delivery = deliveries[d]!;
    const { element, salt } = delivery.segments[s]![e]!;
    return {
      deliveryId: delivery.deliveryId,
      merkleRoot: delivery.tree.root,
      element,
      salt,
      proof: delivery.tree.proof(s, e),
    };
  });
}

describe('compactPullAnswer', () => {
  it('lists each delivery and each segment once, where it first appears, and keeps the elements in order', () => {
    const elements = disclosed();
    const answer = compactPullAnswer(HEAD, elements);
    expect(answer).toMatchObject({ version: 2, ...HEAD });
    expect(answer.deliveries.map((d) => [d.deliveryId, d.segments.map((s) => s.segmentIndex)])).toEqual([
      ['delivery-1', [4, 0]],
      ['delivery-0', [0, 3]],
    ]);
    expect(answer.deliveries.map((d) => d.merkleRoot)).toEqual([elements[0]!.merkleRoot, elements[1]!.merkleRoot]);
    expect(answer.elements.map((e) => e.element.id)).toEqual(elements.map((e) => e.element.id));
    expect(answer.elements[3]).toEqual({
      deliveryId: 'delivery-0',
      segmentIndex: 3,
      elementIndex: 1,
      elementPath: elements[3]!.proof.elementPath,
      element: elements[3]!.element,
      salt: elements[3]!.salt,
    });
    expect(answer.deliveries[1]!.segments[1]!.segmentPath).toEqual(elements[3]!.proof.segmentPath);
  });

  it('refuses elements of one segment with two segment paths, or of one delivery with two roots', () => {
    const elements = disclosed();
    const otherPath = elements.map((e, i) =>
      i === 4 ? { ...e, proof: { ...e.proof, segmentPath: e.proof.segmentPath.slice(1) } } : e,
    );
    expect(() => compactPullAnswer(HEAD, otherPath)).toThrow(
      'elements of segment 0 of delivery delivery-0 carry two segment paths',
    );
    const otherRoot = elements.map((e, i) => (i === 3 ? { ...e, merkleRoot: 'ab'.repeat(32) } : e));
    expect(() => compactPullAnswer(HEAD, otherRoot)).toThrow('elements of delivery delivery-0 name two roots');
  });
});

describe('compactPullAnswer: segments whole', () => {
  it('leaves out the paths of a segment whose every element is in the answer, and counts them', () => {
    // segment 3 of delivery 0 has elements 1 and 0 in the answer already; with 2 it is whole
    const elements = disclosed([[0, 3, 2]]);
    const answer = compactPullAnswer(HEAD, elements);
    const segments = answer.deliveries[1]!.segments;
    expect(segments.map((s) => [s.segmentIndex, s.elementCount])).toEqual([
      [0, undefined],
      [3, 3],
    ]);
    expect(answer.elements.map((e) => e.elementPath === undefined)).toEqual([
      false,
      false,
      false,
      true,
      false,
      false,
      true,
      true,
    ]);
    const items = answerElements(answer);
    const whole = items.filter((item) => item.ok && item.segment?.elementCount !== undefined);
    expect(whole.map((item) => (item as { disclosed: DisclosedElement }).disclosed.element.id)).toEqual([
      'seg-0-3.1',
      'seg-0-3.0',
      'seg-0-3.2',
    ]);
    const segment = (whole[0] as { segment: ListedSegment }).segment;
    expect(segment).toMatchObject({ deliveryId: 'delivery-0', segmentIndex: 3, elementCount: 3, delivery: undefined });
    expect(segment.members.map((m) => m.proof.elementPath)).toEqual([[], [], []]);
  });

  it('keeps the paths when an element is missing, or when a path is not the one the tree of the leaves gives', () => {
    const elements = disclosed([[0, 3, 2]]);
    const missing = compactPullAnswer(HEAD, elements.slice(0, -1));
    expect(missing.deliveries[1]!.segments.map((s) => s.elementCount)).toEqual([undefined, undefined]);
    const stale = elements.map((e, i) =>
      i === 3 ? { ...e, proof: { ...e.proof, elementPath: [...e.proof.elementPath].reverse() } } : e,
    );
    expect(compactPullAnswer(HEAD, stale).deliveries[1]!.segments[1]!.elementCount).toBeUndefined();
    const bad = elements.map((e, i) => (i === 3 ? { ...e, salt: 'not a salt' } : e));
    expect(compactPullAnswer(HEAD, bad).deliveries[1]!.segments[1]!.elementCount).toBeUndefined();
  });
});

describe('compactPullAnswer: deliveries whole', () => {
  const resourcesOf = (d: number) => [0, 1, 2, 3, 4].map((s) => [d, s, 0] as const);

  it('leaves out the segment paths of a delivery whose every segment is in the answer', () => {
    // every segment of delivery 0: segments 0 and 3 with some of their elements, the others with one
    const answer = compactPullAnswer(HEAD, disclosed(resourcesOf(0)));
    const [one, zero] = answer.deliveries as [AnswerDelivery, AnswerDelivery];
    expect([one.deliveryId, one.segmentCount, zero.deliveryId, zero.segmentCount]).toEqual([
      'delivery-1',
      undefined,
      'delivery-0',
      5,
    ]);
    expect(zero.segments.map((s) => [s.segmentIndex, s.segmentPath])).toEqual([
      [0, undefined],
      [3, undefined],
      [1, undefined],
      [2, undefined],
      [4, undefined],
    ]);
    expect(one.segments.every((s) => Array.isArray(s.segmentPath))).toBe(true);
    const items = answerElements(answer);
    const listed = items.map((item) => (item.ok ? item.segment : undefined));
    expect(listed.filter((s) => s?.delivery !== undefined)).toHaveLength(9);
    expect(listed.find((s) => s?.delivery !== undefined)?.delivery).toMatchObject({
      deliveryId: 'delivery-0',
      segmentCount: 5,
    });
  });

  it('keeps the segment paths when a segment is missing, or when a path is not the rebuilt one', () => {
    const picks = resourcesOf(0).filter(([, s]) => s !== 4);
    expect(compactPullAnswer(HEAD, disclosed(picks)).deliveries[1]!.segmentCount).toBeUndefined();
    const elements = disclosed(resourcesOf(0));
    const other = elements.map((e) =>
      e.element.id === 'seg-0-2.0' ? { ...e, proof: { ...e.proof, segmentPath: e.proof.segmentPath.slice(0, -1) } } : e,
    );
    expect(compactPullAnswer(HEAD, other).deliveries[1]!.segmentCount).toBeUndefined();
  });
});

describe('answerElements', () => {
  it('gives every element of a version 2 answer back with its whole proof, through the bytes an agent seals', () => {
    const elements = disclosed();
    const sealed = encodePullAnswerSync(compactPullAnswer(HEAD, elements));
    const answer = parseExactJson(decodePullAnswer(sealed)) as PullAnswerV2;
    const items = answerElements(answer);
    expect(items.map((item) => (item.ok ? item.disclosed : item))).toEqual(elements);
    for (const item of items) {
      if (!item.ok) throw new Error('not ok');
      const { element, salt, proof, merkleRoot } = item.disclosed;
      expect(verifyElementProof(element, salt, proof, merkleRoot)).toBe(true);
    }
    // the elements of one segment share its one path
    const [a, b] = [items[1], items[4]] as { ok: true; disclosed: DisclosedElement }[];
    expect(a!.disclosed.proof.segmentPath).toBe(b!.disclosed.proof.segmentPath);
  });

  it('takes a version 1 answer as it is, and refuses one whose element is not a disclosed element', () => {
    const elements = disclosed();
    const v1: PullAnswerV1 = { version: 1, ...HEAD, elements };
    expect(answerElements(v1)).toEqual(elements.map((disclosed) => ({ ok: true, disclosed })));
    const broken = { ...v1, elements: elements.map((e, i) => (i === 2 ? { ...e, proof: null } : e)) };
    expect(() => answerElements(broken as unknown as PullAnswerV1)).toThrow(
      new PullAnswerFormatError('answer element 2 is not a disclosed element'),
    );
  });

  it('names an element whose delivery or segment the answer does not list, and only that element', () => {
    const answer = compactPullAnswer(HEAD, disclosed());
    answer.elements[3]!.segmentIndex = 2;
    answer.elements[5]!.deliveryId = 'delivery-9';
    const problems = answerElements(answer).filter((item) => !item.ok);
    expect(problems).toEqual([
      {
        ok: false,
        elementId: 'seg-0-3.1',
        deliveryId: 'delivery-0',
        detail: 'names segment 2 of delivery delivery-0, which the answer does not list',
      },
      {
        ok: false,
        elementId: 'seg-1-0.1',
        deliveryId: 'delivery-9',
        detail: 'names delivery delivery-9, which the answer does not list',
      },
    ]);
  });

  it('refuses a delivery or a segment listed twice, and entries not of their shape', () => {
    const fresh = () => compactPullAnswer(HEAD, disclosed());
    const twiceSegment = fresh();
    twiceSegment.deliveries[1]!.segments.push({ ...twiceSegment.deliveries[1]!.segments[0]! });
    expect(() => answerElements(twiceSegment)).toThrow(
      new PullAnswerFormatError('segment 0 of delivery delivery-0 is listed twice'),
    );
    const twiceDelivery = fresh();
    twiceDelivery.deliveries.push({ ...twiceDelivery.deliveries[0]!, segments: [] });
    expect(() => answerElements(twiceDelivery)).toThrow(
      new PullAnswerFormatError('delivery delivery-1 is listed twice'),
    );
    const badIndex = fresh();
    badIndex.deliveries[0]!.segments[1]!.segmentIndex = -1;
    expect(() => answerElements(badIndex)).toThrow(
      new PullAnswerFormatError('segment entry 1 of delivery delivery-1 is not a segment entry'),
    );
    const noVersion = { ...fresh(), version: 3 };
    expect(() => answerElements(noVersion as unknown as PullAnswerV2)).toThrow(
      new PullAnswerFormatError('the answer has version 3'),
    );
  });
});

describe('encodePullAnswer and decodePullAnswer', () => {
  it('seals version 2 as gzip of its canonical JSON, and version 1 as plain canonical JSON', async () => {
    const elements = disclosed();
    const v2 = compactPullAnswer(HEAD, elements);
    const sealed = await encodePullAnswer(v2);
    expect(sealed.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(gunzipSync(sealed).toString('utf8')).toBe(canonicalJson(v2));
    expect(gunzipSync(encodePullAnswerSync(v2))).toEqual(gunzipSync(sealed));
    expect(canonicalJson(v2)).toContain('"value":7.10');

    const v1: PullAnswerV1 = { version: 1, ...HEAD, elements };
    expect((await encodePullAnswer(v1)).toString('utf8')).toBe(canonicalJson(v1));
    expect(decodePullAnswer(await encodePullAnswer(v1))).toBe(canonicalJson(v1));
    expect(decodePullAnswer(sealed)).toBe(canonicalJson(v2));
  });

  it('writes version 2 in ASCII, each character past it escaped, and reads back the same values', () => {
    const [first, ...rest] = disclosed();
    const display = 'Crème brûlée ☕ 😀 \u2028';
    const elements = [{ ...first!, element: { ...first!.element, display } }, ...rest];
    const answer = compactPullAnswer(HEAD, elements);
    const text = gunzipSync(encodePullAnswerSync(answer)).toString('latin1');
    expect(/[^\x20-\x7e]/.test(text)).toBe(false);
    expect(text).toContain('Cr\\u00e8me br\\u00fbl\\u00e9e \\u2615 \\ud83d\\ude00 \\u2028');
    const back = parseExactJson(decodePullAnswer(encodePullAnswerSync(answer))) as PullAnswerV2;
    expect(back.elements[0]!.element.display).toBe(display);
    expect(canonicalJson(back)).toBe(canonicalJson(answer));
  });

  it('inflates no further than the limit: a small gzip cannot make the requester allocate gigabytes', () => {
    expect(MAX_PULL_ANSWER_BYTES).toBe(256 * 1024 * 1024);
    const bomb = gzipSync(Buffer.alloc(1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(2048);
    expect(decodePullAnswer(bomb, 1024 * 1024)).toHaveLength(1024 * 1024);
    let thrown: unknown;
    try {
      decodePullAnswer(bomb, 1024 * 1024 - 1);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(PullAnswerFormatError);
    expect((thrown as Error).message).toBe(
      `the answer's gzip cannot be inflated: it inflates past ${1024 * 1024 - 1} bytes`,
    );
  });

  it('refuses gzip that is cut short or followed by anything', () => {
    const whole = gzipSync('{"version":2}');
    for (const bad of [whole.subarray(0, whole.length - 1), Buffer.concat([whole, Buffer.from(' ')])]) {
      expect(() => decodePullAnswer(bad)).toThrow(PullAnswerFormatError);
    }
  });
});
