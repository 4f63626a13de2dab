import { createPublicKey } from 'node:crypto';
import {
  CODE_PATTERN,
  CODE_SYSTEM_PATTERN,
  DATE_RULES,
  WANTED_DEMOGRAPHICS,
  type ConsentPeriod,
  type OfferCriteria,
  type OfferTerms,
  type ResearchCode,
  type WantedDemographic,
} from '@phr/common';
import { invalidArgument } from './errors';
import { requireInstant, requireInt, requireOneOf, requireRecordId } from './validate';

export const MAX_QUOTA = 10_000;
/** Keeps credits × quota, and so every balance, far inside the safe integers. */
export const MAX_CREDITS_PER_PARTICIPANT = 1_000_000;
const MAX_CODES = 50;
const MAX_TITLE = 200;
const MAX_PEM = 1024;
const MAX_STUDY_KEY = 512;
const CONTROL = /\p{Cc}/u;
const MSP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

type Raw = Record<string, unknown>;

const isObject = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value);

function object(value: unknown, what: string): Raw {
  if (!isObject(value)) throw invalidArgument(`${what} must be an object`);
  return value;
}

function finite(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidArgument(`${what} must be a number`);
  return value;
}

/**
 * An offer's terms as a researcher posts them (Research.PostOffer), rebuilt field by field so
 * nothing unvalidated reaches the ledger. Checks that need the ledger or the clock (expiry, the
 * directory, the account) are the contract's.
 * @throws ChaincodeError INVALID_ARGUMENT naming the first field in error.
 */
export function validateOfferTerms(value: unknown): OfferTerms {
  const raw = object(value, 'terms');
  const title = raw.title;
  if (typeof title !== 'string' || title.trim() === '' || title.length > MAX_TITLE || CONTROL.test(title)) {
    throw invalidArgument(`title must be 1 to ${MAX_TITLE} characters of plain text`);
  }
  const wanted = object(raw.wanted, 'wanted');
  const terms: OfferTerms = {
    offerId: requireRecordId(raw.offerId as string, 'offerId'),
    title,
    criteria: validateCriteria(raw.criteria),
    wanted: {
      codes: researchCodes(wanted.codes, 'wanted.codes'),
      demographics: demographics(wanted.demographics),
    },
    dates: requireOneOf(String(raw.dates), DATE_RULES, 'dates'),
    creditsPerParticipant: requireInt(
      raw.creditsPerParticipant as number,
      'creditsPerParticipant',
      1,
      MAX_CREDITS_PER_PARTICIPANT,
    ),
    quota: requireInt(raw.quota as number, 'quota', 1, MAX_QUOTA),
    expiresAt: requireInstant(raw.expiresAt as string, 'expiresAt'),
    collectVia: mspId(raw.collectVia),
    encryptionPublicKey: x25519Pem(raw.encryptionPublicKey),
  };
  return terms;
}

function validateCriteria(value: unknown): OfferCriteria {
  const raw = object(value, 'criteria');
  const criteria: OfferCriteria = { codes: researchCodes(raw.codes, 'criteria.codes') };
  if (raw.valueRange !== undefined) criteria.valueRange = valueRange(raw.valueRange);
  if (raw.ageBand !== undefined) criteria.ageBand = ageBand(raw.ageBand);
  if (raw.period !== undefined) {
    const period = object(raw.period, 'criteria.period');
    const out: ConsentPeriod = {
      start: requireInstant(period.start as string, 'criteria.period.start'),
      end: requireInstant(period.end as string, 'criteria.period.end'),
    };
    if (Date.parse(out.end) <= Date.parse(out.start)) throw invalidArgument('criteria.period.end must be after start');
    criteria.period = out;
  }
  return criteria;
}

function valueRange(value: unknown): NonNullable<OfferCriteria['valueRange']> {
  const range = object(value, 'criteria.valueRange');
  const out: NonNullable<OfferCriteria['valueRange']> = {};
  if (range.min !== undefined) out.min = finite(range.min, 'criteria.valueRange.min');
  if (range.max !== undefined) out.max = finite(range.max, 'criteria.valueRange.max');
  if (out.min === undefined && out.max === undefined) throw invalidArgument('criteria.valueRange needs min or max');
  if (out.min !== undefined && out.max !== undefined && out.min > out.max) {
    throw invalidArgument('criteria.valueRange.min must not exceed max');
  }
  if (range.unit !== undefined) {
    if (typeof range.unit !== 'string' || !/^\S{1,64}$/.test(range.unit)) {
      throw invalidArgument('criteria.valueRange.unit must be 1 to 64 characters without spaces');
    }
    out.unit = range.unit;
  }
  return out;
}

/** Whole years, both bounds inclusive. */
function ageBand(value: unknown): NonNullable<OfferCriteria['ageBand']> {
  const band = object(value, 'criteria.ageBand');
  const out: NonNullable<OfferCriteria['ageBand']> = {};
  if (band.min !== undefined) out.min = requireInt(band.min as number, 'criteria.ageBand.min', 0, 150);
  if (band.max !== undefined) out.max = requireInt(band.max as number, 'criteria.ageBand.max', 0, 150);
  if (out.min === undefined && out.max === undefined) throw invalidArgument('criteria.ageBand needs min or max');
  if (out.min !== undefined && out.max !== undefined && out.min > out.max) {
    throw invalidArgument('criteria.ageBand.min must not exceed max');
  }
  return out;
}

function researchCodes(value: unknown, what: string): ResearchCode[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_CODES) {
    throw invalidArgument(`${what} must be an array of 1 to ${MAX_CODES} codes`);
  }
  return value.map((entry) => {
    const raw = object(entry, what);
    if (typeof raw.system !== 'string' || !CODE_SYSTEM_PATTERN.test(raw.system)) {
      throw invalidArgument(`${what} entries need a code system URI`);
    }
    if (raw.code === undefined) return { system: raw.system };
    if (typeof raw.code !== 'string' || !CODE_PATTERN.test(raw.code)) {
      throw invalidArgument(`${what} entries have an invalid code`);
    }
    return { system: raw.system, code: raw.code };
  });
}

function demographics(value: unknown): WantedDemographic[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidArgument('wanted.demographics must be an array');
  const chosen = new Set(value.map((d) => requireOneOf(String(d), WANTED_DEMOGRAPHICS, 'wanted.demographics')));
  // in the list's own order, so the same choice is always stored the same way
  return WANTED_DEMOGRAPHICS.filter((d) => chosen.has(d));
}

function mspId(value: unknown): string {
  if (typeof value !== 'string' || !MSP_ID.test(value)) throw invalidArgument('collectVia must be an MSP ID');
  return value;
}

function x25519Pem(value: unknown): string {
  const fail = () => invalidArgument('encryptionPublicKey must be an X25519 public key in PEM (SPKI)');
  if (typeof value !== 'string' || value.length > MAX_PEM || !/^\s*-----BEGIN PUBLIC KEY-----/.test(value)) {
    throw fail();
  }
  try {
    if (createPublicKey({ key: value, format: 'pem' }).asymmetricKeyType === 'x25519') return value;
  } catch {
    // unreadable: refused below
  }
  throw fail();
}

/**
 * A participation's study key: SPKI DER in base64 of an Ed25519 or P-256 public key, made per
 * participation by the agent (never the patient's own key).
 * @throws ChaincodeError INVALID_ARGUMENT otherwise.
 */
export function requireStudyKey(value: string): string {
  const fail = () => invalidArgument('studyKey must be an Ed25519 or P-256 public key, SPKI DER in base64');
  if (typeof value !== 'string' || value.length > MAX_STUDY_KEY || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) throw fail();
  try {
    const key = createPublicKey({ key: Buffer.from(value, 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType === 'ed25519') return value;
    if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return value;
  } catch {
    // unreadable: refused below
  }
  throw fail();
}
