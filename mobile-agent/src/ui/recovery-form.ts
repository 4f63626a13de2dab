/**
 * The recovery setup form: guardians (other patients, by pseudonym), how many paper codes, how
 * many shares rebuild the secret, and the hospital whose gateway mails the guardians' shares —
 * the options of `phr-agent recovery setup`. Read from the POST body and checked so that each
 * mistake is named next to its field; the agent checks everything again (and whether each
 * guardian is registered), and its refusals go next to the guardians too.
 */
import { isPseudonym } from '@phr/common';
import { RECOVERY_MAX_SHARES, RECOVERY_MIN_THRESHOLD, type RecoverySetupOptions } from '../agent-api';
import type { FieldError } from './form-errors';

/** The form exactly as entered, so a re-shown form loses nothing. */
export interface SetupFormValues {
  /** Pseudonyms, one a line (spaces and commas also separate them). */
  guardians: string;
  paper: string;
  threshold: string;
  /** A hospital's name from the profile. */
  hospital: string;
}

export const EMPTY_SETUP_FORM: SetupFormValues = { guardians: '', paper: '0', threshold: '2', hospital: '' };

/** Field names and the ids of their controls. */
export const SETUP_FIELDS = {
  guardians: { field: 'guardians', id: 'recovery-guardians' },
  paper: { field: 'paper', id: 'recovery-paper' },
  threshold: { field: 'threshold', id: 'recovery-threshold' },
  hospital: { field: 'setupHospital', id: 'recovery-hospital' },
} as const;

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

export function readSetupForm(body: Record<string, unknown>): SetupFormValues {
  return {
    guardians: text(body.guardians),
    paper: text(body.paper).trim(),
    threshold: text(body.threshold).trim(),
    hospital: text(body.hospital),
  };
}

export type SetupFormResult = { ok: true; options: RecoverySetupOptions } | { ok: false; errors: FieldError[] };

export interface SetupContext {
  /** This patient's own pseudonym, when the agent could say. */
  self?: string;
  /** The hospitals' names the agent knows. */
  hospitals: readonly string[];
}

/** A whole number written in digits, or undefined. */
function wholeNumber(value: string): number | undefined {
  return /^\d{1,4}$/.test(value) ? Number(value) : undefined;
}

function parseGuardians(entered: string, self: string | undefined, errors: FieldError[]): string[] {
  const guardians: string[] = [];
  const fail = (message: string) => errors.push({ ...SETUP_FIELDS.guardians, message });
  for (const token of entered.split(/[\s,;]+/).filter((t) => t !== '')) {
    // pseudonyms are lower case; one copied in capitals is still the same pseudonym
    const pseudonym = token.toLowerCase();
    if (!isPseudonym(pseudonym)) {
      const shown = token.length > 40 ? `${token.slice(0, 40)}…` : token;
      fail(`“${shown}” is not a pseudonym: they start with pt, followed by 26 letters and digits`);
      return guardians;
    }
    if (pseudonym === self) {
      fail('You cannot be your own guardian: name other patients');
      return guardians;
    }
    if (guardians.includes(pseudonym)) {
      fail(`${pseudonym} is named twice`);
      return guardians;
    }
    guardians.push(pseudonym);
  }
  return guardians;
}

export function validateSetupForm(values: SetupFormValues, context: SetupContext): SetupFormResult {
  const errors: FieldError[] = [];
  const guardians = parseGuardians(values.guardians, context.self, errors);
  const paper = wholeNumber(values.paper);
  const threshold = wholeNumber(values.threshold);
  if (paper === undefined) {
    errors.push({
      ...SETUP_FIELDS.paper,
      message: 'Enter how many paper codes to print as a whole number, 0 for none',
    });
  }
  const shares = paper === undefined ? undefined : guardians.length + paper;
  if (shares !== undefined && !errors.some((e) => e.field === SETUP_FIELDS.guardians.field)) {
    if (shares < RECOVERY_MIN_THRESHOLD) {
      errors.push({
        ...SETUP_FIELDS.guardians,
        message: `Name guardians or print paper codes: at least ${RECOVERY_MIN_THRESHOLD} shares in all`,
      });
    } else if (shares > RECOVERY_MAX_SHARES) {
      errors.push({
        ...SETUP_FIELDS.paper,
        message: `At most ${RECOVERY_MAX_SHARES} shares in all, guardians and paper codes together (you asked for ${shares})`,
      });
    }
  }
  if (threshold === undefined) {
    errors.push({ ...SETUP_FIELDS.threshold, message: 'Enter how many shares are needed as a whole number' });
  } else if (threshold < RECOVERY_MIN_THRESHOLD) {
    errors.push({
      ...SETUP_FIELDS.threshold,
      message: `At least ${RECOVERY_MIN_THRESHOLD} shares must be needed: one alone must never be enough`,
    });
  } else if (shares !== undefined && shares >= RECOVERY_MIN_THRESHOLD && threshold > shares) {
    errors.push({
      ...SETUP_FIELDS.threshold,
      message: `No more shares can be needed than you make (${shares})`,
    });
  }
  const hospital = values.hospital === '' ? undefined : values.hospital;
  if (hospital !== undefined && !context.hospitals.includes(hospital)) {
    errors.push({ ...SETUP_FIELDS.hospital, message: 'Choose a hospital from the list' });
  }
  if (errors.length > 0 || paper === undefined || threshold === undefined) return { ok: false, errors };
  return { ok: true, options: { guardians, paper, threshold, ...(hospital !== undefined ? { hospital } : {}) } };
}

/**
 * The agent's refusal of the guardians or counts (RecoveryError INVALID_ARGUMENT or
 * UNKNOWN_GUARDIAN: a guardian not registered, or erased), next to the guardians; its messages
 * are written for patients. Undefined for anything else.
 */
export function setupFieldError(err: unknown): FieldError | undefined {
  if (!(err instanceof Error) || err.name !== 'RecoveryError' || !('code' in err)) return undefined;
  if (err.code !== 'UNKNOWN_GUARDIAN' && err.code !== 'INVALID_ARGUMENT') return undefined;
  const message = err.message.trim();
  if (message === '') return undefined;
  return { ...SETUP_FIELDS.guardians, message: message.charAt(0).toUpperCase() + message.slice(1) };
}
