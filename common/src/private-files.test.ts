import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePrivateFile, looseModes, makePrivateDir, sqliteFiles, writePrivateFile } from './private-files';

const modeOf = (p: string) => statSync(p).mode & 0o777;

describe('private files', () => {
  let dir: string;
  let umask: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'phr-private-'));
    // the most permissive umask: whatever is created must still be owner-only
    umask = process.umask(0);
  });
  afterEach(() => {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates folders and their missing parents 0700 whatever the umask, and leaves existing ones alone', () => {
    const deep = join(dir, 'a', 'b', 'c');
    makePrivateDir(deep);
    for (const d of [join(dir, 'a'), join(dir, 'a', 'b'), deep]) expect(modeOf(d).toString(8)).toBe('700');
    mkdirSync(join(dir, 'shared'), { mode: 0o750 });
    makePrivateDir(join(dir, 'shared'));
    expect(modeOf(join(dir, 'shared')).toString(8)).toBe('750');
    process.umask(0o277); // even an umask that takes the owner's own bits
    makePrivateDir(join(dir, 'odd'));
    expect(modeOf(join(dir, 'odd')).toString(8)).toBe('700');
  });

  it('creates a missing file empty and 0600, and keeps an existing one as it is', () => {
    const f = join(dir, 'x.db');
    expect(ensurePrivateFile(f)).toBe(true);
    expect(modeOf(f).toString(8)).toBe('600');
    expect(statSync(f).size).toBe(0);
    writeFileSync(f, 'data');
    chmodSync(f, 0o640);
    expect(ensurePrivateFile(f)).toBe(false);
    expect(readFileSync(f, 'utf8')).toBe('data');
    expect(modeOf(f).toString(8)).toBe('640');
  });

  it('writes a file 0600 atomically, replacing an old one and its looser mode', () => {
    const f = join(dir, 'export.json');
    writeFileSync(f, 'old', { mode: 0o644 });
    chmodSync(f, 0o644);
    writePrivateFile(f, '{"new":true}');
    expect(readFileSync(f, 'utf8')).toBe('{"new":true}');
    expect(modeOf(f).toString(8)).toBe('600');
    writePrivateFile(join(dir, 'fresh.json'), Buffer.from('x'));
    expect(modeOf(join(dir, 'fresh.json')).toString(8)).toBe('600');
    expect(() => writePrivateFile(join(dir, 'missing', 'f.json'), 'x')).toThrow(/ENOENT/);
  });

  it('names the files and folders others may reach, and skips missing ones', () => {
    const db = join(dir, 'g.db');
    writeFileSync(db, '');
    chmodSync(db, 0o644);
    writeFileSync(`${db}-wal`, '');
    chmodSync(`${db}-wal`, 0o600);
    chmodSync(dir, 0o755);
    expect(looseModes([dir, ...sqliteFiles(db)])).toEqual([
      { path: dir, mode: '0755', kind: 'folder' },
      { path: db, mode: '0644', kind: 'file' },
    ]);
    chmodSync(db, 0o600);
    chmodSync(dir, 0o700);
    expect(looseModes([dir, ...sqliteFiles(db)])).toEqual([]);
  });
});
