import { hash, X509Certificate } from 'node:crypto';
import {
  parseExactJson,
  EnvelopeError,
  elementLeafHash,
  fabricX509Id,
  identityKey,
  MerkleError,
  openEnvelope,
  PATIENTS_MSP_ID,
  pullAnswerAad,
  rootFromPath,
  type DeliveryRecord,
  type DisclosedElement,
  type MerkleStep,
  type PatientRecord,
  type PullAnswer,
  type SealedEnvelope,
} from '@phr/common';
import { PullVerificationError, type ElementProblem, type PullVerificationCode } from './errors';
import type { RequesterLedger } from './ledger';

/** What the requester knows about the request it made; the answer must be bound to all of it. */
export interface AnswerContext {
  requestId: string;
  pseudonym: string;
  /** The requester's identity key: identityKey(mspId, fabricX509Id(certificate)). */
  requesterId: string;
  /** PKCS#8 PEM of the one-time answer key made for this request. */
  answerPrivateKeyPem: string;
  /**
   * Root of the patients' CA. Optional: without it the signer must be the very certificate the
   * ledger registered for the patient; with it, a certificate that CA issued to the same identity
   * (a re-enrollment the patient has not yet announced with RotateKeys) is accepted too.
   */
  patientsCaPem?: string;
}

export interface VerifiedAnswer {
  requestId: string;
  pseudonym: string;
  answeredAt: string;
  /** Every disclosed element, each proven against its delivery's root on the ledger. */
  elements: DisclosedElement[];
  /** The FHIR resources of the `resource` elements, in answer order. */
  resources: Record<string, unknown>[];
  /** Distinct deliveries whose commitments were read. */
  deliveriesChecked: number;
  /** Ledger reads this verification made: the patient, then one per distinct delivery. */
  ledgerReads: number;
}

/**
 * Opens and judges a pull answer (SPEC flow 3, DSV). The answer is accepted only if all of this holds:
 * - it decrypts under our one-time key with this request, patient and requester as associated data,
 *   and its signature verifies (openEnvelope checks both);
 * - the signer is the patient registered under the pseudonym on the ledger (one ledger read);
 * - it names this request and patient;
 * - every element's delivery is committed on the ledger for this patient, under the root the
 *   element names (one read per distinct delivery, never per element), and the element with its
 *   salt and Merkle path leads to that root.
 * Anything else throws PullVerificationError and nothing of the answer is returned.
 */
export async function verifyAnswer(
  envelope: unknown,
  ctx: AnswerContext,
  ledger: RequesterLedger,
): Promise<VerifiedAnswer> {
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) {
    throw new PullVerificationError('MALFORMED', 'the answer is not a sealed envelope');
  }
  const sealed = envelope as SealedEnvelope;
  const plaintext = open(sealed, ctx);

  // Only a sealed, signed, decryptable answer costs a ledger read.
  const patient = await readLedger(() => ledger.readPatient(ctx.pseudonym), `patient ${ctx.pseudonym}`);
  if (!patient) throw new PullVerificationError('PATIENT_UNKNOWN', `the ledger has no patient ${ctx.pseudonym}`);
  checkSigner(sealed.senderCertificate, patient, ctx.patientsCaPem);

  return verifyDisclosed(parseAnswer(plaintext, ctx), ctx.pseudonym, ledger, 1);
}

/**
 * The element half of verifyAnswer, for an answer already opened and bound to its request: reads
 * each distinct delivery's commitment once and proves every element against it. Exported for the
 * benchmark, which measures it apart from the envelope; on its own it trusts whoever built `answer`.
 */
export async function verifyDisclosed(
  answer: PullAnswer,
  pseudonym: string,
  ledger: RequesterLedger,
  readsSoFar = 0,
): Promise<VerifiedAnswer> {
  const deliveryIds = [...new Set(answer.elements.map((e) => e.deliveryId))];
  // One read per distinct delivery, all at once: the ledger is the only judge of a root.
  const records = await Promise.all(
    deliveryIds.map((id) => readLedger(() => ledger.readDelivery(id), `delivery ${id}`)),
  );
  const committed = new Map(deliveryIds.map((id, i) => [id, records[i]]));

  const problems = checkElements(answer.elements, committed, pseudonym);
  if (problems.length > 0) throw new PullVerificationError(problems[0]!.code, describe(problems), problems);

  const resources: Record<string, unknown>[] = [];
  for (const d of answer.elements) {
    if (d.element.kind === 'resource' && d.element.resource !== undefined) resources.push(d.element.resource);
  }
  return {
    requestId: answer.requestId,
    pseudonym: answer.pseudonym,
    answeredAt: answer.answeredAt,
    elements: answer.elements,
    resources,
    deliveriesChecked: deliveryIds.length,
    ledgerReads: readsSoFar + deliveryIds.length,
  };
}

// ---- envelope and signer ----

const ENVELOPE_CODES: Partial<Record<EnvelopeError['code'], PullVerificationCode>> = {
  SIGNATURE_INVALID: 'SIGNATURE_INVALID',
  AAD_MISMATCH: 'CONTEXT_MISMATCH',
  DECRYPTION_FAILED: 'DECRYPTION_FAILED',
};

function open(envelope: SealedEnvelope, ctx: AnswerContext): Buffer {
  const aad = pullAnswerAad({ requestId: ctx.requestId, pseudonym: ctx.pseudonym, requesterId: ctx.requesterId });
  try {
    return openEnvelope(envelope, ctx.answerPrivateKeyPem, aad);
  } catch (err) {
    if (err instanceof EnvelopeError) {
      const code = ENVELOPE_CODES[err.code] ?? 'MALFORMED';
      const what =
        code === 'CONTEXT_MISMATCH'
          ? 'the answer was sealed for another request, patient or requester'
          : `the answer envelope cannot be opened: ${err.message}`;
      throw new PullVerificationError(code, what, [], { cause: err });
    }
    throw new PullVerificationError('MALFORMED', 'the answer envelope cannot be opened', [], { cause: err });
  }
}

/**
 * The identity key is a hash of subject and issuer names, which anyone can copy into a certificate
 * of their own making; so the signing key must also be the one the ledger registered for the
 * patient (or, when the caller trusts the patients' CA, a key that CA certified for that identity).
 */
function checkSigner(certificatePem: string, patient: PatientRecord, patientsCaPem: string | undefined): void {
  let cert: X509Certificate;
  let signerKey: string;
  try {
    cert = new X509Certificate(certificatePem);
    signerKey = identityKey(PATIENTS_MSP_ID, fabricX509Id(certificatePem));
  } catch (err) {
    throw new PullVerificationError('SIGNER_NOT_PATIENT', 'the answer signer certificate cannot be read', [], {
      cause: err,
    });
  }
  if (signerKey !== patient.owner) {
    throw new PullVerificationError('SIGNER_NOT_PATIENT', `the answer was not signed by patient ${patient.pseudonym}`);
  }
  if (sameKey(cert, patient.signingCertificate)) return;
  if (patientsCaPem !== undefined && issuedBy(cert, patientsCaPem)) return;
  throw new PullVerificationError(
    'SIGNER_NOT_PATIENT',
    `the answer was signed with a key the ledger does not know for patient ${patient.pseudonym}`,
  );
}

function sameKey(cert: X509Certificate, registeredPem: string): boolean {
  try {
    const registered = new X509Certificate(registeredPem);
    const spki = (c: X509Certificate) => c.publicKey.export({ type: 'spki', format: 'der' });
    return spki(cert).equals(spki(registered));
  } catch {
    return false;
  }
}

function issuedBy(cert: X509Certificate, caPem: string): boolean {
  try {
    const ca = new X509Certificate(caPem);
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

async function readLedger<T>(read: () => Promise<T>, what: string): Promise<T> {
  try {
    return await read();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new PullVerificationError(
      'LEDGER_UNAVAILABLE',
      `the ledger could not be asked about ${what}: ${reason}`,
      [],
      {
        cause: err,
      },
    );
  }
}

// ---- the answer ----

function parseAnswer(plaintext: Buffer, ctx: AnswerContext): PullAnswer {
  let answer: PullAnswer;
  try {
    // Numbers keep the text the hospital hashed (7.10 stays 7.10), or the leaf hashes would not match.
    answer = parseExactJson(plaintext.toString('utf8')) as PullAnswer;
  } catch (err) {
    throw new PullVerificationError('MALFORMED', 'the answer is not JSON', [], { cause: err });
  }
  if (typeof answer !== 'object' || answer === null || answer.version !== 1 || !Array.isArray(answer.elements)) {
    throw new PullVerificationError('MALFORMED', 'the answer is not a version 1 pull answer');
  }
  // The AAD already binds these; the signed plaintext must say the same, or the agent contradicts itself.
  if (answer.requestId !== ctx.requestId) {
    throw new PullVerificationError('ANSWER_MISMATCH', `the answer is for request ${String(answer.requestId)}`);
  }
  if (answer.pseudonym !== ctx.pseudonym) {
    throw new PullVerificationError('ANSWER_MISMATCH', 'the answer is about another patient');
  }
  answer.elements.forEach((d, i) => {
    if (
      typeof d !== 'object' ||
      d === null ||
      typeof d.deliveryId !== 'string' ||
      typeof d.merkleRoot !== 'string' ||
      typeof d.salt !== 'string' ||
      typeof d.element !== 'object' ||
      d.element === null ||
      typeof d.element.id !== 'string' ||
      typeof d.proof !== 'object' ||
      d.proof === null
    ) {
      throw new PullVerificationError('MALFORMED', `answer element ${i} is not a disclosed element`);
    }
  });
  if (typeof answer.answeredAt !== 'string') throw new PullVerificationError('MALFORMED', 'the answer has no time');
  return answer;
}

/**
 * Every problem of every element, not just the first: the report names all of them. A segment's
 * path to the delivery root is folded once; a later element of the same segment whose segment root
 * and path are step for step the same is proven by that fold (the result is determined by exactly
 * those inputs), so the result equals verifyElementProof's for each element.
 */
function checkElements(
  elements: readonly DisclosedElement[],
  committed: ReadonlyMap<string, DeliveryRecord | undefined>,
  pseudonym: string,
): ElementProblem[] {
  const problems: ElementProblem[] = [];
  const seen = new Set<string>();
  const proven = new Map<string, unknown[]>();
  for (const d of elements) {
    const fail = (code: PullVerificationCode, detail: string) =>
      problems.push({ elementId: d.element.id, deliveryId: d.deliveryId, code, detail });
    const key = `${d.deliveryId}\n${d.element.id}`;
    if (seen.has(key)) {
      fail('DUPLICATE_ELEMENT', 'is disclosed twice');
      continue;
    }
    seen.add(key);
    const record = committed.get(d.deliveryId);
    if (!record) {
      fail('DELIVERY_UNKNOWN', `names delivery ${d.deliveryId}, which is not on the ledger`);
      continue;
    }
    if (record.pseudonym !== pseudonym) {
      fail('DELIVERY_OTHER_PATIENT', `comes from delivery ${d.deliveryId}, which belongs to another patient`);
      continue;
    }
    if (record.status === 'rejected') {
      fail('DELIVERY_REJECTED', `comes from delivery ${d.deliveryId}, which the patient rejected`);
      continue;
    }
    if (d.merkleRoot !== record.merkleRoot) {
      fail('ROOT_MISMATCH', `does not match the ledger: it names another root than delivery ${d.deliveryId} committed`);
      continue;
    }
    try {
      // Fast leaf first: if the element arrived in canonical key order, JSON.stringify writes the
      // exact leaf text without re-canonicalizing. Only a leaf that leads to the ledger's root is
      // accepted, so a wrong guess costs a retry with the canonical text, never a false accept.
      if (reaches(fastLeafHash(d.element, d.salt), d, record.merkleRoot, proven)) continue;
      if (reaches(elementLeafHash(d.element, d.salt), d, record.merkleRoot, proven)) continue;
      fail('PROOF_INVALID', `does not match the ledger: its proof does not lead to delivery ${d.deliveryId}'s root`);
    } catch (err) {
      if (!(err instanceof MerkleError)) throw err;
      fail('PROOF_INVALID', `does not match the ledger: ${err.message}`);
    }
  }
  return problems;
}

const SALT_RE = /^[0-9a-f]{32}$/;

/**
 * SHA-256 of JSON.stringify({ element, salt }): equal to elementLeafHash's canonical text when the
 * element's keys are already in RFC 8785 order at every level (numbers and string escapes are
 * written alike by both). Undefined when the salt is malformed, so elementLeafHash reports it.
 */
function fastLeafHash(element: unknown, salt: string): string | undefined {
  if (!SALT_RE.test(salt)) return undefined;
  return hash('sha256', JSON.stringify({ element, salt }), 'hex');
}

/** Folds leaf → segment root → delivery root; a segment path proven before is not folded again. */
function reaches(leaf: string | undefined, d: DisclosedElement, root: string, proven: Map<string, unknown[]>): boolean {
  if (leaf === undefined) return false;
  const segmentRoot = rootFromPath(leaf, d.proof.elementPath);
  const segmentKey = `${d.deliveryId}\n${segmentRoot}`;
  const known = proven.get(segmentKey);
  if (known !== undefined && samePath(known, d.proof.segmentPath)) return true;
  if (rootFromPath(segmentRoot, d.proof.segmentPath) !== root) return false;
  proven.set(segmentKey, d.proof.segmentPath);
  return true;
}

function samePath(known: readonly unknown[], path: unknown): boolean {
  if (!Array.isArray(path) || path.length !== known.length) return false;
  for (let i = 0; i < path.length; i++) {
    const a = known[i] as MerkleStep;
    const b = path[i] as Partial<MerkleStep> | null;
    if (typeof b !== 'object' || b === null || b.hash !== a.hash || b.left !== a.left) return false;
  }
  return true;
}

function describe(problems: readonly ElementProblem[]): string {
  const first = problems[0]!;
  if (problems.length === 1) return `element ${first.elementId} ${first.detail}`;
  const named = problems
    .slice(0, 5)
    .map((p) => p.elementId)
    .join(', ');
  const more = problems.length > 5 ? ` and ${problems.length - 5} more` : '';
  return `${problems.length} elements fail verification (${named}${more}); first: element ${first.elementId} ${first.detail}`;
}
