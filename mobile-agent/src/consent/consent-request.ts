import {
  DATA_CATEGORIES,
  PURPOSES_OF_USE,
  type CodeRef,
  type ConsentScope,
  type Grantee,
  type PurposeOfUse,
} from '@phr/common';
import type { ConsentRequest } from '../agent-api';
import { isPullGrantee } from './study-grantee';

export class ConsentRequestError extends Error {
  override readonly name = 'ConsentRequestError';
  readonly code = 'INVALID_CONSENT';
  /** Which field is wrong, so a form can put the message next to it. */
  constructor(
    readonly field: 'grantee' | 'scope' | 'purposes' | 'start' | 'end',
    message: string,
  ) {
    super(message);
  }
}

export interface ParsedConsent {
  grantee: Grantee;
  scope: ConsentScope;
  purposes: PurposeOfUse[];
  start: string;
  end: string;
}

const MSP_ID = /^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$/;
const IDENTITY_KEY = /^id[0-9a-f]{40}$/;

/**
 * Checks a grant before it is signed, with messages a patient can act on; the chaincode checks it
 * again. Scope is deduplicated and sorted so the same grant always reads the same on the ledger.
 */
export function parseConsentRequest(r: ConsentRequest, now: Date): ParsedConsent {
  const kind = r.grantee?.kind;
  const id = r.grantee?.id?.trim() ?? '';
  // A study consent comes only from accepting a research offer (`research accept`), never from here.
  if (!isPullGrantee(kind))
    throw new ConsentRequestError('grantee', 'choose who receives access: an organisation or one identity');
  if (kind === 'organization' && !MSP_ID.test(id)) {
    throw new ConsentRequestError('grantee', 'the organisation must be given by its MSP ID, e.g. Hospital2MSP');
  }
  if (kind === 'identity' && !IDENTITY_KEY.test(id)) {
    throw new ConsentRequestError('grantee', 'an identity is given by its identity key (id followed by 40 hex digits)');
  }

  const categories = [...new Set(r.scope?.categories ?? [])].sort();
  const unknown = categories.find((c) => !(DATA_CATEGORIES as readonly string[]).includes(c));
  if (unknown) throw new ConsentRequestError('scope', `"${unknown}" is not a record category`);
  const codes = dedupeCodes(r.scope?.codes ?? []);
  if (categories.length + codes.length === 0) {
    throw new ConsentRequestError('scope', 'choose at least one category or code to share');
  }

  const purposes = [...new Set(r.purposes ?? [])].sort();
  if (purposes.length === 0) throw new ConsentRequestError('purposes', 'choose at least one purpose');
  const badPurpose = purposes.find((p) => !PURPOSES_OF_USE.includes(p));
  if (badPurpose) throw new ConsentRequestError('purposes', `"${badPurpose}" is not a purpose of use`);

  const start = r.start ? instant(r.start, 'start') : now.toISOString();
  const end = instant(r.end, 'end');
  if (Date.parse(end) <= Date.parse(start)) throw new ConsentRequestError('end', 'the end must be after the start');
  if (Date.parse(end) <= now.getTime()) throw new ConsentRequestError('end', 'the end must be in the future');
  return { grantee: { kind, id }, scope: { categories, codes }, purposes, start, end };
}

function dedupeCodes(codes: readonly CodeRef[]): CodeRef[] {
  const out = new Map<string, CodeRef>();
  for (const c of codes) {
    const system = c.system?.trim() ?? '';
    const code = c.code?.trim() ?? '';
    if (!/^[a-z][a-z0-9+.-]*:\S+$/i.test(system) || code === '' || /\s/.test(code)) {
      throw new ConsentRequestError(
        'scope',
        `"${system}|${code}" is not a code: write system|code, e.g. http://loinc.org|4548-4`,
      );
    }
    out.set(`${system}|${code}`, { system, code });
  }
  return [...out.values()].sort((a, b) => `${a.system}|${a.code}`.localeCompare(`${b.system}|${b.code}`));
}

function instant(value: string, field: 'start' | 'end'): string {
  const t = Date.parse(value);
  if (!Number.isFinite(t)) throw new ConsentRequestError(field, `the ${field} is not a date`);
  return new Date(t).toISOString();
}
