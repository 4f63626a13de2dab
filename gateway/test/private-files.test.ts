import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isPatientBundleFile, loadBundle, mrnOf, forNewPatient, smallBundle, syntheaFiles } from '@phr/test-support';
import { GatewayHarness } from '@phr/test-support/gateway';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(60_000);

const modeOf = (p: string) => `0${(statSync(p).mode & 0o777).toString(8)}`;

/** Issue 12: the gateway's data (coded clinical values, the keyed-hash key) is for its owner only. */
describe('gateway data files are owner-only', () => {
  let h: GatewayHarness;
  let umask: number;
  let data: string;
  beforeAll(async () => {
    // the most permissive umask there is: nothing may depend on it
    umask = process.umask(0);
    h = await GatewayHarness.create({ threads: 1 });
    data = h.config.dataDir;
  });
  afterAll(async () => {
    await h.close();
    process.umask(umask);
  });

  it('creates its data folder 0700, and the database, its WAL and shared-memory files and its key 0600', async () => {
    // something stored, so that every file exists
    const bundle = forNewPatient(smallBundle(loadBundle(syntheaFiles().find(isPatientBundleFile)!), 3), 'modes');
    const patient = await h.newPatient('modes');
    await h.link(patient, mrnOf(bundle));
    const res = await h.request(h.clients.ehr, 'POST', '/fhir', bundle, { 'content-type': 'application/fhir+json' });
    expect(res.status).toBe(200);
    const files = ['gateway.db', 'gateway.db-wal', 'gateway.db-shm', 'gateway.key'].map((f) => join(data, f));
    for (const f of files) expect(existsSync(f)).toBe(true);
    expect({ [data]: modeOf(data), ...Object.fromEntries(files.map((f) => [f, modeOf(f)])) }).toEqual({
      [data]: '0700',
      ...Object.fromEntries(files.map((f) => [f, '0600'])),
    });
  });

  it('warns at start-up about a data file or folder others can reach, with its path and mode only', async () => {
    await h.gateway.close();
    const db = join(data, 'gateway.db');
    chmodSync(db, 0o644);
    chmodSync(data, 0o755);
    const logBefore = readFileSync(h.logFile, 'utf8').length;
    await h.start();
    const lines = readFileSync(h.logFile, 'utf8')
      .slice(logBefore)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: number; msg: string; path?: string; mode?: string });
    const warnings = lines.filter((l) => l.level === 40 && l.path !== undefined);
    // SQLite gives the -wal and -shm files the database file's mode
    expect(warnings.map((w) => [w.path, w.mode])).toEqual([
      [data, '0755'],
      [db, '0644'],
      [`${db}-wal`, '0644'],
      [`${db}-shm`, '0644'],
    ]);
    expect(warnings[0]?.msg).toMatch(/chmod 700/);
    expect(warnings[1]?.msg).toMatch(/chmod 600/);
    // the warnings carry nothing else: no content of the files
    for (const w of warnings)
      expect(Object.keys(w).sort()).toEqual(['hostname', 'level', 'mode', 'msg', 'path', 'pid', 'time']);
    // they are left as they are: the operator decides
    expect(modeOf(db)).toBe('0644');
    for (const f of [db, `${db}-wal`, `${db}-shm`]) chmodSync(f, 0o600);
    chmodSync(data, 0o700);
  });
});
