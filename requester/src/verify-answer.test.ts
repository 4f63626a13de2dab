import { gzipSync } from 'node:zlib';
import {
  canonicalJson,
  generateEncryptionKeyPair,
  JsonNumber,
  PATIENTS_MSP_ID,
  parseExactJson,
  type DataElement,
  type DisclosedElement,
  type PullAnswer,
  type PullAnswerV2,
} from '@phr/common';
import { PullVerificationError, type PullVerificationCode } from './errors';
import { CountingLedger, type RequesterLedger } from './ledger';
import { makeAnswerWorld, type AnswerWorld } from './testing/answer-fixture';
import { makeCa } from '@phr/test-support';
import { verifyAnswer } from './verify-answer';

/** Delivery 0 has 5 segments, delivery 1 has 3; each segment is [resource, coded]. */
const PICKS = [
  [0, 0, 0],
  [0, 0, 1],
  [0, 1, 1],
  [0, 3, 0],
  [0, 3, 1],
  [0, 4, 1],
  [1, 0, 1],
  [1, 2, 0],
  [1, 2, 1],
] as const;

let w: AnswerWorld;
beforeAll(async () => {
  w = await makeAnswerWorld();
});

async function refusal(promise: Promise<unknown>): Promise<PullVerificationError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(PullVerificationError);
    return err as PullVerificationError;
  }
  throw new Error('the answer was accepted');
}

async function expectAnswerRefused(
  answer: PullAnswer,
  code: PullVerificationCode,
  elementIds: string[] = [],
  ledger: RequesterLedger = w.ledger,
): Promise<PullVerificationError> {
  const err = await refusal(verifyAnswer(w.seal(answer), w.ctx, ledger));
  expect(err.name).toBe('PullVerificationError');
  expect(err.code).toBe(code);
  expect(err.elementIds).toEqual(elementIds);
  return err;
}

const ids = (elements: readonly DisclosedElement[]) => elements.map((e) => e.element.id);

// Every tampering an element of either version can carry, refused alike: version 2 is what agents
// write, version 1 what they wrote before and what requesters still read.
describe.each([2, 1] as const)('verifyAnswer, a version %i answer', (version) => {
  const build = (elements: DisclosedElement[]): PullAnswer =>
    version === 2 ? w.compact(elements) : w.answer(elements);
  const expectRefused = (elements: DisclosedElement[], code: PullVerificationCode, elementIds: string[] = []) =>
    expectAnswerRefused(build(elements), code, elementIds);

  test('a genuine answer verifies, with one ledger read per delivery root', async () => {
    const ledger = new CountingLedger(w.ledger);
    const elements = w.disclose(PICKS);
    const verified = await verifyAnswer(w.seal(build(elements)), w.ctx, ledger);
    // every element back with its whole proof, as version 1 carried it
    expect(verified.elements).toEqual(elements);
    expect(verified.resources.map((r) => r.id)).toEqual(['obs-0', 'obs-3', 'obs-102']);
    expect(verified.deliveriesChecked).toBe(2);
    expect(verified.ledgerReads).toBe(3);
    expect(ledger.patientReads).toBe(1);
    expect(ledger.deliveryReads).toBe(2);
  });

  test('an empty answer verifies and reads only the patient', async () => {
    const ledger = new CountingLedger(w.ledger);
    const verified = await verifyAnswer(w.seal(build([])), w.ctx, ledger);
    expect(verified.elements).toEqual([]);
    expect(ledger.reads).toBe(1);
  });

  test('an altered element value is refused and named', async () => {
    const elements = w.disclose(PICKS);
    elements[2]!.element.value = 99;
    const err = await expectRefused(elements, 'PROOF_INVALID', [elements[2]!.element.id]);
    expect(err.message).toBe(
      `element ${elements[2]!.element.id} does not match the ledger: its proof does not lead to delivery ${elements[2]!.deliveryId}'s root`,
    );
  });

  test('an altered resource inside the resource element is refused', async () => {
    const elements = w.disclose(PICKS);
    (elements[0]!.element.resource as { status: string }).status = 'entered-in-error';
    await expectRefused(elements, 'PROOF_INVALID', [elements[0]!.element.id]);
  });

  test('a changed salt is refused', async () => {
    const elements = w.disclose(PICKS);
    elements[1]!.salt = elements[2]!.salt;
    await expectRefused(elements, 'PROOF_INVALID', [elements[1]!.element.id]);
  });

  test('an altered step of the element path is refused', async () => {
    const elements = w.disclose(PICKS);
    const step = elements[6]!.proof.elementPath[0]!;
    step.hash = (step.hash[0] === '0' ? '1' : '0') + step.hash.slice(1);
    await expectRefused(elements, 'PROOF_INVALID', [elements[6]!.element.id]);
  });

  test('a malformed proof is refused as an invalid proof of that element', async () => {
    const elements = w.disclose(PICKS);
    (elements[4]!.proof as unknown as { elementPath: unknown }).elementPath = 'nope';
    await expectRefused(elements, 'PROOF_INVALID', [elements[4]!.element.id]);
  });

  test('every offending element is listed, not just the first', async () => {
    const elements = w.disclose(PICKS);
    elements[2]!.element.code = 'other';
    elements[8]!.element.display = 'other';
    const err = await expectRefused(elements, 'PROOF_INVALID', [elements[2]!.element.id, elements[8]!.element.id]);
    expect(err.problems).toHaveLength(2);
    expect(err.message).toMatch(/^2 elements fail verification/);
  });

  test('a root on the ledger other than the one the elements name is refused for every element of that delivery', async () => {
    const record = w.ledger.deliveries.get(w.deliveries[1]!.deliveryId)!;
    const saved = record.merkleRoot;
    record.merkleRoot = 'ab'.repeat(32);
    try {
      const elements = w.disclose(PICKS);
      const err = await expectRefused(
        elements,
        'ROOT_MISMATCH',
        elements.slice(6).map((e) => e.element.id),
      );
      expect(err.message).toContain('does not match the ledger');
    } finally {
      record.merkleRoot = saved;
    }
  });

  test('elements naming the ledger root but carrying another tree are refused', async () => {
    // A sender that claims the ledger's root on elements of another tree: the proof must decide.
    const elements = w.disclose(PICKS);
    elements[6]!.merkleRoot = w.deliveries[1]!.tree.root;
    elements[6]!.proof = w.deliveries[0]!.tree.proof(0, 1);
    await expectRefused(elements, 'PROOF_INVALID', [elements[6]!.element.id]);
  });

  test('a delivery committed for another patient is refused', async () => {
    const record = w.ledger.deliveries.get(w.deliveries[0]!.deliveryId)!;
    record.pseudonym = 'ptbbbbbbbbbbbbbbbbbbbbbbbbbb';
    try {
      const elements = w.disclose(PICKS);
      await expectRefused(
        elements,
        'DELIVERY_OTHER_PATIENT',
        elements.slice(0, 6).map((e) => e.element.id),
      );
    } finally {
      record.pseudonym = w.pseudonym;
    }
  });

  test('a delivery the patient rejected is refused', async () => {
    const record = w.ledger.deliveries.get(w.deliveries[1]!.deliveryId)!;
    record.status = 'rejected';
    try {
      const elements = w.disclose(PICKS);
      await expectRefused(
        elements,
        'DELIVERY_REJECTED',
        elements.slice(6).map((e) => e.element.id),
      );
    } finally {
      record.status = 'complete';
    }
  });

  test('a delivery the ledger does not know is refused', async () => {
    const elements = w.disclose(PICKS);
    elements[3]!.deliveryId = 'delivery-unknown-1';
    await expectRefused(elements, 'DELIVERY_UNKNOWN', [elements[3]!.element.id]);
  });

  test('the same element disclosed twice is refused', async () => {
    const elements = w.disclose([...PICKS, PICKS[0]]);
    await expectRefused(elements, 'DUPLICATE_ELEMENT', [elements[0]!.element.id]);
  });
});

describe('verifyAnswer, the envelope and the signer', () => {
  test('an answer signed by another patient is refused', async () => {
    const other = await w.patientsCa.issue('patient-b', { attrs: { 'phr.role': 'patient' } });
    const err = await refusal(verifyAnswer(w.seal(w.compact(w.disclose(PICKS)), { signer: other }), w.ctx, w.ledger));
    expect(err.code).toBe('SIGNER_NOT_PATIENT');
  });

  test("an answer signed by a look-alike certificate (same names, another CA's key) is refused", async () => {
    // Same subject and issuer names, so the same identity key: only the key itself tells them apart.
    const forger = await makeCa(PATIENTS_MSP_ID);
    const lookAlike = await forger.issue('patient-a', { attrs: { 'phr.role': 'patient' } });
    const sealed = w.seal(w.compact(w.disclose(PICKS)), { signer: lookAlike });
    const err = await refusal(verifyAnswer(sealed, w.ctx, w.ledger));
    expect(err.code).toBe('SIGNER_NOT_PATIENT');
    // Trusting the real patients' CA does not help the forger either.
    const err2 = await refusal(
      verifyAnswer(sealed, { ...w.ctx, patientsCaPem: w.patientsCa.certificatePem }, w.ledger),
    );
    expect(err2.code).toBe('SIGNER_NOT_PATIENT');
  });

  test("a re-enrolled key is accepted only when the patients' CA is trusted", async () => {
    const reenrolled = await w.patientsCa.issue('patient-a', { attrs: { 'phr.role': 'patient' } });
    const sealed = w.seal(w.compact(w.disclose(PICKS)), { signer: reenrolled });
    expect((await refusal(verifyAnswer(sealed, w.ctx, w.ledger))).code).toBe('SIGNER_NOT_PATIENT');
    const verified = await verifyAnswer(sealed, { ...w.ctx, patientsCaPem: w.patientsCa.certificatePem }, w.ledger);
    expect(verified.elements).toHaveLength(PICKS.length);
  });

  test('an answer sealed for another requester, request or patient is refused', async () => {
    const elements = w.disclose(PICKS);
    const sealed = w.seal(w.compact(elements));
    for (const ctx of [
      { ...w.ctx, requesterId: 'id' + 'f'.repeat(40) },
      { ...w.ctx, requestId: 'req-other' },
    ]) {
      const err = await refusal(verifyAnswer(sealed, ctx, w.ledger));
      expect(err.code).toBe('CONTEXT_MISMATCH');
      expect(err.cause).toBeDefined();
    }
  });

  test('an answer that contradicts its own associated data is refused', async () => {
    const answer = { ...w.compact(w.disclose(PICKS)), requestId: 'req-another-one' };
    const err = await refusal(verifyAnswer(w.seal(answer), w.ctx, w.ledger));
    expect(err.code).toBe('ANSWER_MISMATCH');
  });

  test('an answer our key cannot open is refused', async () => {
    const other = generateEncryptionKeyPair('X25519');
    const err = await refusal(
      verifyAnswer(
        w.seal(w.compact(w.disclose(PICKS))),
        { ...w.ctx, answerPrivateKeyPem: other.privateKeyPem },
        w.ledger,
      ),
    );
    expect(err.code).toBe('DECRYPTION_FAILED');
  });

  test('a tampered envelope is refused before any ledger read', async () => {
    const ledger = new CountingLedger(w.ledger);
    const sealed = w.seal(w.compact(w.disclose(PICKS)));
    const bytes = Buffer.from(sealed.ciphertext, 'base64');
    bytes[0] = bytes[0]! ^ 1;
    const err = await refusal(verifyAnswer({ ...sealed, ciphertext: bytes.toString('base64') }, w.ctx, ledger));
    expect(err.code).toBe('SIGNATURE_INVALID');
    expect(ledger.reads).toBe(0);
    expect((await refusal(verifyAnswer('not an envelope', w.ctx, ledger))).code).toBe('MALFORMED');
  });

  test('an unknown patient and an unreachable ledger are refusals, not acceptances', async () => {
    const sealed = w.seal(w.compact(w.disclose(PICKS)));
    const noPatient = { readPatient: async () => undefined, readDelivery: w.ledger.readDelivery.bind(w.ledger) };
    expect((await refusal(verifyAnswer(sealed, w.ctx, noPatient))).code).toBe('PATIENT_UNKNOWN');
    const down = {
      readPatient: w.ledger.readPatient.bind(w.ledger),
      readDelivery: async () => {
        throw new Error('UNAVAILABLE');
      },
    };
    const err = await refusal(verifyAnswer(sealed, w.ctx, down));
    expect(err.code).toBe('LEDGER_UNAVAILABLE');
    expect((err.cause as Error).message).toBe('UNAVAILABLE');
  });
});

describe('verifyAnswer, version 1 only', () => {
  test('an altered segment path is refused even after a sibling of the same segment was proven', async () => {
    // elements 0 and 1 share segment 0 of delivery 0: the second must not ride on the first's proof
    const elements = w.disclose(PICKS);
    const steps = elements[1]!.proof.segmentPath;
    steps[steps.length - 1]!.left = !steps[steps.length - 1]!.left;
    await expectAnswerRefused(w.answer(elements), 'PROOF_INVALID', [elements[1]!.element.id]);
  });
});

describe('verifyAnswer, version 2: each segment path once', () => {
  /** The entry of segment `segmentIndex` of delivery `d` (index into w.deliveries). */
  const entry = (answer: PullAnswerV2, d: number, segmentIndex: number) => {
    const delivery = answer.deliveries.find((x) => x.deliveryId === w.deliveries[d]!.deliveryId)!;
    return { delivery, segment: delivery.segments.find((x) => x.segmentIndex === segmentIndex)! };
  };
  const flip = (hash: string) => (hash[0] === '0' ? '1' : '0') + hash.slice(1);

  test('an answer lists each delivery and each segment once, whole segments without element paths', () => {
    const elements = w.disclose(PICKS);
    const answer = w.compact(elements);
    expect(answer.deliveries.map((d) => d.deliveryId)).toEqual(w.deliveries.slice(0, 2).map((d) => d.deliveryId));
    // segments 0 and 3 of delivery 0 and 2 of delivery 1 are disclosed with both their elements
    expect(answer.deliveries.map((d) => d.segments.map((s) => [s.segmentIndex, s.elementCount]))).toEqual([
      [
        [0, 2],
        [1, undefined],
        [3, 2],
        [4, undefined],
      ],
      [
        [0, undefined],
        [2, 2],
      ],
    ]);
    expect(answer.elements.map((e) => [e.element.id, e.elementPath !== undefined])).toEqual(
      elements.map((e, i) => [e.element.id, [2, 5, 6].includes(i)]),
    );
    const v1 = canonicalJson(w.answer(elements)).length;
    expect(canonicalJson(answer).length).toBeLessThan(v1);
  });

  test('segments held whole, of any size, verify and give each element the path version 1 carried', async () => {
    const segment = (id: string, size: number): DataElement[] =>
      Array.from({ length: size }, (_, e) => ({
        id: `${id}.${e}`,
        kind: 'coded',
        resourceType: 'Observation',
        path: `Observation.code.coding[${e}]`,
        system: 'http://loinc.org',
        code: `${size}-${e}`,
      }));
    const sizes = [1, 3, 5, 8, 11];
    const d = w.addDelivery(sizes.map((size) => segment(`seg-size-${size}`, size)));
    const picks = sizes.flatMap((size, s) => Array.from({ length: size }, (_, e) => [d, s, size - 1 - e] as const));
    const elements = w.disclose(picks);
    const answer = w.compact(elements);
    expect(answer.deliveries[0]!.segments.map((s) => s.elementCount)).toEqual(sizes);
    expect(answer.elements.every((e) => e.elementPath === undefined)).toBe(true);
    const verified = await verifyAnswer(w.seal(answer), w.ctx, w.ledger);
    expect(verified.elements).toEqual(elements);
    // all but one element of a segment: not whole, each with its path
    const partial = w.compact(elements.filter((e) => e.element.id !== 'seg-size-5.2'));
    expect(partial.deliveries[0]!.segments.map((s) => s.elementCount)).toEqual([1, 3, undefined, 8, 11]);
    expect((await verifyAnswer(w.seal(partial), w.ctx, w.ledger)).elements).toHaveLength(elements.length - 1);
  });

  test('a delivery held whole ($everything) verifies without segment paths, resources alone or every element', async () => {
    const counting = new CountingLedger(w.ledger);
    // delivery 1: three segments of a resource and its code
    const all = w.disclose([0, 1, 2].flatMap((s) => [[1, s, 1] as const, [1, s, 0] as const]));
    const everything = w.compact(all);
    expect(everything.deliveries).toEqual([
      {
        deliveryId: w.deliveries[1]!.deliveryId,
        merkleRoot: w.deliveries[1]!.tree.root,
        segmentCount: 3,
        segments: [0, 1, 2].map((segmentIndex) => ({ segmentIndex, elementCount: 2 })),
      },
    ]);
    expect(everything.elements.every((e) => e.elementPath === undefined)).toBe(true);
    expect((await verifyAnswer(w.seal(everything), w.ctx, counting)).elements).toEqual(all);
    expect(counting.deliveryReads).toBe(1);
    // the agent's $everything today: the resource element of each segment, each with its own path
    const resources = w.disclose([0, 1, 2, 3, 4].map((s) => [0, s, 0] as const));
    const answer = w.compact(resources);
    expect(answer.deliveries[0]!.segmentCount).toBe(5);
    expect(
      answer.deliveries[0]!.segments.every((s) => s.segmentPath === undefined && s.elementCount === undefined),
    ).toBe(true);
    expect(answer.elements.every((e) => e.elementPath !== undefined)).toBe(true);
    expect((await verifyAnswer(w.seal(answer), w.ctx, w.ledger)).elements).toEqual(resources);
  });

  test('in a delivery held whole, the elements of a segment not held whole must agree on its root', async () => {
    const sizes = [2, 5, 3];
    const d = w.addDelivery(
      sizes.map((size, s) =>
        Array.from({ length: size }, (_, e): DataElement => ({
          id: `seg-agree-${s}.${e}`,
          kind: 'coded',
          resourceType: 'Observation',
          path: `Observation.code.coding[${e}]`,
          code: `${s}-${e}`,
        })),
      ),
    );
    // segments 0 and 2 whole, segment 1 with two of its five elements, each with its own path
    const picks = [[d, 0, 0] as const, [d, 0, 1] as const, [d, 1, 3] as const, [d, 1, 1] as const, [d, 2, 0] as const];
    const all = [...picks, [d, 2, 1] as const, [d, 2, 2] as const];
    const elements = w.disclose(all);
    const genuine = w.compact(elements);
    expect(genuine.deliveries[0]!.segmentCount).toBe(3);
    expect(genuine.deliveries[0]!.segments.map((s) => s.elementCount)).toEqual([2, undefined, 3]);
    expect((await verifyAnswer(w.seal(genuine), w.ctx, w.ledger)).elements).toEqual(elements);
    // the second element of segment 1 altered: the first still leads to the right root, the second does not
    const altered = w.compact(w.disclose(all));
    altered.elements[3]!.element.code = 'altered';
    await expectAnswerRefused(altered, 'PROOF_INVALID', ids(elements));
  });

  test('a delivery held whole is refused as a whole: any element, segment or count that does not fit', async () => {
    const picks = [0, 1, 2, 3, 4].flatMap((s) =>
      s === 2 ? [[0, s, 0] as const] : [[0, s, 0] as const, [0, s, 1] as const],
    );
    const elements = w.disclose(picks); // segment 2 partial (its resource alone), the others whole
    const everyone = ids(elements);
    const answer = () => {
      const a = w.compact(w.disclose(picks)); // fresh elements: a tampering alters them
      expect(a.deliveries[0]!.segmentCount).toBe(5);
      return a;
    };
    const cases: [string, (a: PullAnswerV2) => void][] = [
      ['a changed element of a segment held whole', (a) => (a.elements[0]!.element.display = 'altered')],
      ['a changed element of a segment not held whole', (a) => (a.elements[4]!.element.display = 'altered')],
      [
        'a changed step of its own path',
        (a) => (a.elements[4]!.elementPath![0]!.left = !a.elements[4]!.elementPath![0]!.left),
      ],
      ['a segment count too high', (a) => (a.deliveries[0]!.segmentCount = 6)],
      ['a segment count too low', (a) => (a.deliveries[0]!.segmentCount = 4)],
      [
        'two segments swapped',
        (a) =>
          a.elements.forEach(
            (e) => (e.segmentIndex = e.segmentIndex === 0 ? 1 : e.segmentIndex === 1 ? 0 : e.segmentIndex),
          ),
      ],
    ];
    for (const [what, tamper] of cases) {
      const a = answer();
      tamper(a);
      const err = await expectAnswerRefused(a, 'PROOF_INVALID', everyone).catch((e: unknown) => {
        throw new Error(`${what}: ${String(e)}`);
      });
      expect(err.message).toMatch(new RegExp(`^${everyone.length} elements fail verification`));
    }
    // a segment left out of the list: its elements point at nothing, the rest are no longer whole
    const short = answer();
    short.deliveries[0]!.segments.splice(4, 1);
    const err = await expectAnswerRefused(short, 'PROOF_INVALID', everyone);
    expect(err.problems.at(-1)!.detail).toMatch(/which the answer does not list$/);
    expect(err.problems[0]!.detail).toBe(
      `has no proof: delivery ${w.deliveries[0]!.deliveryId} is said to be in the answer whole, 5 segments, but the answer lists 4 of them, not each index once`,
    );
    // a segment path where the delivery is held whole is not of the shape
    const withPath = answer();
    withPath.deliveries[0]!.segments[1]!.segmentPath = [];
    await expectAnswerRefused(withPath, 'MALFORMED');
  });

  test('a changed element of a segment held whole is refused for every element of that segment', async () => {
    const elements = w.disclose(PICKS);
    const answer = w.compact(elements);
    (answer.elements[0]!.element.resource as { status: string }).status = 'entered-in-error';
    const err = await expectAnswerRefused(answer, 'PROOF_INVALID', ids(elements.slice(0, 2)));
    expect(err.problems[0]!.detail).toBe(
      `does not match the ledger: its segment's elements do not lead to delivery ${w.deliveries[0]!.deliveryId}'s root`,
    );
    const salted = w.compact(w.disclose(PICKS));
    salted.elements[8]!.salt = salted.elements[7]!.salt;
    await expectAnswerRefused(salted, 'PROOF_INVALID', ids(elements.slice(7, 9)));
  });

  test('a segment said to be whole must hold each of its elements once, in their places', async () => {
    const elements = w.disclose(PICKS);
    const cases: [string, (a: PullAnswerV2) => void, number[]][] = [
      ['an element left out', (a) => a.elements.splice(1, 1), [0]],
      ['a count too high', (a) => (entry(a, 0, 3).segment.elementCount = 3), [3, 4]],
      ['a count too low', (a) => (entry(a, 0, 3).segment.elementCount = 1), [3, 4]],
      [
        'two elements swapped',
        (a) => {
          a.elements[3]!.elementIndex = 1;
          a.elements[4]!.elementIndex = 0;
        },
        [3, 4],
      ],
      ['an index twice', (a) => (a.elements[4]!.elementIndex = 0), [3, 4]],
      [
        'a segment of two claimed whole by one of its elements',
        (a) => {
          entry(a, 0, 1).segment.elementCount = 1;
          a.elements[2]!.elementIndex = 0;
          delete a.elements[2]!.elementPath;
        },
        [2],
      ],
    ];
    for (const [what, tamper, named] of cases) {
      const answer = w.compact(elements);
      tamper(answer);
      const err = await expectAnswerRefused(
        answer,
        'PROOF_INVALID',
        named.map((i) => elements[i]!.element.id),
      ).catch((e: unknown) => {
        throw new Error(`${what}: ${String(e)}`);
      });
      expect(err.problems.every((p) => p.code === 'PROOF_INVALID')).toBe(true);
    }
  });

  test('a changed step of a shared segment path is refused for every element of that segment', async () => {
    for (const change of ['hash', 'left'] as const) {
      const elements = w.disclose(PICKS);
      const answer = w.compact(elements);
      const step = entry(answer, 0, 0).segment.segmentPath!.at(-1)!;
      if (change === 'hash') step.hash = flip(step.hash);
      else step.left = !step.left;
      const err = await expectAnswerRefused(answer, 'PROOF_INVALID', ids(elements.slice(0, 2)));
      expect(err.message).toMatch(/^2 elements fail verification/);
    }
  });

  test('a shared segment path that is not a path, or none, is refused for every element of that segment', async () => {
    const elements = w.disclose(PICKS);
    const answer = w.compact(elements);
    (entry(answer, 1, 2).segment as { segmentPath: unknown }).segmentPath = 'nope';
    await expectAnswerRefused(answer, 'PROOF_INVALID', ids(elements.slice(7, 9)));
    delete entry(answer, 1, 2).segment.segmentPath;
    await expectAnswerRefused(answer, 'PROOF_INVALID', ids(elements.slice(7, 9)));
  });

  test('an element pointing to a segment the answer does not list is refused, and named', async () => {
    const elements = w.disclose(PICKS);
    const answer = w.compact(elements);
    answer.elements[2]!.segmentIndex = 2; // delivery 0's segments 0, 1, 3 and 4 are listed
    const err = await expectAnswerRefused(answer, 'PROOF_INVALID', [elements[2]!.element.id]);
    expect(err.message).toBe(
      `element ${elements[2]!.element.id} has no proof: it names segment 2 of delivery ${w.deliveries[0]!.deliveryId}, which the answer does not list`,
    );
    for (const segmentIndex of ['1', 1.5, null]) {
      (answer.elements[2] as { segmentIndex: unknown }).segmentIndex = segmentIndex;
      await expectAnswerRefused(answer, 'PROOF_INVALID', [elements[2]!.element.id]);
    }
    delete (answer.elements[2] as { segmentIndex?: unknown }).segmentIndex;
    await expectAnswerRefused(answer, 'PROOF_INVALID', [elements[2]!.element.id]);
  });

  test('an element pointing to another segment of its delivery is refused, and named', async () => {
    const elements = w.disclose(PICKS);
    const answer = w.compact(elements);
    // element 2, alone from segment 1, pointed at segment 4 (also partial): its path leads elsewhere
    answer.elements[2]!.segmentIndex = 4;
    await expectAnswerRefused(answer, 'PROOF_INVALID', [elements[2]!.element.id]);
    // pointed at segment 3, which the answer holds whole: it is not counted in, and proves nothing
    const intoWhole = w.compact(elements);
    intoWhole.elements[2]!.segmentIndex = 3;
    const err = await expectAnswerRefused(intoWhole, 'PROOF_INVALID', [elements[2]!.element.id]);
    expect(err.message).toBe(
      `element ${elements[2]!.element.id} has no proof: it carries a path of its own, but names segment 3 of delivery ${w.deliveries[0]!.deliveryId}, which the answer holds whole`,
    );
    // the other way round: element 3 leaves whole segment 3 for segment 1; it has no path, and
    // segment 3 is no longer whole
    const out = w.compact(elements);
    out.elements[3]!.segmentIndex = 1;
    await expectAnswerRefused(out, 'PROOF_INVALID', ids(elements.slice(3, 5)));
  });

  test('an element pointing to a delivery the answer does not list is refused without reading it', async () => {
    const elements = w.disclose(PICKS);
    const answer = w.compact(elements);
    answer.deliveries = answer.deliveries.slice(0, 1); // delivery 1 is on the ledger, but not in the answer
    const ledger = new CountingLedger(w.ledger);
    const err = await expectAnswerRefused(answer, 'PROOF_INVALID', ids(elements.slice(6)), ledger);
    expect(err.problems.map((p) => p.deliveryId)).toEqual(elements.slice(6).map((e) => e.deliveryId));
    expect(ledger.deliveryReads).toBe(1);
    const moved = w.compact(elements);
    moved.elements[6]!.deliveryId = w.deliveries[0]!.deliveryId; // listed, but its segment 0 is another
    await expectAnswerRefused(moved, 'PROOF_INVALID', [elements[6]!.element.id]);
  });

  test('a segment listed twice is refused before any delivery is read, whichever path the copy carries', async () => {
    const elements = w.disclose(PICKS);
    const forged = w.deliveries[0]!.tree.proof(1, 0).segmentPath; // a genuine path, of another segment
    for (const path of ['same', 'forged'] as const) {
      const answer = w.compact(elements);
      const { delivery, segment } = entry(answer, 0, 3);
      delivery.segments.push({ segmentIndex: 3, segmentPath: path === 'same' ? segment.segmentPath : forged });
      const ledger = new CountingLedger(w.ledger);
      const err = await expectAnswerRefused(answer, 'MALFORMED', [], ledger);
      expect(err.message).toBe(`segment 3 of delivery ${w.deliveries[0]!.deliveryId} is listed twice`);
      expect(ledger.deliveryReads).toBe(0);
    }
  });

  test('a delivery listed twice is refused, even with no element in the copy', async () => {
    const answer = w.compact(w.disclose(PICKS));
    answer.deliveries.push({ ...answer.deliveries[1]!, segments: [] });
    const err = await expectAnswerRefused(answer, 'MALFORMED');
    expect(err.message).toBe(`delivery ${w.deliveries[1]!.deliveryId} is listed twice`);
  });

  test('entries and elements not of the version 2 shape are refused as malformed', async () => {
    const cases: ((a: PullAnswerV2) => void)[] = [
      (a) => ((a as { deliveries: unknown }).deliveries = {}),
      (a) => ((a.deliveries as unknown[])[0] = 'delivery'),
      (a) => ((a.deliveries[0] as { merkleRoot: unknown }).merkleRoot = 7),
      (a) => ((a.deliveries[0] as { segments: unknown }).segments = null),
      (a) => ((a.deliveries[0]!.segments as unknown[])[0] = 3),
      (a) => (a.deliveries[0]!.segments[0]!.segmentIndex = -1),
      (a) => (a.deliveries[0]!.segments[0]!.segmentIndex = 0.5),
      (a) => ((a.deliveries[0]!.segments[0] as { segmentIndex: unknown }).segmentIndex = '0'),
      (a) => (a.deliveries[0]!.segments[0]!.elementCount = 0),
      (a) => (a.deliveries[0]!.segmentCount = 0),
      (a) => ((a.deliveries[0] as { segmentCount: unknown }).segmentCount = '5'),
      (a) => (a.deliveries[0]!.segments[0]!.elementCount = 1.5),
      (a) => ((a.deliveries[0]!.segments[0] as { elementCount: unknown }).elementCount = '2'),
      (a) => ((a.deliveries[0]!.segments[0] as { elementCount: unknown }).elementCount = null),
      (a) => ((a.elements as unknown[])[4] = null),
      (a) => delete (a.elements[4] as { salt?: unknown }).salt,
      (a) => ((a.elements[4] as { element: unknown }).element = { kind: 'coded' }),
      (a) => ((a as { elements: unknown }).elements = {}),
    ];
    for (const tamper of cases) {
      const answer = w.compact(w.disclose(PICKS));
      tamper(answer);
      const ledger = new CountingLedger(w.ledger);
      await expectAnswerRefused(answer, 'MALFORMED', [], ledger);
      expect(ledger.deliveryReads).toBe(0);
    }
  });

  test('a segment entry no element names proves nothing and changes nothing', async () => {
    const elements = w.disclose(PICKS);
    const answer = w.compact(elements);
    answer.deliveries[0]!.segments.push({ segmentIndex: 2, segmentPath: [] });
    const verified = await verifyAnswer(w.seal(answer), w.ctx, w.ledger);
    expect(verified.elements).toEqual(elements);
  });

  test('uncompressed and non-canonical version 2 JSON is read too', async () => {
    const elements = w.disclose(PICKS);
    const answer = w.compact(elements);
    for (const plaintext of [Buffer.from(canonicalJson(answer)), gzipSync(JSON.stringify(answer))]) {
      const verified = await verifyAnswer(w.sealBytes(plaintext), w.ctx, w.ledger);
      expect(verified.elements).toEqual(elements);
    }
  });

  test('gzip that is cut short, carries trailing bytes or is not gzip is refused as malformed', async () => {
    const whole = gzipSync(canonicalJson(w.compact(w.disclose(PICKS))));
    for (const plaintext of [
      whole.subarray(0, whole.length - 9),
      Buffer.concat([whole, Buffer.from('{}')]),
      Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02]),
    ]) {
      const ledger = new CountingLedger(w.ledger);
      const err = await refusal(verifyAnswer(w.sealBytes(plaintext), w.ctx, ledger));
      expect(err.code).toBe('MALFORMED');
      expect(err.message).toMatch(/^the answer's gzip cannot be inflated/);
      expect(ledger.deliveryReads).toBe(0);
    }
  });

  test('a version the requester does not know is refused', async () => {
    const answer = { ...w.compact(w.disclose(PICKS)), version: 3 } as unknown as PullAnswer;
    const err = await expectAnswerRefused(answer, 'MALFORMED');
    expect(err.message).toBe('the answer is not a version 1 or 2 pull answer');
  });

  test('numbers keep the text the hospital hashed: 7.10 stays 7.10 through gzip', async () => {
    const value = parseExactJson('{"v":7.10}') as { v: JsonNumber };
    expect(value.v).toBeInstanceOf(JsonNumber);
    const hba1c: DataElement = {
      id: 'seg-decimal-0.1',
      kind: 'coded',
      resourceType: 'Observation',
      path: 'Observation.code.coding[0]',
      system: 'http://loinc.org',
      code: '4548-4',
      value: value.v,
      unit: '%',
    };
    const d = w.addDelivery([
      [
        {
          ...hba1c,
          id: 'seg-decimal-0.0',
          kind: 'resource',
          resource: { resourceType: 'Observation', valueQuantity: { value: value.v } },
        },
        hba1c,
      ],
    ]);
    const elements = w.disclose([
      [d, 0, 1],
      [d, 0, 0],
    ]);
    const sealed = w.seal(w.compact(elements));
    const verified = await verifyAnswer(sealed, w.ctx, w.ledger);
    expect(verified.elements[0]!.element.value).toBeInstanceOf(JsonNumber);
    expect(String(verified.elements[0]!.element.value)).toBe('7.10');
    expect(JSON.stringify(verified.resources[0])).toContain('"value":7.10');
    // 7.1 is another text, another leaf: the proof does not take it
    const altered = w.disclose([[d, 0, 1]]);
    altered[0]!.element.value = 7.1;
    await expectAnswerRefused(w.compact(altered), 'PROOF_INVALID', ['seg-decimal-0.1']);
  });
});
