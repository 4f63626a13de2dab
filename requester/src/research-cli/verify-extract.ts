import { createHash, X509Certificate } from 'node:crypto';
import {
  EnvelopeError,
  MerkleError,
  openEnvelope,
  parseExactJson,
  RESEARCH_EXTRACT_PURPOSE,
  verifyElementProof,
  type ElementChange,
  type ParticipationRecord,
  type ResearchExtract,
  type SealedEnvelope,
} from '@phr/common';
import { ExtractVerificationError } from './research-errors';

/** An extract that passed every check, with what the checks found. */
export interface VerifiedExtract {
  offerId: string;
  participationId: string;
  extract: ResearchExtract;
  /** Unchanged elements whose leaf and proof reached one of the participation's roots. */
  unchanged: number;
  /** Changed elements, each with what de-identification changed (no proof can cover them). */
  changed: { index: number; changes: ElementChange[] }[];
  /** The roots on the ledger the unchanged elements proved to. */
  roots: string[];
  extractHash: string;
  verifiedAt: string;
}

/**
 * Opens one sealed extract and checks it against the ledger's participation record: the envelope
 * is signed by the participation's study key and sealed for this offer and participation; the
 * plaintext's SHA-256 is the hash the delivery paid for; each unchanged element proves to one of
 * the participation's roots. Changed elements are listed with their changes. All or nothing: a
 * single failing element refuses the extract.
 * @throws ExtractVerificationError naming what failed.
 */
export function verifyExtract(
  envelope: SealedEnvelope,
  participation: ParticipationRecord,
  privateKeyPem: string,
  now = new Date(),
): VerifiedExtract {
  const { offerId, participationId } = participation;
  const fail = (code: ExtractVerificationError['code'], message: string, cause?: unknown) =>
    new ExtractVerificationError(code, participationId, message, cause === undefined ? undefined : { cause });

  let plaintext: Buffer;
  try {
    plaintext = openEnvelope(envelope, privateKeyPem, { purpose: RESEARCH_EXTRACT_PURPOSE, offerId, participationId });
  } catch (err) {
    if (err instanceof EnvelopeError)
      throw fail('ENVELOPE_INVALID', `the envelope cannot be opened: ${err.message}`, err);
    throw err;
  }
  if (signerKey(envelope) !== participation.studyKey) {
    throw fail('SIGNER_MISMATCH', "the extract is not signed by the participation's study key on the ledger");
  }
  if (participation.status !== 'delivered' || !participation.extractHash) {
    throw fail('NOT_DELIVERED', 'the participation is not delivered on the ledger yet');
  }
  const extractHash = createHash('sha256').update(plaintext).digest('hex');
  if (extractHash !== participation.extractHash) {
    throw fail('HASH_MISMATCH', 'the extract is not the one whose hash the ledger recorded');
  }
  const extract = parseExtract(plaintext, offerId, participationId, fail);

  const roots = new Set(participation.roots);
  const used = new Set<string>();
  const changed: VerifiedExtract['changed'] = [];
  let unchanged = 0;
  extract.elements.forEach((e, index) => {
    if (e.status === 'changed') {
      changed.push({ index, changes: e.changes });
      return;
    }
    if (!roots.has(e.root)) throw fail('ROOT_UNKNOWN', `element ${index} names a root the participation does not have`);
    let ok: boolean;
    try {
      ok = verifyElementProof(e.element, e.salt, e.proof, e.root);
    } catch (err) {
      if (err instanceof MerkleError) throw fail('PROOF_INVALID', `element ${index}: ${err.message}`, err);
      throw err;
    }
    if (!ok) throw fail('PROOF_INVALID', `element ${index} does not prove to its root on the ledger`);
    used.add(e.root);
    unchanged++;
  });
  return {
    offerId,
    participationId,
    extract,
    unchanged,
    changed,
    roots: [...used].sort(),
    extractHash,
    verifiedAt: now.toISOString(),
  };
}

/** SPKI DER (base64) of the envelope signer's key, as the ledger keeps `studyKey`. */
function signerKey(envelope: SealedEnvelope): string {
  return new X509Certificate(envelope.senderCertificate).publicKey
    .export({ type: 'spki', format: 'der' })
    .toString('base64');
}

function parseExtract(
  plaintext: Buffer,
  offerId: string,
  participationId: string,
  fail: (code: 'MALFORMED', message: string, cause?: unknown) => ExtractVerificationError,
): ResearchExtract {
  let value: unknown;
  try {
    // Numbers as written: a leaf hashes `7.10`, not `7.1`.
    value = parseExactJson(plaintext.toString('utf8'));
  } catch (err) {
    throw fail('MALFORMED', 'the extract is not JSON', err);
  }
  const x = value as Partial<ResearchExtract>;
  if (typeof value !== 'object' || value === null || x.version !== 1 || !Array.isArray(x.elements)) {
    throw fail('MALFORMED', 'the extract is not a version 1 research extract');
  }
  if (x.offerId !== offerId || x.participationId !== participationId) {
    throw fail('MALFORMED', 'the extract names another offer or participation');
  }
  for (const [i, e] of x.elements.entries()) {
    const ok =
      typeof e === 'object' &&
      e !== null &&
      typeof e.element === 'object' &&
      e.element !== null &&
      (e.status === 'changed'
        ? Array.isArray(e.changes)
        : e.status === 'unchanged' && typeof e.salt === 'string' && typeof e.root === 'string');
    if (!ok) throw fail('MALFORMED', `element ${i} is neither a proven nor a changed element`);
  }
  if (typeof x.demographics !== 'object' || x.demographics === null) {
    throw fail('MALFORMED', 'the extract has no demographics');
  }
  return x as ResearchExtract;
}
