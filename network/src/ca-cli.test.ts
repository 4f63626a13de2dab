import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as x509 from '@peculiar/x509';
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

/** Fabric CA's index form of a certificate's serial: lower-case hex without leading zeros. */
function serialOf(file: string): string {
  return new X509Certificate(readFileSync(file)).serialNumber.toLowerCase().replace(/^0+/, '');
}

function caSubjectKeyId(): string {
  return new x509.X509Certificate(readFileSync(join(home, 'ca-cert.pem'), 'utf8'))
    .getExtension(x509.SubjectKeyIdentifierExtension)
    ?.keyId.toLowerCase() as string;
}

/** The CRL in `file`: its serials (sorted), whether the CA's key verifies it, and its AKI. */
async function readCrl(file: string): Promise<{ serials: string[]; verified: boolean; aki: string | undefined }> {
  const pem = readFileSync(file, 'utf8');
  expect(pem).toMatch(/^-----BEGIN X509 CRL-----\n/);
  const crl = new x509.X509Crl(pem);
  const caCertificate = new x509.X509Certificate(readFileSync(join(home, 'ca-cert.pem'), 'utf8'));
  return {
    serials: crl.entries.map((e) => e.serialNumber.toLowerCase().replace(/^0+/, '')).sort(),
    verified: await crl.verify({ publicKey: caCertificate }),
    aki: crl.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId?.toLowerCase(),
  };
}

describe('phr-ca revoke and gencrl', () => {
  const revoked: string[] = [];

  it('revokes every certificate of an identity, prints them, writes the signed CRL; the identity cannot enroll again', async () => {
    const registered = await phrCa(
      'register',
      '--registrar-msp',
      registrarMsp(),
      '--id',
      'leaver',
      '--secret',
      'leaver-pw',
      '--type',
      'client',
    );
    expect(registered.code).toBe(EXIT.OK);
    const certificates: string[] = [];
    for (const n of [1, 2]) {
      const msp = join(dir, `leaver-${n}`);
      expect((await phrCa('enroll', '--id', 'leaver', '--secret', 'leaver-pw', '--msp-dir', msp)).code).toBe(EXIT.OK);
      certificates.push(serialOf(join(msp, 'signcerts', 'cert.pem')));
    }
    const crlFile = join(dir, 'crls', 'crl.pem');
    // the Go CLI's names for the registrar's MSP and the identity
    const result = await phrCa(
      'revoke',
      '--mspdir',
      registrarMsp(),
      '--name',
      'leaver',
      '--reason',
      'keyCompromise',
      '--crl-out',
      crlFile,
    );
    expect(result.code).toBe(EXIT.OK);
    const printed = result.out.trim().split('\n');
    expect(printed.map((line) => line.split(' ')[0]).sort()).toEqual([...certificates].sort());
    for (const line of printed) expect(line.split(' ')[1]).toBe(caSubjectKeyId());
    expect(result.err).toContain('revoked leaver and 2 certificate(s) of it');
    revoked.push(...certificates);
    const crl = await readCrl(crlFile);
    expect(crl).toEqual({ serials: [...revoked].sort(), verified: true, aki: caSubjectKeyId() });
    const again = await phrCa('enroll', '--id', 'leaver', '--secret', 'leaver-pw', '--msp-dir', join(dir, 'leaver-3'));
    expect(again.code).toBe(EXIT.REFUSED);
  });

  it('revokes one certificate by serial and AKI; the identity keeps enrolling', async () => {
    await phrCa(
      'register',
      '--registrar-msp',
      registrarMsp(),
      '--id',
      'one-cert',
      '--secret',
      'oc',
      '--type',
      'client',
    );
    const msp = join(dir, 'one-cert');
    expect((await phrCa('enroll', '--id', 'one-cert', '--secret', 'oc', '--msp-dir', msp)).code).toBe(EXIT.OK);
    const serial = serialOf(join(msp, 'signcerts', 'cert.pem'));
    const result = await phrCa(
      'revoke',
      '--registrar-msp',
      registrarMsp(),
      '--serial',
      serial.toUpperCase(),
      '--aki',
      caSubjectKeyId(),
    );
    expect(result).toMatchObject({ code: EXIT.OK, out: `${serial} ${caSubjectKeyId()}\n` });
    revoked.push(serial);
    expect((await phrCa('enroll', '--id', 'one-cert', '--secret', 'oc', '--msp-dir', join(dir, 'oc2'))).code).toBe(
      EXIT.OK,
    );
  });

  it('exits 4 for a registrar without hf.Revoker or hf.GenCRL, 6 for an unknown identity, 2 for bad usage', async () => {
    await phrCa(
      'register',
      '--registrar-msp',
      registrarMsp(),
      '--id',
      'small-registrar',
      '--secret',
      'sr',
      '--type',
      'client',
      '--attrs',
      'hf.Registrar.Roles=client',
    );
    const small = join(dir, 'small-registrar');
    expect((await phrCa('enroll', '--id', 'small-registrar', '--secret', 'sr', '--msp-dir', small)).code).toBe(EXIT.OK);
    const refused = await phrCa('revoke', '--registrar-msp', small, '--id', 'one-cert');
    expect(refused.code).toBe(EXIT.REFUSED);
    expect(refused.err).toContain('Authorization failure');
    const noCrl = await phrCa('gencrl', '--registrar-msp', small, '--crl-out', join(dir, 'nope.pem'));
    expect(noCrl.code).toBe(EXIT.REFUSED);
    expect(existsSync(join(dir, 'nope.pem'))).toBe(false);
    const unknown = await phrCa('revoke', '--registrar-msp', registrarMsp(), '--id', 'nobody');
    expect(unknown.code).toBe(EXIT.NOT_FOUND);
    expect(unknown.err).toContain('Identity nobody was not found');
    for (const argv of [
      ['gencrl', '--registrar-msp', registrarMsp()],
      ['gencrl', '--registrar-msp', registrarMsp(), '--crl-out', join(dir, 'x.pem'), '--revoked-after', 'yesterday'],
      ['revoke', '--registrar-msp', registrarMsp(), '--serial', '01'],
      ['revoke', '--registrar-msp', registrarMsp()],
      ['revoke', '--id', 'one-cert'],
      ['revoke', '--registrar-msp', registrarMsp(), '--id', 'one-cert', '--reason', 'bored'],
    ]) {
      expect(await phrCa(...argv)).toMatchObject({ code: EXIT.USAGE });
    }
  });

  it('gencrl writes a CRL of every revoked certificate, or of those in a window', async () => {
    const file = join(dir, 'crls', 'all.pem');
    const all = await phrCa('gencrl', '--registrar-msp', registrarMsp(), '--crl-out', file);
    expect(all).toMatchObject({ code: EXIT.OK, out: '' });
    expect(await readCrl(file)).toEqual({ serials: [...revoked].sort(), verified: true, aki: caSubjectKeyId() });
    const future = new Date(Date.now() + 3600_000).toISOString();
    const none = join(dir, 'crls', 'none.pem');
    expect(
      (await phrCa('gencrl', '--registrar-msp', registrarMsp(), '--crl-out', none, '--revoked-after', future)).code,
    ).toBe(EXIT.OK);
    expect((await readCrl(none)).serials).toEqual([]);
  });

  it('writes a CRL with --crl-out even when the identity had nothing left to revoke', async () => {
    const file = join(dir, 'crls', 'again.pem');
    const again = await phrCa('revoke', '--registrar-msp', registrarMsp(), '--id', 'leaver', '--crl-out', file);
    expect(again).toMatchObject({ code: EXIT.OK, out: '' });
    expect((await readCrl(file)).serials).toEqual([...revoked].sort());
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
