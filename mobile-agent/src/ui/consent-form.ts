/**
 * The grant form: what the patient entered, read from the POST body and checked before anything
 * reaches the ledger. The checks mirror the chaincode's (scope not empty, codes as system|code,
 * end after start) so that mistakes get a message next to the field instead of a ledger error.
 */
import { DATA_CATEGORIES, parseCodeRef, PURPOSES_OF_USE, type CodeRef, type PurposeOfUse } from '@phr/common';
import type { ConsentRequest } from '../agent-api';
import { isPullGrantee, type PullGranteeKind } from '../consent/study-grantee';
import type { FieldError } from './form-errors';
import { CATEGORIES_BY_LABEL, localDateInput, localDayEnd, localDayStart } from './format';

/** The form exactly as entered, so a re-shown form loses nothing. */
export interface GrantFormValues {
  granteeKind: string;
  granteeId: string;
  categories: string[];
  /** One "system|code" per line. */
  codes: string;
  purposes: string[];
  /** yyyy-mm-dd or empty (= now). */
  start: string;
  /** yyyy-mm-dd, the last day included. */
  end: string;
}

export const EMPTY_GRANT_FORM: GrantFormValues = {
  granteeKind: 'organization',
  granteeId: '',
  categories: [],
  codes: '',
  purposes: [],
  start: '',
  end: '',
};

const MAX_CODES = 256;

const text = (v: unknown): string => (typeof v === 'string' ? v : '');
const list = (v: unknown): string[] =>
  (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string');

export function readGrantForm(body: Record<string, unknown>): GrantFormValues {
  return {
    granteeKind: text(body.granteeKind),
    granteeId: text(body.granteeId).trim(),
    categories: list(body.categories),
    codes: text(body.codes),
    purposes: list(body.purposes),
    start: text(body.start).trim(),
    end: text(body.end).trim(),
  };
}

function parseCodes(lines: string, errors: FieldError[]): CodeRef[] {
  const codes: CodeRef[] = [];
  lines.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const ref = parseCodeRef(line);
    if (!ref) {
      if (!errors.some((e) => e.field === 'codes')) {
        errors.push({
          id: 'codes',
          field: 'codes',
          message: `Line ${i + 1} of the codes is not a code system and code, like http://loinc.org|4548-4`,
        });
      }
      return;
    }
    if (!codes.some((c) => c.system === ref.system && c.code === ref.code)) codes.push(ref);
  });
  if (codes.length > MAX_CODES) {
    errors.push({ id: 'codes', field: 'codes', message: `Enter at most ${MAX_CODES} codes` });
  }
  return codes;
}

export type GrantFormResult = { ok: true; request: ConsentRequest } | { ok: false; errors: FieldError[] };

export function validateGrantForm(values: GrantFormValues, now: Date): GrantFormResult {
  const errors: FieldError[] = [];
  // only organisations and identities: a study consent comes from accepting a research offer
  if (!isPullGrantee(values.granteeKind)) {
    errors.push({
      id: 'grantee-kind-organization',
      field: 'granteeKind',
      message: 'Choose who gets access: an organisation or one person',
    });
  }
  if (values.granteeId === '') {
    errors.push({
      id: 'grantee-id',
      field: 'granteeId',
      message: 'Enter the ID of who gets access, for example Hospital1MSP',
    });
  } else if (!/^\S{1,256}$/.test(values.granteeId)) {
    errors.push({ id: 'grantee-id', field: 'granteeId', message: 'The ID cannot contain spaces' });
  }

  const categories = values.categories.filter((c) => (DATA_CATEGORIES as readonly string[]).includes(c));
  const codes = parseCodes(values.codes, errors);
  if (categories.length + codes.length === 0 && !errors.some((e) => e.field === 'codes')) {
    errors.push({
      id: `category-${CATEGORIES_BY_LABEL[0]}`,
      field: 'categories',
      message: 'Choose at least one kind of record, or enter a code',
    });
  }

  const purposes = values.purposes.filter((p): p is PurposeOfUse => (PURPOSES_OF_USE as readonly string[]).includes(p));
  if (purposes.length === 0) {
    errors.push({ id: `purpose-${PURPOSES_OF_USE[0]}`, field: 'purposes', message: 'Choose at least one purpose' });
  }

  const today = localDateInput(now);
  let start: string | undefined;
  if (values.start !== '') {
    if (localDayStart(values.start) === undefined) {
      errors.push({ id: 'start', field: 'start', message: 'Enter the start date as a real date' });
    } else if (values.start < today) {
      errors.push({ id: 'start', field: 'start', message: 'The start date cannot be in the past' });
    } else if (values.start > today) {
      start = localDayStart(values.start);
    } // today: leave it to the agent, which starts the consent now
  }
  const end = values.end === '' ? undefined : localDayEnd(values.end);
  if (values.end === '') {
    errors.push({ id: 'end', field: 'end', message: 'Enter the last day the consent applies' });
  } else if (end === undefined) {
    errors.push({ id: 'end', field: 'end', message: 'Enter the last day as a real date' });
  } else if (values.end < (values.start !== '' && values.start > today ? values.start : today)) {
    errors.push({ id: 'end', field: 'end', message: 'The last day must be on or after the start date' });
  }

  if (errors.length > 0 || end === undefined) return { ok: false, errors };
  const request: ConsentRequest = {
    grantee: { kind: values.granteeKind as PullGranteeKind, id: values.granteeId },
    scope: { categories: [...new Set(categories)].sort(), codes },
    purposes: [...new Set(purposes)],
    end,
  };
  if (start !== undefined) request.start = start;
  return { ok: true, request };
}

/** Where the agent's own refusal of a grant (ConsentRequestError: code INVALID_CONSENT, field) belongs on the form. */
const AGENT_FIELDS: Record<string, { field: string; id: string }> = {
  grantee: { field: 'granteeId', id: 'grantee-id' },
  scope: { field: 'categories', id: `category-${CATEGORIES_BY_LABEL[0]}` },
  purposes: { field: 'purposes', id: `purpose-${PURPOSES_OF_USE[0]}` },
  start: { field: 'start', id: 'start' },
  end: { field: 'end', id: 'end' },
};

/**
 * The agent checks a grant again (its rules may be stricter, e.g. the shape of an MSP ID); its
 * messages are written for patients, so they go next to the field like the form's own.
 */
export function agentFieldError(err: unknown): FieldError | undefined {
  if (!(err instanceof Error) || !('code' in err) || err.code !== 'INVALID_CONSENT' || !('field' in err)) {
    return undefined;
  }
  const target = typeof err.field === 'string' ? AGENT_FIELDS[err.field] : undefined;
  if (!target || err.message.trim() === '') return undefined;
  const message = err.message.trim();
  return { ...target, message: message.charAt(0).toUpperCase() + message.slice(1) };
}
