import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRunFolder, newPassphrase, newRunId, writeSecret } from './run-folder';

describe('a run of the demo', () => {
  let state: string;
  beforeEach(() => (state = mkdtempSync(join(tmpdir(), 'phr-demo-'))));
  afterEach(() => rmSync(state, { recursive: true, force: true }));

  test('has a fresh id that sorts by time', () => {
    expect(newRunId(new Date('2026-12-05T14:15:03.456Z'), Buffer.from([0x3f, 0xa9, 0xc2]))).toBe(
      '20261205-141503-3fa9c2',
    );
    expect(newRunId()).not.toBe(newRunId());
  });

  test('keeps its files under $PHR_STATE/demo/<id>, secrets readable by the owner only', () => {
    const run = createRunFolder(state, 'run-1');
    expect(run.dir).toBe(join(state, 'demo', 'run-1'));
    expect(run.agentHome).toBe(join(run.dir, 'agent'));
    expect(statSync(run.dir).mode & 0o777).toBe(0o700);
    const passphrase = newPassphrase();
    expect(passphrase.length).toBeGreaterThanOrEqual(32);
    writeSecret(run.passphraseFile, passphrase);
    expect(statSync(run.passphraseFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(run.passphraseFile, 'utf8')).toBe(passphrase);
    expect(() => writeSecret(run.passphraseFile, 'another')).toThrow(/EEXIST/);
  });
});
