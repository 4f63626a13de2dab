import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pendingRecoveryFile } from '../recovery/pending-recovery';
import { AgentHome } from './agent-home';

const posix = process.platform !== 'win32';

describe('AgentHome', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'phr-home-'));
    chmodSync(dir, 0o700);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names the pending recovery file the recovery flow writes', () => {
    expect(new AgentHome(dir).recoveryFile).toBe(join(dir, 'recovery.json'));
    expect(pendingRecoveryFile(dir)).toBe(new AgentHome(dir).recoveryFile);
  });

  (posix ? it : it.skip)('counts a pending recovery others can read among the loose files', () => {
    const home = new AgentHome(dir);
    writeFileSync(home.keystoreFile, '{}', { mode: 0o600 });
    writeFileSync(home.recoveryFile, '{}', { mode: 0o600 });
    chmodSync(home.recoveryFile, 0o644);
    expect(home.looseModes()).toEqual([{ path: home.recoveryFile, mode: '0644', kind: 'file' }]);
    chmodSync(home.recoveryFile, 0o600);
    expect(home.looseModes()).toEqual([]);
  });
});
