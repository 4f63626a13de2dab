import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EXIT, run } from './ca-cli';

/** The embedded CA's process entry, as `ca.sh` runs it (built by `tsc -b` before the unit tests). */
const CA_MAIN = join(__dirname, '..', 'embedded', 'dist', 'ca', 'main.js');
const CA_NAME = 'ca-test';
const ADMIN_SECRET = 'bootstrap-secret-123';

interface RunningCa {
  process: ChildProcess;
  port: number;
  logs: string[];
  exited: Promise<number | null>;
}

function startCa(home: string): Promise<RunningCa> {
  const child = spawn(
    process.execPath,
    [
      CA_MAIN,
      '--home',
      home,
      '--address',
      '127.0.0.1',
      '--port',
      '0',
      '--ca-name',
      CA_NAME,
      '--csr-cn',
      'ca.test',
      '--csr-hosts',
      '127.0.0.1,localhost',
      '--operations-address',
      '127.0.0.1:0',
      '--bootstrap',
      `admin:${ADMIN_SECRET}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the CA did not start:\n${logs.join('\n')}`)), 15_000);
    child.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      logs.push(line);
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg === 'listening' && entry.port) {
        clearTimeout(timer);
        resolve({ process: child, port: entry.port, logs, exited });
      }
    });
    void exited.then((code) => reject(new Error(`the CA exited with ${code}:\n${logs.join('\n')}`)));
  });
}

let dir: string;
let home: string;
let ca: RunningCa;

async function phrCa(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const common = [
    '--url',
    `https://127.0.0.1:${ca.port}`,
    '--ca-name',
    CA_NAME,
    '--tls-cert',
    join(home, 'ca-cert.pem'),
  ];
  const code = await run(
    [...argv, ...common],
    (t) => (out += t),
    (t) => (err += t),
  );
  return { code, out, err };
}

const registrarMsp = () => join(dir, 'registrar', 'msp');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'phr-ca-cli-'));
  home = join(dir, 'ca');
  ca = await startCa(home);
  const enrolled = await phrCa('enroll', '--id', 'admin', '--secret', ADMIN_SECRET, '--msp-dir', registrarMsp());
  expect(enrolled).toMatchObject({ code: EXIT.OK, out: '' });
}, 30_000);

afterAll(async () => {
  ca?.process.kill('SIGKILL');
  await ca?.exited;
  rmSync(dir, { recursive: true, force: true });
});

describe('phr-ca enroll', () => {
  it("writes the Go CLI's MSP layout: signcerts/cert.pem, keystore/<SKI>_sk (PKCS#8, 0600), cacerts/<host-port-ca>.pem", () => {
    const msp = registrarMsp();
    const certificate = new X509Certificate(readFileSync(join(msp, 'signcerts', 'cert.pem')));
    expect(certificate.subject).toBe('C=US\nST=North Carolina\nO=Hyperledger\nOU=client\nCN=admin');
    expect(certificate.subjectAltName).toBe(`DNS:${hostname()}`);
    const [keyFile, ...others] = readdirSync(join(msp, 'keystore'));
    expect(others).toEqual([]);
    const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
    expect(keyFile).toBe(
      `${createHash('sha256')
        .update(spki.subarray(spki.length - 65))
        .digest('hex')}_sk`,
    );
    const keyPath = join(msp, 'keystore', keyFile as string);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyPath, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const caFile = join(msp, 'cacerts', `127-0-0-1-${ca.port}-${CA_NAME}.pem`);
    expect(readFileSync(caFile, 'utf8')).toBe(readFileSync(join(home, 'ca-cert.pem'), 'utf8'));
  });

  it('enrolls a registered identity with hosts as SANs, its attributes, and a TLS certificate under tlscacerts', async () => {
    const registered = await phrCa(
      'register',
      '--registrar-msp',
      registrarMsp(),
      '--id',
      'peer0',
      '--secret',
      'peer0-secret',
      '--type',
      'peer',
      '--attrs',
      'phr.role=admin:ecert,hidden=x',
    );
    expect(registered).toMatchObject({ code: EXIT.OK, out: '' });
    const msp = join(dir, 'peer0', 'msp');
    const tls = join(dir, 'peer0', 'tls-msp');
    const hosts = ['--hosts', 'peer0.hospital1,localhost,127.0.0.1'];
    expect((await phrCa('enroll', '--id', 'peer0', '--secret', 'peer0-secret', '--msp-dir', msp, ...hosts)).code).toBe(
      0,
    );
    expect(
      (
        await phrCa(
          'enroll',
          '--id',
          'peer0',
          '--secret',
          'peer0-secret',
          '--msp-dir',
          tls,
          '--profile',
          'tls',
          ...hosts,
        )
      ).code,
    ).toBe(0);
    const ecert = new X509Certificate(readFileSync(join(msp, 'signcerts', 'cert.pem')));
    expect(ecert.subject).toContain('OU=peer\nCN=peer0');
    expect(ecert.subjectAltName).toBe('DNS:peer0.hospital1, DNS:localhost, IP Address:127.0.0.1');
    expect(ecert.keyUsage).toBeUndefined();
    const attrs = /\{"attrs":\{[^}]*\}\}/.exec(ecert.raw.toString('latin1'))?.[0];
    expect(attrs).toBe('{"attrs":{"hf.Affiliation":"","hf.EnrollmentID":"peer0","hf.Type":"peer","phr.role":"admin"}}');
    const tlsCert = new X509Certificate(readFileSync(join(tls, 'signcerts', 'cert.pem')));
    expect(tlsCert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(existsSync(join(tls, 'tlscacerts', `tls-127-0-0-1-${ca.port}-${CA_NAME}.pem`))).toBe(true);
    expect(existsSync(join(tls, 'cacerts'))).toBe(false);
    expect(readdirSync(join(tls, 'keystore'))).toHaveLength(1);
  });

  it('exits 4 for a wrong secret, 5 when the CA cannot be reached, 2 for bad usage', async () => {
    const wrong = await phrCa('enroll', '--id', 'peer0', '--secret', 'nope', '--msp-dir', join(dir, 'x'));
    expect(wrong.code).toBe(EXIT.REFUSED);
    expect(wrong.err).toContain('Authentication failure');
    expect(wrong.err).not.toContain('nope');
    let err = '';
    const unreachable = await run(
      [
        'enroll',
        '--url',
        'https://127.0.0.1:1',
        '--ca-name',
        CA_NAME,
        '--tls-cert',
        join(home, 'ca-cert.pem'),
        '--id',
        'a',
        '--secret',
        's',
        '--msp-dir',
        join(dir, 'y'),
      ],
      () => undefined,
      (t) => (err += t),
    );
    expect(unreachable).toBe(EXIT.UNREACHABLE);
    expect(err).toContain('cannot be reached');
    expect(
      await run(
        ['enroll'],
        () => undefined,
        () => undefined,
      ),
    ).toBe(EXIT.USAGE);
    expect(
      await run(
        ['frobnicate', '--url', 'https://a:1'],
        () => undefined,
        () => undefined,
      ),
    ).toBe(EXIT.USAGE);
    const badAttrs = await phrCa(
      'register',
      '--registrar-msp',
      registrarMsp(),
      '--id',
      'q',
      '--type',
      'client',
      '--attrs',
      'noequals',
    );
    expect(badAttrs.code).toBe(EXIT.USAGE);
  });
});

describe('phr-ca register', () => {
  it('prints the secret only when the CA generated it', async () => {
    const generated = await phrCa('register', '--registrar-msp', registrarMsp(), '--id', 'gen1', '--type', 'client');
    expect(generated.code).toBe(EXIT.OK);
    const secret = generated.out.trim();
    expect(secret).toMatch(/^[A-Za-z]{12}$/);
    expect((await phrCa('enroll', '--id', 'gen1', '--secret', secret, '--msp-dir', join(dir, 'gen1'))).code).toBe(
      EXIT.OK,
    );
  });

  it('exits 3 with "is already registered" for a duplicate', async () => {
    const again = await phrCa(
      'register',
      '--registrar-msp',
      registrarMsp(),
      '--id',
      'peer0',
      '--secret',
      's',
      '--type',
      'peer',
    );
    expect(again.code).toBe(EXIT.ALREADY_REGISTERED);
    expect(again.err).toContain("Identity 'peer0' is already registered");
  });

  it('honours --max-enrollments 1: the second enrollment is refused (exit 4)', async () => {
    const reg = await phrCa(
      'register',
      '--registrar-msp',
      registrarMsp(),
      '--id',
      'patient-1',
      '--secret',
      'once',
      '--type',
      'client',
      '--max-enrollments',
      '1',
      '--attrs',
      'phr.role=patient:ecert',
    );
    expect(reg.code).toBe(EXIT.OK);
    expect((await phrCa('enroll', '--id', 'patient-1', '--secret', 'once', '--msp-dir', join(dir, 'p1a'))).code).toBe(
      EXIT.OK,
    );
    expect((await phrCa('enroll', '--id', 'patient-1', '--secret', 'once', '--msp-dir', join(dir, 'p1b'))).code).toBe(
      EXIT.REFUSED,
    );
  });
});

describe('the embedded CA process', () => {
  it('keeps registrations and enrollment counts across kill -9, and stops cleanly on SIGTERM', async () => {
    const before = ca.logs;
    ca.process.kill('SIGKILL');
    await ca.exited;
    ca = await startCa(home);
    expect(
      (await phrCa('register', '--registrar-msp', registrarMsp(), '--id', 'peer0', '--secret', 's', '--type', 'peer'))
        .code,
    ).toBe(EXIT.ALREADY_REGISTERED);
    expect((await phrCa('enroll', '--id', 'patient-1', '--secret', 'once', '--msp-dir', join(dir, 'p1c'))).code).toBe(
      EXIT.REFUSED,
    );
    expect(
      (await phrCa('enroll', '--id', 'peer0', '--secret', 'peer0-secret', '--msp-dir', join(dir, 'p0b'))).code,
    ).toBe(EXIT.OK);
    ca.process.kill('SIGTERM');
    expect(await ca.exited).toBe(0);
    const logs = [...before, ...ca.logs].join('\n');
    expect(logs).toContain('"msg":"stopped"');
    expect(logs).toContain('"msg":"enrolled"');
    for (const secret of [ADMIN_SECRET, 'peer0-secret', 'once']) expect(logs).not.toContain(secret);
    expect(logs).not.toContain('BEGIN CERTIFICATE');
  }, 30_000);
});
