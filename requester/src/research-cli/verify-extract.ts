import { createHash, X509Certificate } from 'node:crypto';
import {
  EnvelopeError,
  isCodeLabel,
  isExactNumber,
  MerkleError,
  openEnvelope,
  parseExactJson,
  RESEARCH_EXTRACT_PURPOSE,
  RESTRICTED_ZIP3,
  SAFE_HARBOR_OLDEST_AGE,
  verifyElementProof,
  WANTED_DEMOGRAPHICS,
  type ElementChange,
  type OfferTerms,
  type ParticipationRecord,
  type ResearchCode,
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
 * the participation's roots. Changed elements are listed with their changes. The extract must be
 * in Safe Harbor form (MALFORMED otherwise) and hold only what the offer wanted (NOT_WANTED
 * otherwise). All or nothing: a single failing element refuses the extract.
 * @throws ExtractVerificationError naming what failed.
 */
export function verifyExtract(
  envelope: SealedEnvelope,
  participation: ParticipationRecord,
  offer: Pick<OfferTerms, 'offerId' | 'wanted' | 'dates'>,
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
  if (offer.offerId !== offerId) throw fail('NOT_WANTED', 'the participation is not one of this offer');
  const extract = parseExtract(plaintext, offer, participationId, fail);

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

type Fail = (code: 'MALFORMED' | 'NOT_WANTED', message: string, cause?: unknown) => ExtractVerificationError;

/** FHIR administrative gender: the only values a Patient's gender (and so the extract's) takes. */
const GENDERS: readonly string[] = ['male', 'female', 'other', 'unknown'];
const EXTRACT_KEYS = ['version', 'offerId', 'participationId', 'nonce', 'dates', 'demographics', 'elements'];
const ELEMENT_FIELDS = ['kind', 'resourceType', 'path', 'system', 'code', 'display', 'value', 'unit', 'time'];
const CHANGE_FIELDS: readonly string[] = ['time', 'value', 'display'];
const CHANGE_RULES: readonly string[] = ['year', 'shift', 'removed'];
/** What `shiftDate` writes: a year, year-month, date, or a UTC instant as `toISOString` gives it. */
const SHIFTED_TIME = /^\d{4}(?:-\d{2}(?:-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z)?)?)?$/;

/**
 * The plaintext as a ResearchExtract of this offer and participation, checked field by field: the
 * agent is not trusted to have de-identified, so anything outside the Safe Harbor forms, any field
 * the contract does not have and anything the offer did not ask for refuses the whole extract.
 */
function parseExtract(
  plaintext: Buffer,
  offer: Pick<OfferTerms, 'offerId' | 'wanted' | 'dates'>,
  participationId: string,
  fail: Fail,
): ResearchExtract {
  let value: unknown;
  try {
    // Numbers as written: a leaf hashes `7.10`, not `7.1`.
    value = parseExactJson(plaintext.toString('utf8'));
  } catch (err) {
    throw fail('MALFORMED', 'the extract is not JSON', err);
  }
  if (!isPlainObject(value) || value.version !== 1 || !Array.isArray(value.elements)) {
    throw fail('MALFORMED', 'the extract is not a version 1 research extract');
  }
  const extra = Object.keys(value).filter((k) => !EXTRACT_KEYS.includes(k));
  if (extra.length > 0)
    throw fail('MALFORMED', `the extract has fields a research extract has not: ${extra.join(', ')}`);
  if (value.offerId !== offer.offerId || value.participationId !== participationId) {
    throw fail('MALFORMED', 'the extract names another offer or participation');
  }
  if (typeof value.nonce !== 'string' || !/^[0-9a-f]{32}$/.test(value.nonce)) {
    throw fail('MALFORMED', 'the extract has no 128-bit hex nonce');
  }
  if (value.dates !== offer.dates)
    throw fail('MALFORMED', `the extract's dates are not the offer's rule (${offer.dates})`);
  checkDemographics(value.demographics, offer.wanted.demographics, fail);
  value.elements.forEach((e: unknown, i: number) => checkElement(e, i, offer, fail));
  return value as unknown as ResearchExtract;
}

function checkDemographics(d: unknown, wanted: readonly string[], fail: Fail): void {
  if (!isPlainObject(d)) throw fail('MALFORMED', 'the extract has no demographics');
  for (const [key, v] of Object.entries(d)) {
    if (!(WANTED_DEMOGRAPHICS as readonly string[]).includes(key)) {
      throw fail('MALFORMED', `demographic ${key} is not one an extract may hold`);
    }
    if (!wanted.includes(key)) throw fail('NOT_WANTED', `demographic ${key} is not one the offer wants`);
    const ok =
      key === 'age'
        ? v === '90+' || (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= SAFE_HARBOR_OLDEST_AGE)
        : key === 'gender'
          ? typeof v === 'string' && GENDERS.includes(v)
          : typeof v === 'string' && /^\d{3}$/.test(v) && !RESTRICTED_ZIP3.includes(v);
    // (values are not echoed: an age over 89 or a restricted area is what Safe Harbor hides)
    if (!ok) throw fail('MALFORMED', `demographic ${key} is not in its Safe Harbor form`);
  }
}

function checkElement(e: unknown, i: number, offer: Pick<OfferTerms, 'wanted' | 'dates'>, fail: Fail): void {
  const malformed = (what: string) => fail('MALFORMED', `element ${i}: ${what}`);
  if (!isPlainObject(e) || !isPlainObject(e.element)) throw malformed('neither a proven nor a changed element');
  const unchanged = checkWrapper(e, malformed);
  checkFields(e.element, unchanged, offer.dates, malformed);
  const el = e.element;
  if (
    !offer.wanted.codes.some(
      (c: ResearchCode) => c.system === el.system && (c.code === undefined || c.code === el.code),
    )
  ) {
    throw fail('NOT_WANTED', `element ${i} has a code the offer does not want`);
  }
}

/** The element's wrapper: exactly a proven or a changed element; true for a proven one. */
function checkWrapper(e: Record<string, unknown>, malformed: (what: string) => ExtractVerificationError): boolean {
  const unchanged = e.status === 'unchanged';
  if (unchanged) {
    if (
      !sameKeys(e, ['status', 'element', 'salt', 'proof', 'root']) ||
      typeof e.salt !== 'string' ||
      typeof e.root !== 'string' ||
      !isPlainObject(e.proof)
    ) {
      throw malformed('not a proven element (element, salt, proof, root)');
    }
  } else if (e.status === 'changed') {
    if (!sameKeys(e, ['status', 'element', 'changes']) || !Array.isArray(e.changes)) {
      throw malformed('not a changed element (element, changes)');
    }
    for (const c of e.changes as unknown[]) {
      if (
        !isPlainObject(c) ||
        !sameKeys(c, ['field', 'rule']) ||
        !CHANGE_FIELDS.includes(c.field as string) ||
        !CHANGE_RULES.includes(c.rule as string)
      ) {
        throw malformed('a change is not {field: time|value|display, rule: year|shift|removed}');
      }
    }
  } else throw malformed('neither a proven nor a changed element');
  return unchanged;
}

/** The element's own fields, typed; a proven one went as committed, so it must need no change. */
function checkFields(
  el: Record<string, unknown>,
  unchanged: boolean,
  dates: OfferTerms['dates'],
  malformed: (what: string) => ExtractVerificationError,
): void {
  const fields = unchanged ? ['id', ...ELEMENT_FIELDS] : ELEMENT_FIELDS;
  const extra = Object.keys(el).filter((k) => !fields.includes(k));
  if (extra.length > 0) throw malformed(`fields an extract element may not have: ${extra.join(', ')}`);
  if (el.kind !== 'coded') throw malformed('not a coded element');
  for (const k of ['resourceType', 'path', ...(unchanged ? ['id'] : [])]) {
    if (typeof el[k] !== 'string') throw malformed(`${k} is not text`);
  }
  for (const k of ['system', 'code', 'display', 'unit']) {
    if (el[k] !== undefined && typeof el[k] !== 'string') throw malformed(`${k} is not text`);
  }
  // A proven element went as committed: it passed only because nothing in it needed changing.
  if (el.display !== undefined && !isCodeLabel(el.display as string))
    throw malformed('a display that is not a code label');
  if (!validValue(el.value, unchanged)) throw malformed('a value that is not a number or a boolean');
  if (el.time === undefined) return;
  if (unchanged) throw malformed('a proven element with a time: every date is cut or shifted');
  if (!validTime(el.time, dates)) {
    throw malformed(dates === 'year' ? 'a time that is not a year' : 'a time that is not an ISO date');
  }
}

/** A number (as written) or a boolean; a changed element may also carry text (the contract's type). */
function validValue(value: unknown, unchanged: boolean): boolean {
  if (value === undefined || isExactNumber(value) || typeof value === 'boolean') return true;
  return !unchanged && typeof value === 'string';
}

function validTime(time: unknown, dates: OfferTerms['dates']): boolean {
  if (typeof time !== 'string') return false;
  if (dates === 'year') return /^\d{4}$/.test(time);
  if (!SHIFTED_TIME.test(time)) return false;
  const full = /^\d{4}$/.test(time) ? `${time}-01-01` : /^\d{4}-\d{2}$/.test(time) ? `${time}-01` : time;
  const d = new Date(full.length === 10 ? `${full}T00:00:00Z` : full);
  // Rejects a month 13 or a 31 February that Date would roll over.
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(full.slice(0, 10));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sameKeys(o: Record<string, unknown>, keys: readonly string[]): boolean {
  const own = Object.keys(o);
  return own.length === keys.length && own.every((k) => keys.includes(k));
}
