import {
  compactPullAnswer,
  DeliveryTree,
  elementLeafHash,
  encodePullAnswerSync,
  fabricX509Id,
  generateEncryptionKeyPair,
  identityKey,
  newPseudonym,
  newSalt,
  parseExactJson,
  PATIENTS_MSP_ID,
  pullAnswerAad,
  seal,
  type DataElement,
  type DeliveryRecord,
  type DisclosedElement,
  type PullAnswer,
  type PullAnswerV1,
  type PullAnswerV2,
  type SealedEnvelope,
} from '@phr/common';
import type { AnswerContext } from '../verify-answer';
import { MemoryRequesterLedger } from '../ledger';
import { makeCa, registeredPatient, type Issued, type TestCa } from '@phr/test-support';

/** A delivery as the gateway builds it: salted elements, the tree, and the ledger's record of its root. */
export interface TestDelivery {
  deliveryId: string;
  segments: { element: DataElement; salt: string }[][];
  tree: DeliveryTree;
  record: DeliveryRecord;
}

/** Everything a verification needs, real keys and real Merkle trees; only the ledger is in memory. */
export interface AnswerWorld {
  patientsCa: TestCa;
  hospitalCa: TestCa;
  patient: Issued;
  requester: Issued;
  pseudonym: string;
  ledger: MemoryRequesterLedger;
  deliveries: TestDelivery[];
  ctx: AnswerContext;
  answerPublicKeyPem: string;
  /** Builds and commits one more delivery of these segments; its index for `disclose`. */
  addDelivery(segments: DataElement[][]): number;
  /** Discloses elements (delivery index, segment index, element index) with their proofs. */
  disclose(picks: readonly (readonly [number, number, number])[]): DisclosedElement[];
  /** A version 1 answer, as agents wrote them before version 2. */
  answer(elements: DisclosedElement[]): PullAnswerV1;
  /** A version 2 answer of the same elements, as the patient's agent writes it. */
  compact(elements: DisclosedElement[]): PullAnswerV2;
  /**
   * Seals as the patient's agent does: version 2 as gzip of its canonical JSON, version 1 as plain
   * JSON in the elements' own key order. `signer` and `aad` default to the patient and the request.
   */
  seal(answer: PullAnswer, options?: SealOptions): SealedEnvelope;
  /** Seals these bytes as the answer's plaintext. */
  sealBytes(plaintext: Buffer, options?: SealOptions): SealedEnvelope;
}

export interface SealOptions {
  signer?: Issued;
  aad?: Record<string, string>;
}

function observation(segmentId: string, n: number): DataElement[] {
  const time = `2024-0${1 + (n % 9)}-1${n % 10}T08:00:00.000Z`;
  const resource = {
    resourceType: 'Observation',
    id: `obs-${n}`,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: `${8000 + n}-${n % 10}`, display: `Test ${n}` }] },
    effectiveDateTime: time,
    valueQuantity: { value: 60 + n, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
  };
  return [
    { id: `${segmentId}.0`, kind: 'resource', resourceType: 'Observation', path: 'Observation', time, resource },
    {
      id: `${segmentId}.1`,
      kind: 'coded',
      resourceType: 'Observation',
      path: 'Observation.code.coding[0]',
      system: 'http://loinc.org',
      code: `${8000 + n}-${n % 10}`,
      display: `Test ${n}`,
      value: 60 + n,
      unit: 'kg',
      time,
    },
  ];
}

function delivery(pseudonym: string, index: number, segmentCount: number): TestDelivery {
  return deliveryOf(
    pseudonym,
    index,
    Array.from({ length: segmentCount }, (_, s) => observation(`seg-${index}-${s}`, index * 100 + s)),
  );
}

function deliveryOf(pseudonym: string, index: number, elements: DataElement[][]): TestDelivery {
  const deliveryId = `delivery-${index}-${newSalt().slice(0, 12)}`;
  const segments = elements.map((seg) => seg.map((element) => ({ element, salt: newSalt() })));
  const segmentCount = segments.length;
  const tree = new DeliveryTree(segments.map((seg) => seg.map((e) => elementLeafHash(e.element, e.salt))));
  const now = new Date().toISOString();
  return {
    deliveryId,
    segments,
    tree,
    record: {
      docType: 'delivery',
      deliveryId,
      pseudonym,
      sender: 'Hospital1MSP',
      senderIdentity: 'id' + '0'.repeat(40),
      merkleRoot: tree.root,
      elementCount: segments.flat().length,
      segmentCount,
      categories: ['laboratory'],
      status: 'complete',
      recordedAt: now,
      updatedAt: now,
    },
  };
}

export async function makeAnswerWorld(): Promise<AnswerWorld> {
  const patientsCa = await makeCa(PATIENTS_MSP_ID);
  const hospitalCa = await makeCa('Hospital2MSP');
  const patient = await patientsCa.issue('patient-a', { attrs: { 'phr.role': 'patient' } });
  const requester = await hospitalCa.issue('dr-who', { attrs: { 'phr.role': 'clinician' } });
  const pseudonym = newPseudonym();
  const ledger = new MemoryRequesterLedger();
  const now = new Date().toISOString();
  ledger.patients.set(pseudonym, registeredPatient(pseudonym, patient.certificatePem, now));
  const deliveries = [delivery(pseudonym, 0, 5), delivery(pseudonym, 1, 3)];
  for (const d of deliveries) ledger.deliveries.set(d.deliveryId, d.record);

  const keys = generateEncryptionKeyPair('X25519');
  const ctx: AnswerContext = {
    requestId: `req-${newSalt().slice(0, 16)}`,
    pseudonym,
    requesterId: identityKey('Hospital2MSP', fabricX509Id(requester.certificatePem)),
    answerPrivateKeyPem: keys.privateKeyPem,
  };
  return {
    patientsCa,
    hospitalCa,
    patient,
    requester,
    pseudonym,
    ledger,
    deliveries,
    ctx,
    answerPublicKeyPem: keys.publicKeyPem,
    addDelivery: (segments) => {
      const added = deliveryOf(pseudonym, deliveries.length, segments);
      ledger.deliveries.set(added.deliveryId, added.record);
      return deliveries.push(added) - 1;
    },
    disclose: (picks) =>
      picks.map(([d, s, e]) => {
        const del = deliveries[d]!;
        const item = del.segments[s]![e]!;
        return {
          deliveryId: del.deliveryId,
          merkleRoot: del.tree.root,
          // a copy the test may alter; through JSON, as structuredClone would make 7.10 a plain object
          element: parseExactJson(JSON.stringify(item.element)) as DataElement,
          salt: item.salt,
          proof: del.tree.proof(s, e),
        };
      }),
    answer: (elements) => ({
      version: 1,
      requestId: ctx.requestId,
      pseudonym,
      answeredAt: new Date().toISOString(),
      elements,
    }),
    compact: (elements) =>
      compactPullAnswer({ requestId: ctx.requestId, pseudonym, answeredAt: new Date().toISOString() }, elements),
    seal: (answer, options) =>
      sealBytes(
        answer.version === 1 ? Buffer.from(JSON.stringify(answer), 'utf8') : encodePullAnswerSync(answer),
        options,
      ),
    sealBytes,
  };

  function sealBytes(plaintext: Buffer, options: SealOptions = {}): SealedEnvelope {
    return seal(
      plaintext,
      { algorithm: 'X25519', publicKey: keys.publicKeyPem },
      options.aad ?? pullAnswerAad({ requestId: ctx.requestId, pseudonym, requesterId: ctx.requesterId }),
      options.signer ?? patient,
    );
  }
}
