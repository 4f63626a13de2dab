/**
 * The "back up to a folder" form: a path on this computer (the agent runs on the patient's own
 * machine, so the folder is the patient's), read from the POST body and checked before the agent
 * writes anything. The agent makes the folder if it is missing; what only the disk can say (no
 * permission, a file in the way) comes back from the agent and is shown next to the field too.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { FieldError } from './form-errors';

export interface FolderFormValues {
  /** As entered, so a re-shown form loses nothing. */
  dir: string;
}

export const EMPTY_FOLDER_FORM: FolderFormValues = { dir: '' };

/** The field's name and the id of its input. */
export const FOLDER_FIELD = { field: 'dir', id: 'backup-dir' } as const;

/** Longer than any path a file system takes (Linux's PATH_MAX). */
const MAX_PATH = 4096;

export function readFolderForm(body: Record<string, unknown>): FolderFormValues {
  return { dir: typeof body.dir === 'string' ? body.dir : '' };
}

export type FolderFormResult = { ok: true; dir: string } | { ok: false; errors: FieldError[] };

const problem = (message: string): FolderFormResult => ({ ok: false, errors: [{ ...FOLDER_FIELD, message }] });

/**
 * The folder as an absolute, normalised path. `~` stands for the patient's home folder, as in a
 * terminal; a relative path is refused, since it would be relative to wherever the agent was
 * started, which the patient cannot see from the page.
 */
export function validateFolderForm(values: FolderFormValues, home: string = homedir()): FolderFormResult {
  const entered = values.dir.trim();
  if (entered === '') return problem('Enter the folder to back up to, for example /media/usb/health-backup');
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(entered)) return problem('The folder’s path cannot contain control characters');
  if (entered.length > MAX_PATH) return problem(`The folder’s path is too long: at most ${MAX_PATH} characters`);
  const expanded = entered === '~' ? home : /^~[/\\]/.test(entered) ? join(home, entered.slice(2)) : entered;
  if (!isAbsolute(expanded)) {
    return problem('Enter the folder’s full path, starting with / (or ~/ for your home folder)');
  }
  return { ok: true, dir: resolve(expanded) };
}

/** What the disk said, in words for the field; by the error's code (Node's errno names). */
const DISK_REFUSALS: Record<string, string> = {
  ENOTDIR: 'Part of this path is a file, not a folder: choose another folder',
  EEXIST: 'Part of this path is a file, not a folder: choose another folder',
  EACCES: 'Your agent may not write to this folder: choose one you can write to',
  EPERM: 'Your agent may not write to this folder: choose one you can write to',
  EROFS: 'This folder is on a disk that cannot be written to',
  ENOSPC: 'There is not enough space left on this disk',
  EDQUOT: 'There is not enough space left for you on this disk',
  ENAMETOOLONG: 'This path is too long for the disk',
  ELOOP: 'This path goes round in a loop of links',
  ENOENT: 'This folder could not be found or made',
};

/**
 * A failed folder backup that belongs next to the field: what the disk refused, or the agent's
 * own refusal of the folder (BackupError CONFLICT: it holds a backup this recovery secret does
 * not open, and is left alone). Undefined for anything else (the ledger, a hospital).
 */
export function folderFieldError(err: unknown): FieldError | undefined {
  if (!(err instanceof Error) || !('code' in err) || typeof err.code !== 'string') return undefined;
  if (err.name === 'BackupError' && err.code === 'CONFLICT') {
    const message = err.message.trim();
    return { ...FOLDER_FIELD, message: message.charAt(0).toUpperCase() + message.slice(1) };
  }
  const words = DISK_REFUSALS[err.code];
  return words === undefined ? undefined : { ...FOLDER_FIELD, message: words };
}
