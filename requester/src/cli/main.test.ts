import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeAnswerWorld, type AnswerWorld } from '../testing/answer-fixture';
import { DENIED, startStandInGateway, type StandInGateway } from '../testing/stand-in-gateway';
import { main, type CliDeps } from './main';

let w: AnswerWorld;
let gateway: StandInGateway;
let dir: string;
let flags: string[];
let stdout: string;
let stderr: string;
const deps: CliDeps = { connectLedger: () => Object.assign(w.ledger, { close: () => undefined }) };

beforeAll(async () => {
  w = await makeAnswerWorld();
  gateway = await startStandInGateway(w);
  dir = mkdtempSync(join(tmpdir(), 'phr-request-'));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  flags = [
    '--gateway',
    gateway.url,
    '--ca',
    file('ca.pem', w.hospitalCa.certificatePem),
    '--cert',
    file('cert.pem', w.requester.certificatePem),
    '--key',
    file('key.pem', w.requester.privateKeyPem),
    '--msp-id',
    w.hospitalCa.mspId,
    '--peer',
    '127.0.0.1:1',
    '--peer-ca',
    join(dir, 'ca.pem'),
    '--state-dir',
    join(dir, 'state'),
  ];
});

afterAll(async () => {
  await gateway.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  stdout = '';
  stderr = '';
  gateway.tamper = false;
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
});

afterEach(() => jest.restoreAllMocks());

describe('phr-request', () => {
  test('search prints a table of the verified elements', async () => {
    const code = await main(
      ['search', ...flags, '--patient', w.pseudonym, '--type', 'Observation', '--code', 'http://loinc.org|8000-0'],
      deps,
    );
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain('3 elements verified against 2 delivery roots on the ledger (3 ledger reads)');
    expect(stdout).toMatch(/Observation\s+2024-01-10T08:00:00.000Z\s+http:\/\/loinc.org\|8000-0\s+Test 0\s+60 kg/);
    expect(stdout).toContain('(resource Observation/obs-0)');
  });

  test('--json prints the verified pull', async () => {
    expect(await main(['everything', ...flags, '--patient', w.pseudonym, '--json'], deps)).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'answered', deliveriesChecked: 2 });
  });

  test('a tampered answer is refused: one line on stderr, exit 1, nothing printed', async () => {
    gateway.tamper = true;
    const code = await main(['search', ...flags, '--patient', w.pseudonym, '--type', 'Observation'], deps);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^refused: element seg-0-0\.1 does not match the ledger: .*\n$/);
  });

  test('a denial says so and exits 1', async () => {
    const code = await main(['search', ...flags, '--patient', DENIED, '--type', 'Observation'], deps);
    expect(code).toBe(1);
    expect(stderr).toBe('denied: no consent covers this request\n');
  });

  test('--async keeps the answer key (0600) for a later poll, which forgets it once answered', async () => {
    expect(await main(['search', ...flags, '--patient', w.pseudonym, '--type', 'Observation', '--async'], deps)).toBe(
      0,
    );
    const requestId = /request (\S+) is pending/.exec(stdout)![1]!;
    const state = join(dir, 'state');
    expect(readdirSync(state)).toEqual([`${requestId}.json`]);
    expect(statSync(join(state, `${requestId}.json`)).mode & 0o777).toBe(0o600);
    expect(await main(['poll', requestId, ...flags, '--wait', '5'], deps)).toBe(0);
    expect(stdout).toContain(`request ${requestId}: 3 elements verified`);
    expect(readdirSync(state)).toEqual([]);
  });

  test('bad options are refused before anything is sent', async () => {
    const sent = gateway.seen.length;
    expect(await main(['search', ...flags, '--patient', 'alice', '--type', 'Observation'], deps)).toBe(1);
    expect(stderr).toContain('must be a patient pseudonym');
    expect(
      await main(['search', ...flags, '--patient', w.pseudonym, '--type', 'Observation', '--code', 'x'], deps),
    ).toBe(1);
    expect(stderr).toContain('write a code as system|code');
    expect(gateway.seen.length).toBe(sent);
  });
});
