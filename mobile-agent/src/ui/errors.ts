import type { ChaincodeErrorCode } from '@phr/common';

/**
 * What the patient is told when the agent fails. The page never shows a stack or an internal
 * message it cannot vouch for: errors that carry one of the ledger's codes (LedgerError, the
 * chaincode's "CODE: detail" messages) show their one-line detail, everything else a plain
 * sentence. The UI depends only on AgentApi, so it reads the code by shape, not by class.
 */

export interface FriendlyError {
  status: number;
  message: string;
}

const UNREACHABLE =
  'The ledger or a hospital could not be reached just now. Your records on this device are safe; try again in a moment.';
const INTERNAL = 'Something went wrong inside your agent. Try again; if it keeps happening, look at the agent’s log.';

const LEDGER_REFUSALS: Record<ChaincodeErrorCode, { status: number; lead: string }> = {
  INVALID_ARGUMENT: { status: 400, lead: 'The ledger did not accept this' },
  CONFLICT: { status: 409, lead: 'This clashes with what the ledger already holds' },
  INVALID_STATE: { status: 409, lead: 'This cannot be done right now' },
  NOT_FOUND: { status: 404, lead: 'Not found' },
  FORBIDDEN: { status: 403, lead: 'Not allowed' },
  CONSENT_REQUIRED: { status: 403, lead: 'A consent is needed for this' },
};

const BY_CODE: Record<string, { status: number; lead: string }> = {
  ...LEDGER_REFUSALS,
  // the agent's own check of a grant (ConsentRequestError): its message is written for patients
  INVALID_CONSENT: { status: 422, lead: 'This consent cannot be given' },
};

/**
 * The agent's own refusals of a backup, recovery or erasure step, by the error's name (read by
 * shape, like the code, since some codes are also the ledger's): their messages are written for
 * patients and say what to do.
 */
const STEP_REFUSALS: Record<string, Record<string, { status: number; lead: string }>> = {
  RecoveryError: {
    INVALID_ARGUMENT: { status: 422, lead: 'Recovery cannot be set up like this' },
    UNKNOWN_GUARDIAN: { status: 422, lead: 'This guardian cannot hold a share' },
    NOT_SET_UP: { status: 409, lead: 'Recovery is not set up' },
    UNKNOWN_REQUEST: { status: 404, lead: 'This recovery request is not known to your agent' },
    EXPIRED: { status: 409, lead: 'This recovery request has expired' },
    NOT_GUARDIAN: { status: 403, lead: 'You cannot answer this request' },
    NOT_DELIVERED: { status: 503, lead: 'Not every share could be sent' },
  },
  ResearchError: {
    UNKNOWN_OFFER: { status: 404, lead: 'This study is not known' },
    CLOSED: { status: 409, lead: 'This study is closed' },
    NOT_MATCHING: { status: 409, lead: 'Your records do not match this study' },
    OPTED_OUT: { status: 409, lead: 'You opted out of research' },
    ALREADY_DECIDED: { status: 409, lead: 'You already decided on this study' },
    NO_GATEWAY: { status: 503, lead: 'The hospital collecting for this study is not known' },
    NOTHING_TO_SHARE: { status: 409, lead: 'There is nothing to share with this study' },
    INCOMPLETE: { status: 503, lead: 'Accepted, but not delivered yet' },
  },
  BackupError: {
    CONFLICT: { status: 409, lead: 'This folder cannot take your backup' },
  },
  ErasureError: {
    HOSPITAL_UNCONFIRMED: { status: 503, lead: 'Not every hospital confirmed the erasure' },
    BAD_RECEIPT: { status: 502, lead: 'A hospital’s erasure receipt is not valid' },
  },
};

const NETWORK_CODES = new Set([
  'UNAVAILABLE',
  'UNREACHABLE',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** One line, no longer than a sentence should be, without the leading "CODE: ". */
function detailOf(message: string, code: string): string {
  const line = (message.split('\n')[0] ?? '').replace(new RegExp(`^.*?\\b${code}: `), '').trim();
  return line.length > 300 ? `${line.slice(0, 297)}…` : line;
}

export function friendlyError(err: unknown): FriendlyError {
  const code = err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  const message = err instanceof Error ? err.message : '';
  if (code !== undefined && NETWORK_CODES.has(code)) return { status: 503, message: UNREACHABLE };
  const name = err instanceof Error ? err.name : undefined;
  const step = name !== undefined && code !== undefined ? STEP_REFUSALS[name]?.[code] : undefined;
  const known = step ?? (code !== undefined ? BY_CODE[code] : undefined);
  if (known && code !== undefined) {
    const detail = detailOf(message, code);
    const sentence = detail === '' ? known.lead : `${known.lead}: ${detail}`;
    return { status: known.status, message: /[.!?]$/.test(sentence) ? sentence : `${sentence}.` };
  }
  return { status: 500, message: INTERNAL };
}
