import {
  DeliveryTree,
  elementLeafHash,
  fabricX509Id,
  generateEncryptionKeyPair,
  identityKey,
  newPseudonym,
  newSalt,
  PATIENTS_MSP_ID,
  pullAnswerAad,
  seal,
  type DataElement,
  type DeliveryRecord,
  type DisclosedElement,
  type PatientRecord,
  type PullAnswer,
  type SealedEnvelope,
} from '@phr/common';
import type { AnswerContext } from '../verify-answer';
import { MemoryRequesterLedger } from '../ledger';
import { makeCa, type Issued, type TestCa } from './pki';

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
  /** Discloses elements (delivery index, segment index, element index) with their proofs. */
  disclose(picks: readonly (readonly [number, number, number])[]): DisclosedElement[];
  answer(elements: DisclosedElement[]): PullAnswer;
  /** Seals as the patient's agent does; `signer` and `aad` default to the patient and the request. */
  seal(answer: PullAnswer, options?: { signer?: Issued; aad?: Record<string, string> }): SealedEnvelope;
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
  const deliveryId = `delivery-${index}-${newSalt().slice(0, 12)}`;
  const segments = Array.from({ length: segmentCount }, (_, s) =>
    observation(`seg-${index}-${s}`, index * 100 + s).map((element) => ({ element, salt: newSalt() })),
  );
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
      elementCount: segmentCount * 2,
      segmentCount,
      categories: ['laboratory'],
      status: 'complete',
      recordedAt: now,
      updatedAt: now,
    },
  };
}

/** The patient as the registry holds it: the identity whose signature an answer for `pseudonym` needs. */
export function registeredPatient(pseudonym: string, certificatePem: string, at: string): PatientRecord {
  return {
    docType: 'patient',
    pseudonym,
    owner: identityKey(PATIENTS_MSP_ID, fabricX509Id(certificatePem)),
    encryptionPublicKey: generateEncryptionKeyPair('X25519').publicKeyPem,
    encryptionAlgorithm: 'X25519',
    signingCertificate: certificatePem,
    keyVersion: 1,
    registeredAt: at,
    updatedAt: at,
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
    disclose: (picks) =>
      picks.map(([d, s, e]) => {
        const del = deliveries[d]!;
        const item = del.segments[s]![e]!;
        return {
          deliveryId: del.deliveryId,
          merkleRoot: del.tree.root,
          element: structuredClone(item.element),
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
    seal: (answer, options = {}) =>
      seal(
        Buffer.from(JSON.stringify(answer), 'utf8'),
        { algorithm: 'X25519', publicKey: keys.publicKeyPem },
        options.aad ?? pullAnswerAad({ requestId: ctx.requestId, pseudonym, requesterId: ctx.requesterId }),
        options.signer ?? patient,
      ),
  };
}
