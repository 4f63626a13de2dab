import { X509Certificate } from 'node:crypto';
import {
  answerElements,
  decodePullAnswer,
  parseExactJson,
  EnvelopeError,
  fabricX509Id,
  identityKey,
  MerkleError,
  openEnvelope,
  PATIENTS_MSP_ID,
  PullAnswerFormatError,
  pullAnswerAad,
  rootFromPath,
  type AnswerItem,
  type DeliveryRecord,
  type DisclosedElement,
  type ListedSegment,
  type MerkleStep,
  type PatientRecord,
  type PullAnswer,
  type SealedEnvelope,
  type WholeDelivery,
} from '@phr/common';
import { PullVerificationError, type ElementProblem, type PullVerificationCode } from './errors';
import { LEAF_HASHES } from './leaf-hash';
import { proveWholeDelivery, proveWholeSegment, type Problem } from './prove-whole';
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
 * - it is a pull answer of version 1 or 2 (version 2 arrives as gzip) and names this request and
 *   patient;
 * - every element's delivery is committed on the ledger for this patient, under the root the
 *   answer names for it (one read per distinct delivery, never per element), and the element with
 *   its salt and Merkle path (in version 2, its own path and then its segment's) leads to that root.
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
 * The element half of verifyAnswer, for an answer already opened and bound to its request (either
 * version): reads each distinct delivery's commitment once and proves every element against it.
 * Exported for the benchmark, which measures it apart from the envelope; on its own it trusts
 * whoever built `answer`.
 */
export async function verifyDisclosed(
  answer: PullAnswer,
  pseudonym: string,
  ledger: RequesterLedger,
  readsSoFar = 0,
): Promise<VerifiedAnswer> {
  const items = itemsOf(answer);
  const named = new Set<string>();
  for (const item of items) if (item.ok) named.add(item.disclosed.deliveryId);
  const deliveryIds = [...named];
  // One read per distinct delivery, all at once: the ledger is the only judge of a root.
  const records = await Promise.all(
    deliveryIds.map((id) => readLedger(() => ledger.readDelivery(id), `delivery ${id}`)),
  );
  const committed = new Map(deliveryIds.map((id, i) => [id, records[i]]));

  const problems = checkElements(items, committed, pseudonym);
  if (problems.length > 0) throw new PullVerificationError(problems[0]!.code, describe(problems), problems);

  const elements = items.map((item) => (item as Extract<AnswerItem, { ok: true }>).disclosed);
  const resources: Record<string, unknown>[] = [];
  for (const d of elements) {
    if (d.element.kind === 'resource' && d.element.resource !== undefined) resources.push(d.element.resource);
  }
  return {
    requestId: answer.requestId,
    pseudonym: answer.pseudonym,
    answeredAt: answer.answeredAt,
    elements,
    resources,
    deliveriesChecked: deliveryIds.length,
    ledgerReads: readsSoFar + deliveryIds.length,
  };
}

/** Every element with its whole proof; an answer not of its version's shape costs no ledger read. */
function itemsOf(answer: PullAnswer): AnswerItem[] {
  try {
    return answerElements(answer);
  } catch (err) {
    if (!(err instanceof PullAnswerFormatError)) throw err;
    throw new PullVerificationError('MALFORMED', err.message, [], { cause: err });
  }
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
  let text: string;
  try {
    text = decodePullAnswer(plaintext);
  } catch (err) {
    if (!(err instanceof PullAnswerFormatError)) throw err;
    throw new PullVerificationError('MALFORMED', err.message, [], { cause: err });
  }
  let answer: PullAnswer;
  try {
    // Numbers keep the text the hospital hashed (7.10 stays 7.10), or the leaf hashes would not match.
    answer = parseExactJson(text) as PullAnswer;
  } catch (err) {
    throw new PullVerificationError('MALFORMED', 'the answer is not JSON', [], { cause: err });
  }
  // Version 1 is still read while agents move to version 2.
  if (
    typeof answer !== 'object' ||
    answer === null ||
    (answer.version !== 1 && answer.version !== 2) ||
    !Array.isArray(answer.elements)
  ) {
    throw new PullVerificationError('MALFORMED', 'the answer is not a version 1 or 2 pull answer');
  }
  // The AAD already binds these; the signed plaintext must say the same, or the agent contradicts itself.
  if (answer.requestId !== ctx.requestId) {
    throw new PullVerificationError('ANSWER_MISMATCH', `the answer is for request ${String(answer.requestId)}`);
  }
  if (answer.pseudonym !== ctx.pseudonym) {
    throw new PullVerificationError('ANSWER_MISMATCH', 'the answer is about another patient');
  }
  if (typeof answer.answeredAt !== 'string') throw new PullVerificationError('MALFORMED', 'the answer has no time');
  return answer;
}

/**
 * Every problem of every element, not just the first: the report names all of them. Both versions
 * are judged alike, each element with its whole proof (a version 2 element with the path of the
 * segment it names). A segment's path to the delivery root is folded once; a later element of the
 * same segment whose segment root and path are step for step the same (in version 2, the same
 * array) is proven by that fold (the result is determined by exactly those inputs), so the result
 * equals verifyElementProof's for each element. What a version 2 answer holds whole, a segment or
 * a delivery, is proven once, from its leaves (prove-whole.ts), and each of its elements by that.
 */
function checkElements(
  items: readonly AnswerItem[],
  committed: ReadonlyMap<string, DeliveryRecord | undefined>,
  pseudonym: string,
): ElementProblem[] {
  const problems: ElementProblem[] = [];
  const seen = new Map<string, Set<string>>();
  /** Per delivery root: each segment root proven, with the path that proved it. */
  const proven = new Map<string, Map<string, unknown[]>>();
  /** Each segment or delivery held whole, once proven: its problem, or undefined. */
  const wholes = new Map<ListedSegment | WholeDelivery, Problem | undefined>();
  for (const item of items) {
    const elementId = item.ok ? item.disclosed.element.id : item.elementId;
    const deliveryId = item.ok ? item.disclosed.deliveryId : item.deliveryId;
    let ids = seen.get(deliveryId);
    if (ids === undefined) seen.set(deliveryId, (ids = new Set()));
    if (ids.has(elementId)) {
      problems.push({ elementId, deliveryId, code: 'DUPLICATE_ELEMENT', detail: 'is disclosed twice' });
      continue;
    }
    ids.add(elementId);
    const problem = item.ok
      ? (checkDelivery(item.disclosed, committed.get(deliveryId), pseudonym) ??
        checkItemProof(item, committed.get(deliveryId)!.merkleRoot, proven, wholes))
      : // A version 2 element whose segment the answer does not hold has half a proof: none.
        { code: 'PROOF_INVALID' as const, detail: `has no proof: it ${item.detail}` };
    if (problem !== undefined) problems.push({ elementId, deliveryId, ...problem });
  }
  return problems;
}

/** The element's own proof, or the proof of what the answer holds whole that it is part of. */
function checkItemProof(
  item: Extract<AnswerItem, { ok: true }>,
  root: string,
  proven: Map<string, Map<string, unknown[]>>,
  wholes: Map<ListedSegment | WholeDelivery, Problem | undefined>,
): Problem | undefined {
  const { segment } = item;
  const whole = segment?.delivery ?? (segment?.elementCount === undefined ? undefined : segment);
  if (whole === undefined) return checkProof(item.disclosed, root, proven);
  if (!wholes.has(whole)) {
    wholes.set(whole, 'segmentCount' in whole ? proveWholeDelivery(whole, root) : proveWholeSegment(whole, root));
  }
  return wholes.get(whole);
}

/** Whether the element's delivery is committed on the ledger for this patient, under the root it names. */
function checkDelivery(
  d: DisclosedElement,
  record: DeliveryRecord | undefined,
  pseudonym: string,
): Problem | undefined {
  if (!record)
    return { code: 'DELIVERY_UNKNOWN', detail: `names delivery ${d.deliveryId}, which is not on the ledger` };
  if (record.pseudonym !== pseudonym) {
    const detail = `comes from delivery ${d.deliveryId}, which belongs to another patient`;
    return { code: 'DELIVERY_OTHER_PATIENT', detail };
  }
  if (record.status === 'rejected') {
    return { code: 'DELIVERY_REJECTED', detail: `comes from delivery ${d.deliveryId}, which the patient rejected` };
  }
  if (d.merkleRoot !== record.merkleRoot) {
    const detail = `does not match the ledger: it names another root than delivery ${d.deliveryId} committed`;
    return { code: 'ROOT_MISMATCH', detail };
  }
  return undefined;
}

/** Whether the element with its own path, then its segment's, leads to the delivery root on the ledger. */
function checkProof(
  d: DisclosedElement,
  root: string,
  provenByRoot: Map<string, Map<string, unknown[]>>,
): Problem | undefined {
  let proven = provenByRoot.get(root);
  if (proven === undefined) provenByRoot.set(root, (proven = new Map<string, unknown[]>()));
  try {
    for (const leafOf of LEAF_HASHES) if (reaches(leafOf(d.element, d.salt), d, root, proven)) return undefined;
    const detail = `does not match the ledger: its proof does not lead to delivery ${d.deliveryId}'s root`;
    return { code: 'PROOF_INVALID', detail };
  } catch (err) {
    if (!(err instanceof MerkleError)) throw err;
    return { code: 'PROOF_INVALID', detail: `does not match the ledger: ${err.message}` };
  }
}

/** Folds leaf → segment root → delivery root; a segment path proven before is not folded again. */
function reaches(leaf: string, d: DisclosedElement, root: string, proven: Map<string, unknown[]>): boolean {
  const segmentRoot = rootFromPath(leaf, d.proof.elementPath);
  const known = proven.get(segmentRoot);
  if (known !== undefined && samePath(known, d.proof.segmentPath)) return true;
  if (rootFromPath(segmentRoot, d.proof.segmentPath) !== root) return false;
  proven.set(segmentRoot, d.proof.segmentPath);
  return true;
}

function samePath(known: readonly unknown[], path: unknown): boolean {
  if (path === known) return true;
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
