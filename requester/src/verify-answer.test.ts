import { generateEncryptionKeyPair, PATIENTS_MSP_ID, type DisclosedElement } from '@phr/common';
import { PullVerificationError, type PullVerificationCode } from './errors';
import { CountingLedger } from './ledger';
import { makeAnswerWorld, type AnswerWorld } from './testing/answer-fixture';
import { makeCa } from './testing/pki';
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

async function expectRefused(
  elements: DisclosedElement[],
  code: PullVerificationCode,
  elementIds: string[] = [],
): Promise<PullVerificationError> {
  const err = await refusal(verifyAnswer(w.seal(w.answer(elements)), w.ctx, w.ledger));
  expect(err.name).toBe('PullVerificationError');
  expect(err.code).toBe(code);
  expect(err.elementIds).toEqual(elementIds);
  return err;
}

describe('verifyAnswer', () => {
  test('a genuine answer verifies, with one ledger read per delivery root', async () => {
    const ledger = new CountingLedger(w.ledger);
    const elements = w.disclose(PICKS);
    const verified = await verifyAnswer(w.seal(w.answer(elements)), w.ctx, ledger);
    expect(verified.elements.map((e) => e.element.id)).toEqual(elements.map((e) => e.element.id));
    expect(verified.resources.map((r) => r.id)).toEqual(['obs-0', 'obs-3', 'obs-102']);
    expect(verified.deliveriesChecked).toBe(2);
    expect(verified.ledgerReads).toBe(3);
    expect(ledger.patientReads).toBe(1);
    expect(ledger.deliveryReads).toBe(2);
  });

  test('an empty answer verifies and reads only the patient', async () => {
    const ledger = new CountingLedger(w.ledger);
    const verified = await verifyAnswer(w.seal(w.answer([])), w.ctx, ledger);
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

  test('an altered segment path is refused even after a sibling of the same segment was proven', async () => {
    // elements 0 and 1 share segment 0 of delivery 0: the second must not ride on the first's proof
    const elements = w.disclose(PICKS);
    const steps = elements[1]!.proof.segmentPath;
    steps[steps.length - 1]!.left = !steps[steps.length - 1]!.left;
    await expectRefused(elements, 'PROOF_INVALID', [elements[1]!.element.id]);
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

  test('an answer signed by another patient is refused', async () => {
    const other = await w.patientsCa.issue('patient-b', { attrs: { 'phr.role': 'patient' } });
    const err = await refusal(verifyAnswer(w.seal(w.answer(w.disclose(PICKS)), { signer: other }), w.ctx, w.ledger));
    expect(err.code).toBe('SIGNER_NOT_PATIENT');
  });

  test("an answer signed by a look-alike certificate (same names, another CA's key) is refused", async () => {
    // Same subject and issuer names, so the same identity key: only the key itself tells them apart.
    const forger = await makeCa(PATIENTS_MSP_ID);
    const lookAlike = await forger.issue('patient-a', { attrs: { 'phr.role': 'patient' } });
    const sealed = w.seal(w.answer(w.disclose(PICKS)), { signer: lookAlike });
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
    const sealed = w.seal(w.answer(w.disclose(PICKS)), { signer: reenrolled });
    expect((await refusal(verifyAnswer(sealed, w.ctx, w.ledger))).code).toBe('SIGNER_NOT_PATIENT');
    const verified = await verifyAnswer(sealed, { ...w.ctx, patientsCaPem: w.patientsCa.certificatePem }, w.ledger);
    expect(verified.elements).toHaveLength(PICKS.length);
  });

  test('an answer sealed for another requester, request or patient is refused', async () => {
    const elements = w.disclose(PICKS);
    const sealed = w.seal(w.answer(elements));
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
    const answer = { ...w.answer(w.disclose(PICKS)), requestId: 'req-another-one' };
    const err = await refusal(verifyAnswer(w.seal(answer), w.ctx, w.ledger));
    expect(err.code).toBe('ANSWER_MISMATCH');
  });

  test('an answer our key cannot open is refused', async () => {
    const other = generateEncryptionKeyPair('X25519');
    const err = await refusal(
      verifyAnswer(
        w.seal(w.answer(w.disclose(PICKS))),
        { ...w.ctx, answerPrivateKeyPem: other.privateKeyPem },
        w.ledger,
      ),
    );
    expect(err.code).toBe('DECRYPTION_FAILED');
  });

  test('a tampered envelope is refused before any ledger read', async () => {
    const ledger = new CountingLedger(w.ledger);
    const sealed = w.seal(w.answer(w.disclose(PICKS)));
    const bytes = Buffer.from(sealed.ciphertext, 'base64');
    bytes[0] = bytes[0]! ^ 1;
    const err = await refusal(verifyAnswer({ ...sealed, ciphertext: bytes.toString('base64') }, w.ctx, ledger));
    expect(err.code).toBe('SIGNATURE_INVALID');
    expect(ledger.reads).toBe(0);
    expect((await refusal(verifyAnswer('not an envelope', w.ctx, ledger))).code).toBe('MALFORMED');
  });

  test('an unknown patient and an unreachable ledger are refusals, not acceptances', async () => {
    const sealed = w.seal(w.answer(w.disclose(PICKS)));
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
