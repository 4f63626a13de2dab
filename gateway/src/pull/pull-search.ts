import {
  badRequest,
  formatCodeRef,
  isPseudonym,
  parseCodeRef,
  PURPOSES_OF_USE,
  RESOURCE_TYPE_PATTERN,
  type CodeRef,
  type PullQuery,
  type PurposeOfUse,
  type RecipientKey,
} from '@phr/common';

export interface PullSearch {
  pseudonym: string;
  query: PullQuery;
  purpose: PurposeOfUse;
  breakGlass: boolean;
  answerKey: RecipientKey;
  /** `Prefer: respond-async`: answer 202 at once. */
  async: boolean;
}

const MAX_CODES = 64;
/** The search parameters of a pull (the CapabilityStatement lists these). */
export const PULL_SEARCH_PARAMS = ['patient', 'code'] as const;
/** Search parameters this gateway understands; anything else is refused rather than ignored. */
const KNOWN = new Set<string>([...PULL_SEARCH_PARAMS, '_format']);

/**
 * Reads a FHIR search (`GET /fhir/{type}?patient=&code=`, `POST /fhir/{type}/_search`, or
 * `$everything`) into what the consent check and the patient's agent work with.
 */
export function parsePullSearch(input: {
  resourceType?: string;
  everythingFor?: string;
  params: Record<string, unknown>;
  header(name: string): string | undefined;
}): PullSearch {
  for (const name of Object.keys(input.params)) {
    if (!KNOWN.has(name)) throw badRequest(`search parameter ${name} is not supported here`, [name]);
  }
  const patient = input.everythingFor ?? single(input.params, 'patient');
  if (!patient) throw badRequest('patient is required: the pseudonym of the patient', ['patient']);
  const pseudonym = patient.replace(/^Patient\//, '');
  if (!isPseudonym(pseudonym)) throw badRequest('patient must be a pseudonym (Patient/pt…)', ['patient']);

  const everything = input.everythingFor !== undefined;
  const resourceTypes: string[] = [];
  if (!everything) {
    if (!input.resourceType || !RESOURCE_TYPE_PATTERN.test(input.resourceType))
      throw badRequest('unknown resource type');
    resourceTypes.push(input.resourceType);
  }
  const codes = everything ? [] : parseCodes(input.params['code']);
  const purposeHeader = input.header('x-purpose-of-use') ?? 'TREAT';
  if (!(PURPOSES_OF_USE as readonly string[]).includes(purposeHeader)) {
    throw badRequest(`X-Purpose-Of-Use must be one of ${PURPOSES_OF_USE.join(', ')}`);
  }
  const breakGlass = (input.header('x-break-glass') ?? 'false').toLowerCase();
  if (breakGlass !== 'true' && breakGlass !== 'false') throw badRequest('X-Break-Glass must be true or false');
  return {
    pseudonym,
    query: { resourceTypes, codes, everything },
    purpose: purposeHeader as PurposeOfUse,
    breakGlass: breakGlass === 'true',
    answerKey: parseAnswerKey(input.header('x-answer-key')),
    async: /\brespond-async\b/i.test(input.header('prefer') ?? ''),
  };
}

function single(params: Record<string, unknown>, name: string): string | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badRequest(`${name} must be given once`, [name]);
  return v;
}

/** `code=system|code,system|code` and repeated `code=`: every code must name its system. */
function parseCodes(value: unknown): CodeRef[] {
  if (value === undefined) return [];
  const parts = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(','));
  if (parts.length > MAX_CODES) throw badRequest(`at most ${MAX_CODES} codes per search`, ['code']);
  const out = new Map<string, CodeRef>();
  for (const part of parts) {
    // the ledger's rule: a code system URI and a code of at most 64 characters
    const ref = parseCodeRef(part);
    if (!ref) throw badRequest(`code ${part} must be system|code`, ['code']);
    out.set(formatCodeRef(ref), ref);
  }
  return [...out.values()];
}

/** The requester's one-time X25519 key (base64 SPKI DER): the answer is sealed to it, not to us. */
function parseAnswerKey(value: string | undefined): RecipientKey {
  if (!value) throw badRequest('X-Answer-Key is required: a one-time X25519 public key (base64 SPKI DER)');
  if (!/^[A-Za-z0-9+/=]{40,200}$/.test(value)) throw badRequest('X-Answer-Key must be base64 SPKI DER');
  return { algorithm: 'X25519', publicKey: value };
}
