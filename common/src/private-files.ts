import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Files and folders that hold health data, keys or anything derived from them (SQLite databases
 * with their -wal and -shm files, keystores, exports) are created for their owner only: 0600 and
 * 0700, whatever the umask. An existing file or folder keeps its mode (it may be shared on
 * purpose); `looseModes` says which ones others can reach, for a warning at start-up.
 */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

const POSIX = process.platform !== 'win32';

/** Creates `dir` and any missing parents, each 0700; an existing folder is left as it is. */
export function makePrivateDir(dir: string): void {
  const target = resolve(dir);
  const first = mkdirSync(target, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first === undefined || !POSIX) return;
  // mkdir's mode is reduced by the umask: set it exactly on every folder created here
  for (let d = target; ; d = dirname(d)) {
    chmodSync(d, PRIVATE_DIR_MODE);
    if (d === resolve(first) || dirname(d) === d) break;
  }
}

/**
 * Creates `file` empty with mode 0600 if it does not exist, and says whether it did. For files
 * another library then opens: SQLite creates a missing database 0644, but opens an existing one
 * as it is and gives its -wal and -shm files the database file's mode.
 */
export function ensurePrivateFile(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', PRIVATE_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    if (POSIX) fchmodSync(fd, PRIVATE_FILE_MODE);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Writes `data` to `file` owner-only and atomically: a new file in the same folder (0600, synced)
 * renamed over the old one, so a reader never sees half a file and an old file's looser mode does
 * not carry over.
 */
export function writePrivateFile(file: string, data: string | Uint8Array): void {
  const dir = dirname(resolve(file));
  const tmp = join(dir, `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', PRIVATE_FILE_MODE);
  try {
    try {
      if (POSIX) fchmodSync(fd, PRIVATE_FILE_MODE);
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw err;
  }
}

export interface LooseMode {
  path: string;
  /** Octal permission bits, e.g. `0644`. */
  mode: string;
  kind: 'file' | 'folder';
}

/**
 * Those of `paths` that exist and that others than their owner may read, write or enter (any
 * group or other permission bit). Missing paths are skipped. Always empty on Windows, where
 * POSIX modes mean nothing.
 */
export function looseModes(paths: readonly string[]): LooseMode[] {
  if (!POSIX) return [];
  const loose: LooseMode[] = [];
  for (const path of paths) {
    let st: Stats;
    try {
      st = statSync(path);
    } catch {
      continue;
    }
    const bits = st.mode & 0o777;
    if ((bits & 0o077) !== 0) {
      loose.push({ path, mode: `0${bits.toString(8).padStart(3, '0')}`, kind: st.isDirectory() ? 'folder' : 'file' });
    }
  }
  return loose;
}

/** The SQLite database `file` and the files SQLite keeps beside it. */
export function sqliteFiles(file: string): string[] {
  return [file, `${file}-wal`, `${file}-shm`, `${file}-journal`];
}
