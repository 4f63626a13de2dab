import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backupCommand } from '../src/cli/lifecycle-commands';
import { recoveryCodeText, showRecoveryCode } from '../src/cli/recovery-code';
import { AgentHarness } from './support/agent-harness';

jest.setTimeout(120_000);

/** What `fn` writes to stdout and stderr, and how it ended. */
async function captured(fn: () => unknown): Promise<{ stdout: string; stderr: string; error?: unknown }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    await fn();
    return { stdout, stderr };
  } catch (error) {
    return { stdout, stderr, error };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/**
 * Issue 15: the recovery code is made at the first backup (or recovery setup) and handed out once.
 * The CLI shows it before the step that may fail, and `phr-agent recovery code` shows it again.
 */
describe('the recovery code on the command line', () => {
  let h: AgentHarness;
  beforeAll(async () => {
    h = await AgentHarness.create();
  });
  afterAll(async () => {
    await h.close();
  });

  it('is shown before a backup that then fails, and `recovery code` shows the same again', async () => {
    const { agent } = await h.newAgent();
    try {
      // A folder that cannot be made: the backup fails after the recovery secret was made.
      const blocker = join(h.dir, 'not-a-folder');
      writeFileSync(blocker, 'a file');
      const failed = await captured(() => backupCommand(agent, { to: 'folder', dir: join(blocker, 'backups') }, {}));
      expect(failed.error).toBeDefined();
      const code = agent.recoveryCode();
      expect(code).toMatch(/^PHRR(-[0-9A-Z]{1,4})+$/);
      expect(failed.stdout).toBe(recoveryCodeText(code as string));
      expect(failed.stdout).toContain('Write it down');

      // Later: the code again, in the same words; a backup that works does not hand it out again.
      expect((await captured(() => showRecoveryCode(agent, {}))).stdout).toBe(recoveryCodeText(code as string));
      expect(JSON.parse((await captured(() => showRecoveryCode(agent, { json: true }))).stdout)).toEqual({
        recoveryCode: code,
      });
      const ok = await captured(() => backupCommand(agent, { to: 'folder', dir: join(h.dir, 'backups') }, {}));
      expect(ok.error).toBeUndefined();
      expect(ok.stdout).toMatch(/^Backup 1 written to /);
      expect(ok.stdout).not.toContain(code);
    } finally {
      await agent.close();
    }
  });

  it('with --json goes to stderr first and into the report', async () => {
    const { agent } = await h.newAgent();
    try {
      const r = await captured(() =>
        backupCommand(agent, { to: 'folder', dir: join(h.dir, 'json-backups') }, { json: true }),
      );
      expect(r.error).toBeUndefined();
      const code = agent.recoveryCode() as string;
      expect(r.stderr).toBe(recoveryCodeText(code));
      expect(JSON.parse(r.stdout)).toMatchObject({ kind: 'folder', recoveryCode: code });
    } finally {
      await agent.close();
    }
  });

  it('`recovery code` says so when there is none yet', async () => {
    const { agent } = await h.newAgent();
    try {
      const r = await captured(() => showRecoveryCode(agent, {}));
      expect(r.stdout).toBe('');
      expect(String(r.error)).toMatch(
        /no recovery code yet: `phr-agent backup` or `phr-agent recovery setup` makes it/,
      );
    } finally {
      await agent.close();
    }
  });
});
