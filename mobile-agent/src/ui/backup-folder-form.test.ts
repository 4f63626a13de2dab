import { folderFieldError, readFolderForm, validateFolderForm } from './backup-folder-form';

const HOME = '/home/patient';
const check = (dir: string) => validateFolderForm({ dir }, HOME);
const messages = (dir: string) => {
  const r = check(dir);
  return r.ok ? [] : r.errors.map((e) => `${e.id}: ${e.message}`);
};

describe('the folder backup form', () => {
  it('reads the path as entered, and nothing but a string', () => {
    expect(readFolderForm({ dir: ' /media/usb ' })).toEqual({ dir: ' /media/usb ' });
    expect(readFolderForm({ dir: ['/a', '/b'] })).toEqual({ dir: '' });
    expect(readFolderForm({})).toEqual({ dir: '' });
  });

  it('takes a full path, normalised, and ~ for the home folder', () => {
    expect(check('/media/usb/health-backup/')).toEqual({ ok: true, dir: '/media/usb/health-backup' });
    expect(check('  /media/usb/../backups ')).toEqual({ ok: true, dir: '/media/backups' });
    expect(check('~/health-backup')).toEqual({ ok: true, dir: '/home/patient/health-backup' });
    expect(check('~')).toEqual({ ok: true, dir: HOME });
  });

  it('refuses an empty, relative or odd path, next to the field', () => {
    expect(messages('')).toEqual(['backup-dir: Enter the folder to back up to, for example /media/usb/health-backup']);
    expect(messages('backups')).toEqual([
      'backup-dir: Enter the folder’s full path, starting with / (or ~/ for your home folder)',
    ]);
    // ~user is another user's home: not expanded, so not absolute
    expect(messages('~other/backups')).toHaveLength(1);
    expect(messages('/media/usb\n/etc')).toEqual(['backup-dir: The folder’s path cannot contain control characters']);
    expect(messages('/media/\u0000x')).toHaveLength(1);
    expect(messages(`/${'a'.repeat(4096)}`)).toEqual([
      'backup-dir: The folder’s path is too long: at most 4096 characters',
    ]);
  });

  it('puts what the disk refused next to the field, and leaves other failures alone', () => {
    const errno = (code: string) => Object.assign(new Error(`${code}: nope, '/x/y'`), { code });
    expect(folderFieldError(errno('EACCES'))).toEqual({
      id: 'backup-dir',
      field: 'dir',
      message: 'Your agent may not write to this folder: choose one you can write to',
    });
    expect(folderFieldError(errno('ENOTDIR'))?.message).toMatch(/is a file, not a folder/);
    expect(folderFieldError(errno('EROFS'))?.message).toMatch(/cannot be written to/);
    const conflict = Object.assign(new Error('/b/pt/manifest.bin holds a backup this recovery secret does not open'), {
      name: 'BackupError',
      code: 'CONFLICT',
    });
    expect(folderFieldError(conflict)?.message).toBe(
      '/b/pt/manifest.bin holds a backup this recovery secret does not open',
    );
    // the ledger's CONFLICT, a hospital unreachable, an internal error: not the field's fault
    expect(folderFieldError(Object.assign(new Error('CONFLICT: x'), { code: 'CONFLICT' }))).toBeUndefined();
    expect(folderFieldError(errno('UNAVAILABLE'))).toBeUndefined();
    expect(folderFieldError(new TypeError('boom'))).toBeUndefined();
  });
});
