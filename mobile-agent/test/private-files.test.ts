import { chmodSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { forNewPatient, isPatientBundleFile, loadBundle, mrnOf, smallBundle, syntheaFiles } from '@phr/test-support';
import { Agent } from '../src/agent';
import { AgentHarness, PASSPHRASE } from './support/agent-harness';

jest.setTimeout(120_000);

const modeOf = (p: string) => `0${(statSync(p).mode & 0o777).toString(8)}`;

/** Issue 12: a patient's home (keys, records) is for the patient's own account only. */
describe("the agent's home is owner-only", () => {
  let h: AgentHarness;
  let umask: number;
  beforeAll(async () => {
    h = await AgentHarness.create();
    // the most permissive umask there is: nothing may depend on it
    umask = process.umask(0);
  });
  afterAll(async () => {
    process.umask(umask);
    await h.close();
  });

  it('creates the home 0700 and the keystore, state, profile and vault (with its WAL and shared memory) 0600', async () => {
    const { agent, home } = await h.newAgent();
    const bundle = smallBundle(forNewPatient(loadBundle(syntheaFiles().find(isPatientBundleFile)!), 'modes'), 4);
    await h.link(agent, mrnOf(bundle));
    await h.post(bundle);
    await agent.sync();
    const files = ['keystore.json', 'state.json', 'profile.json', 'vault.db', 'vault.db-wal', 'vault.db-shm'].map((f) =>
      join(home, f),
    );
    for (const f of files) expect(existsSync(f)).toBe(true);
    expect({ [home]: modeOf(home), ...Object.fromEntries(files.map((f) => [f, modeOf(f)])) }).toEqual({
      [home]: '0700',
      ...Object.fromEntries(files.map((f) => [f, '0600'])),
    });
    await agent.close();
  });

  it('warns when it opens a home whose files others can reach, with their path and mode only', async () => {
    const { agent, home } = await h.newAgent();
    await agent.close();
    chmodSync(home, 0o755);
    chmodSync(join(home, 'vault.db'), 0o644);
    chmodSync(join(home, 'keystore.json'), 0o640);
    const warnings: { obj: object; msg: string }[] = [];
    const log = {
      debug() {},
      info() {},
      error() {},
      warn(obj: object, msg: string) {
        warnings.push({ obj, msg });
      },
    };
    const reopened = await Agent.open(home, PASSPHRASE, { connectors: h.connectors, log });
    await reopened.close();
    expect(warnings.map((w) => w.obj)).toEqual([
      { path: home, mode: '0755' },
      { path: join(home, 'keystore.json'), mode: '0640' },
      { path: join(home, 'vault.db'), mode: '0644' },
    ]);
    expect(warnings.every((w) => /chmod (600|700) /.test(w.msg))).toBe(true);
    // left as they are: the patient decides
    expect(modeOf(join(home, 'vault.db'))).toBe('0644');
  });
});
