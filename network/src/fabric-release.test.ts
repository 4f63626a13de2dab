import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFabricReleaseCli } from './fabric-release-cli';
import {
  fabricPlatform,
  FabricReleaseError,
  installFabricRelease,
  type InstallFabricReleaseOptions,
} from './fabric-release';

const VERSION = '3.1.5';
const CA_VERSION = '1.5.21';
const PLATFORM = 'linux-amd64';
const FABRIC_ASSET = `hyperledger-fabric-${PLATFORM}-${VERSION}.tar.gz`;
const CA_ASSET = `hyperledger-fabric-ca-${PLATFORM}-${CA_VERSION}.tar.gz`;

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** One asset of a fake release: the bytes served, and what the API says about them. */
interface FakeAsset {
  name: string;
  bytes: Buffer;
  /** Defaults to "sha256:<the bytes' hash>"; null publishes no digest. */
  digest?: string | null;
  /** Answer the download with this status instead of the bytes. */
  status?: number;
  /** Send this many bytes, then nothing more. */
  stallAfter?: number;
  /** Send the bytes in 6 pieces, this many milliseconds apart. */
  drip?: number;
}

/** GitHub's releases API and its asset downloads, on loopback: the download URL redirects, as GitHub's does. */
class FakeGitHub {
  readonly releases = new Map<string, FakeAsset[]>();
  readonly requests: string[] = [];
  private server!: Server;
  base = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.answer(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  serve(repo: string, tag: string, assets: FakeAsset[]): void {
    this.releases.set(`${repo}@${tag}`, assets);
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    this.requests.push(url);
    const api = /^\/repos\/([^/]+\/[^/]+)\/releases\/tags\/([^/]+)$/.exec(url);
    if (api) {
      const assets = this.releases.get(`${api[1]}@${api[2]}`);
      if (!assets)
        return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      const body = {
        tag_name: api[2],
        assets: assets.map((a) => ({
          name: a.name,
          size: a.bytes.length,
          digest: a.digest === undefined ? `sha256:${sha256(a.bytes)}` : a.digest,
          browser_download_url: `${this.base}/${api[1]}/releases/download/${api[2]}/${a.name}`,
        })),
      };
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    }
    const download = /^\/([^/]+\/[^/]+)\/releases\/download\/([^/]+)\/([^/]+)$/.exec(url);
    if (download) {
      return void res.writeHead(302, { location: `/objects/${download[1]}/${download[2]}/${download[3]}` }).end();
    }
    const object = /^\/objects\/([^/]+\/[^/]+)\/([^/]+)\/([^/]+)$/.exec(url);
    const asset = object && this.releases.get(`${object[1]}@${object[2]}`)?.find((a) => a.name === object[3]);
    if (!asset) return void res.writeHead(404).end('Not Found');
    if (asset.status) return void res.writeHead(asset.status).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': asset.bytes.length });
    if (asset.stallAfter !== undefined) return void res.write(asset.bytes.subarray(0, asset.stallAfter));
    if (asset.drip === undefined) return void res.end(asset.bytes);
    const piece = Math.ceil(asset.bytes.length / 6);
    const next = (at: number): void => {
      if (at >= asset.bytes.length) return void res.end();
      res.write(asset.bytes.subarray(at, at + piece));
      setTimeout(() => next(at + piece), asset.drip);
    };
    next(0);
  }
}

/** A script standing in for a Fabric command: prints its name. */
function command(path: string): void {
  writeFileSync(path, `#!/bin/sh\necho "${path.split('/').pop()} fake"\n`);
  chmodSync(path, 0o755);
}

/** Release archives laid out as Fabric's and Fabric CA's release jobs lay them out (see fabric-release.ts). */
function buildArchives(root: string): { fabric: Buffer; ca: Buffer; fabricWithoutBuilders: Buffer } {
  const fabric = join(root, 'fabric-tree');
  mkdirSync(join(fabric, 'bin'), { recursive: true });
  mkdirSync(join(fabric, 'config'));
  mkdirSync(join(fabric, 'builders', 'ccaas', 'bin'), { recursive: true });
  for (const c of [
    'configtxgen',
    'configtxlator',
    'cryptogen',
    'discover',
    'ledgerutil',
    'orderer',
    'osnadmin',
    'peer',
  ])
    command(join(fabric, 'bin', c));
  for (const c of ['detect', 'build', 'release']) command(join(fabric, 'builders', 'ccaas', 'bin', c));
  for (const f of ['core.yaml', 'orderer.yaml', 'configtx.yaml']) writeFileSync(join(fabric, 'config', f), `# ${f}\n`);
  // ci/scripts/create_binary_package.sh: tar -czvf "hyperledger-fabric-${TARGET}-${VERSION}.tar.gz" bin config builders
  execFileSync('tar', ['-czf', join(root, 'fabric.tar.gz'), '-C', fabric, 'bin', 'config', 'builders']);
  execFileSync('tar', ['-czf', join(root, 'fabric-v2.tar.gz'), '-C', fabric, 'bin', 'config']);

  const ca = join(root, 'ca-tree');
  mkdirSync(join(ca, 'bin'), { recursive: true });
  for (const c of ['fabric-ca-client', 'fabric-ca-server']) command(join(ca, 'bin', c));
  // fabric-ca Makefile dist/%: cd release/$(PLATFORM) && tar -czvf hyperledger-fabric-ca-$(PLATFORM)-$(RELEASE_VERSION).tar.gz *
  execFileSync('tar', ['-czf', join(root, 'ca.tar.gz'), '-C', ca, 'bin']);
  return {
    fabric: readFileSync(join(root, 'fabric.tar.gz')),
    ca: readFileSync(join(root, 'ca.tar.gz')),
    fabricWithoutBuilders: readFileSync(join(root, 'fabric-v2.tar.gz')),
  };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

async function failure(p: Promise<unknown>): Promise<FabricReleaseError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof FabricReleaseError) return err;
    throw err;
  }
  throw new Error('expected the install to fail');
}

describe('installFabricRelease', () => {
  let work: string;
  let archives: ReturnType<typeof buildArchives>;
  let github: FakeGitHub;
  let dest: string;
  let lines: string[];

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'phr-fabric-release-'));
    archives = buildArchives(work);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  beforeEach(async () => {
    github = new FakeGitHub();
    await github.start();
    github.serve('hyperledger/fabric', `v${VERSION}`, [
      { name: `hyperledger-fabric-darwin-arm64-${VERSION}.tar.gz`, bytes: Buffer.from('not this one') },
      { name: FABRIC_ASSET, bytes: archives.fabric },
    ]);
    github.serve('hyperledger/fabric-ca', `v${CA_VERSION}`, [{ name: CA_ASSET, bytes: archives.ca }]);
    dest = join(mkdtempSync(join(work, 'case-')), 'fabric');
    lines = [];
  });
  afterEach(() => github.stop());

  const install = (extra: Partial<InstallFabricReleaseOptions> = {}) =>
    installFabricRelease({
      version: VERSION,
      caVersion: CA_VERSION,
      dest,
      platform: 'linux',
      arch: 'x64',
      apiBase: github.base,
      log: (l) => lines.push(l),
      ...extra,
    });

  /** Replaces one served asset of a release. */
  const change = (repo: string, tag: string, name: string, edit: Partial<FakeAsset>): void => {
    const assets = github.releases.get(`${repo}@${tag}`)!;
    github.serve(
      repo,
      tag,
      assets.map((a) => (a.name === name ? { ...a, ...edit } : a)),
    );
  };

  it('installs both archives as bin/, bin/ccaas/ and config/, verified and executable', async () => {
    const result = await install();

    expect(result.bin).toBe(join(dest, 'bin'));
    expect(result.config).toBe(join(dest, 'config'));
    expect(result.platform).toBe(PLATFORM);
    expect(result.assets.map((a) => [a.repo, a.tag, a.name, a.sha256])).toEqual([
      ['hyperledger/fabric', 'v3.1.5', FABRIC_ASSET, sha256(archives.fabric)],
      ['hyperledger/fabric-ca', 'v1.5.21', CA_ASSET, sha256(archives.ca)],
    ]);
    expect(readdirSync(dest).sort()).toEqual(['bin', 'config']);
    for (const c of [
      'peer',
      'orderer',
      'osnadmin',
      'configtxgen',
      'configtxlator',
      'fabric-ca-server',
      'fabric-ca-client',
    ]) {
      const st = lstatSync(join(dest, 'bin', c));
      expect(st.isFile() && (st.mode & 0o111) === 0o111).toBe(true);
    }
    for (const c of ['detect', 'build', 'release']) {
      expect(lstatSync(join(dest, 'bin', 'ccaas', c)).mode & 0o111).toBe(0o111);
    }
    expect(execFileSync(join(dest, 'bin', 'peer'), { encoding: 'utf8' })).toBe('peer fake\n');
    expect(execFileSync(join(dest, 'bin', 'ccaas', 'release'), { encoding: 'utf8' })).toBe('release fake\n');
    expect(readdirSync(join(dest, 'config')).sort()).toEqual(['configtx.yaml', 'core.yaml', 'orderer.yaml']);
    expect(readFileSync(join(dest, 'config', 'core.yaml'), 'utf8')).toBe('# core.yaml\n');
    // The GitHub download URL was followed through its redirect; the other platform's archive was not fetched.
    expect(github.requests).toContain(`/objects/hyperledger/fabric/v3.1.5/${FABRIC_ASSET}`);
    expect(github.requests.some((u) => u.includes('darwin'))).toBe(false);
    expect(lines).toContain(`verified ${FABRIC_ASSET}: sha256 ${sha256(archives.fabric)}`);
  });

  it('refuses an archive whose bytes differ from the published digest, leaving nothing in dest', async () => {
    change('hyperledger/fabric-ca', `v${CA_VERSION}`, CA_ASSET, { digest: `sha256:${sha256(Buffer.from('other'))}` });

    const err = await failure(install());

    expect(err.code).toBe('CHECKSUM_MISMATCH');
    expect(err.name).toBe('FabricReleaseError');
    expect(err.message).toContain(`checksum mismatch for ${CA_ASSET}`);
    expect(existsSync(dest) ? readdirSync(dest) : []).toEqual([]);
  });

  it('on a failed reinstall keeps the previous install as it was and removes its staging folder', async () => {
    await install();
    const before = readFileSync(join(dest, 'bin', 'peer'), 'utf8');
    change('hyperledger/fabric', `v${VERSION}`, FABRIC_ASSET, {
      bytes: archives.fabricWithoutBuilders,
      digest: `sha256:${'0'.repeat(64)}`,
    });

    expect((await failure(install())).code).toBe('CHECKSUM_MISMATCH');

    expect(readdirSync(dest).sort()).toEqual(['bin', 'config']);
    expect(readFileSync(join(dest, 'bin', 'peer'), 'utf8')).toBe(before);
    expect(readdirSync(join(dest, 'bin', 'ccaas')).sort()).toEqual(['build', 'detect', 'release']);
  });

  it('refuses an archive the release publishes no digest for, before downloading anything', async () => {
    change('hyperledger/fabric-ca', `v${CA_VERSION}`, CA_ASSET, { digest: null });

    const err = await failure(install());

    expect(err.code).toBe('CHECKSUM_MISSING');
    expect(err.message).toMatch(/publishes no sha256 digest for hyperledger-fabric-ca-linux-amd64-1\.5\.21\.tar\.gz/);
    expect(github.requests.filter((u) => u.includes('/releases/download/'))).toEqual([]);
    expect(existsSync(dest)).toBe(false);
  });

  it('treats a digest of another algorithm as missing', async () => {
    change('hyperledger/fabric', `v${VERSION}`, FABRIC_ASSET, { digest: `sha512:${'a'.repeat(128)}` });
    expect((await failure(install())).code).toBe('CHECKSUM_MISSING');
  });

  it('fails fast with RELEASE_UNREACHABLE when nothing listens', async () => {
    const port = await closedPort();
    const started = Date.now();

    const err = await failure(install({ apiBase: `http://127.0.0.1:${port}` }));

    expect(err.code).toBe('RELEASE_UNREACHABLE');
    expect(err.message).toBe(`release archive unreachable: connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(err.cause).toBeDefined();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(existsSync(dest)).toBe(false);
  });

  it('gives up on an API that accepts the connection but never answers, within the deadline', async () => {
    const sockets: Socket[] = [];
    const silent: TcpServer = createTcpServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as AddressInfo;
    try {
      const started = Date.now();
      const err = await failure(install({ apiBase: `http://127.0.0.1:${port}`, timeoutMs: 300 }));
      expect(err.code).toBe('RELEASE_UNREACHABLE');
      expect(err.message).toBe(`release archive unreachable: no answer from 127.0.0.1:${port} within 0.3 s`);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((r) => silent.close(r));
    }
  });

  it('gives up on a download that stops sending, and leaves nothing behind', async () => {
    change('hyperledger/fabric', `v${VERSION}`, FABRIC_ASSET, { stallAfter: 100 });

    const err = await failure(install({ stallTimeoutMs: 300 }));

    expect(err.code).toBe('RELEASE_UNREACHABLE');
    expect(err.message).toMatch(/stalled: nothing arrived for 0\.3 s$/);
    expect(existsSync(dest)).toBe(false);
  });

  it('lets a slow download run past the answer and stall deadlines while bytes keep arriving', async () => {
    change('hyperledger/fabric', `v${VERSION}`, FABRIC_ASSET, { drip: 150 });
    const started = Date.now();

    await install({ timeoutMs: 400, stallTimeoutMs: 400 });

    expect(Date.now() - started).toBeGreaterThan(700);
    expect(readdirSync(join(dest, 'bin', 'ccaas')).sort()).toEqual(['build', 'detect', 'release']);
  });

  it('reports a 404 archive as RELEASE_NOT_FOUND', async () => {
    change('hyperledger/fabric', `v${VERSION}`, FABRIC_ASSET, { status: 404 });

    const err = await failure(install());

    expect(err.code).toBe('RELEASE_NOT_FOUND');
    expect(err.message).toBe(
      `release archive not found: ${github.base}/hyperledger/fabric/releases/download/v3.1.5/${FABRIC_ASSET} answered 404`,
    );
    expect(existsSync(dest)).toBe(false);
  });

  it('reports an unknown release, and a release without this platform, as RELEASE_NOT_FOUND', async () => {
    let err = await failure(install({ version: '9.9.9' }));
    expect(err.code).toBe('RELEASE_NOT_FOUND');
    expect(err.message).toMatch(/^release v9\.9\.9 of hyperledger\/fabric not found/);

    err = await failure(install({ platform: 'darwin', arch: 'x64' }));
    expect(err.code).toBe('RELEASE_NOT_FOUND');
    expect(err.message).toBe(
      `release v3.1.5 of hyperledger/fabric has no hyperledger-fabric-darwin-amd64-3.1.5.tar.gz`,
    );
  });

  it('refuses a verified archive that does not extract', async () => {
    // Published digest and bytes agree: the corruption happened before publishing, tar is what notices it.
    const corrupt = Buffer.from(archives.ca);
    corrupt.fill(0x5a, 12, corrupt.length - 8);
    change('hyperledger/fabric-ca', `v${CA_VERSION}`, CA_ASSET, { bytes: corrupt });

    const err = await failure(install());

    expect(err.code).toBe('ARCHIVE_INVALID');
    expect(err.message).toMatch(new RegExp(`^${CA_ASSET.replace(/\./g, '\\.')} does not extract: `));
    expect(existsSync(dest)).toBe(false);
  });

  it('refuses an archive without the chaincode-as-a-service builder', async () => {
    change('hyperledger/fabric', `v${VERSION}`, FABRIC_ASSET, { bytes: archives.fabricWithoutBuilders });

    const err = await failure(install());

    expect(err.code).toBe('ARCHIVE_INVALID');
    expect(err.message).toBe(
      `${FABRIC_ASSET} lacks builders/ccaas/bin/detect, builders/ccaas/bin/build, builders/ccaas/bin/release`,
    );
  });

  it('replaces a partial install (some commands, config a link) and removes folders of killed installs', async () => {
    const sampleconfig = join(work, 'sampleconfig-' + Date.now());
    mkdirSync(sampleconfig);
    writeFileSync(join(sampleconfig, 'core.yaml'), 'module cache copy\n');
    mkdirSync(join(dest, 'bin'), { recursive: true });
    writeFileSync(join(dest, 'bin', 'peer'), 'half-installed');
    symlinkSync(sampleconfig, join(dest, 'config'));
    mkdirSync(join(dest, '.fabric-release-999999999-abcdef', 'fabric'), { recursive: true });
    writeFileSync(join(dest, 'install.log'), 'kept');

    await install();

    expect(readdirSync(dest).sort()).toEqual(['bin', 'config', 'install.log']);
    expect(readFileSync(join(dest, 'bin', 'peer'), 'utf8')).toContain('peer fake');
    expect(lstatSync(join(dest, 'config')).isDirectory()).toBe(true);
    expect(readFileSync(join(sampleconfig, 'core.yaml'), 'utf8')).toBe('module cache copy\n');
  });

  it('stops when its signal fires, leaving nothing', async () => {
    change('hyperledger/fabric', `v${VERSION}`, FABRIC_ASSET, { stallAfter: 100 });
    const controller = new AbortController();
    const pending = install({
      signal: controller.signal,
      log: (l) => l.startsWith('downloading') && controller.abort(),
    });

    const err = await failure(pending);

    expect(err.code).toBe('INTERRUPTED');
    expect(existsSync(dest)).toBe(false);
  });

  it.each([
    ['win32', 'x64'],
    ['linux', 'ia32'],
    ['freebsd', 'arm64'],
  ])('refuses %s/%s as UNSUPPORTED_PLATFORM without any request', async (platform, arch) => {
    const err = await failure(install({ platform, arch }));
    expect(err.code).toBe('UNSUPPORTED_PLATFORM');
    expect(err.message).toContain(`${platform}/${arch}`);
    expect(github.requests).toEqual([]);
  });

  it("maps Node's platform names to Fabric's", () => {
    expect(fabricPlatform('linux', 'x64')).toBe('linux-amd64');
    expect(fabricPlatform('linux', 'arm64')).toBe('linux-arm64');
    expect(fabricPlatform('darwin', 'x64')).toBe('darwin-amd64');
    expect(fabricPlatform('darwin', 'arm64')).toBe('darwin-arm64');
  });

  it('accepts versions with a leading v and refuses ones that are not versions', async () => {
    await install({ version: 'v3.1.5', caVersion: 'v1.5.21' });
    expect(readdirSync(dest).sort()).toEqual(['bin', 'config']);
    expect((await failure(install({ version: '3.1.5/../../x' }))).code).toBe('INVALID_VERSION');
  });

  describe('phr-fabric-release', () => {
    // The CLI installs for the machine it runs on.
    const host = fabricPlatform();

    const run = async (argv: string[], env: NodeJS.ProcessEnv = {}) => {
      let stdout = '';
      let stderr = '';
      const code = await runFabricReleaseCli(argv, {
        stdout: (t) => (stdout += t),
        stderr: (t) => (stderr += t),
        env,
      });
      return { code, stdout, stderr };
    };

    beforeEach(() => {
      github.serve('hyperledger/fabric', `v${VERSION}`, [
        { name: `hyperledger-fabric-${host}-${VERSION}.tar.gz`, bytes: archives.fabric },
      ]);
      github.serve('hyperledger/fabric-ca', `v${CA_VERSION}`, [
        { name: `hyperledger-fabric-ca-${host}-${CA_VERSION}.tar.gz`, bytes: archives.ca },
      ]);
    });

    it('installs, printing bin on stdout and progress on stderr, and exits 0', async () => {
      const r = await run(['install', '--version', VERSION, '--ca-version', `v${CA_VERSION}`, '--dest', dest], {
        PHR_FABRIC_RELEASE_API: github.base,
      });

      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${join(dest, 'bin')}\n`);
      expect(r.stderr).toMatch(/^ {4}downloading hyperledger-fabric-/m);
      expect(r.stderr).toMatch(/^ {4}verified hyperledger-fabric-ca-/m);
      expect(existsSync(join(dest, 'bin', 'ccaas', 'detect'))).toBe(true);
    });

    it('exits 1 with the reason as its last line', async () => {
      const port = await closedPort();
      const r = await run(
        [
          'install',
          '--version',
          VERSION,
          '--ca-version',
          CA_VERSION,
          '--dest',
          dest,
          '--api-base',
          `http://127.0.0.1:${port}`,
        ],
        { PHR_FABRIC_RELEASE_API: github.base },
      );

      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`release archive unreachable: connect ECONNREFUSED 127.0.0.1:${port}\n`);
    });

    it('exits 2 with the usage on a malformed command line', async () => {
      for (const argv of [
        [],
        ['install', '--version', VERSION],
        ['fetch', '--version', '1', '--ca-version', '1', '--dest', dest],
        ['--bogus'],
      ]) {
        const r = await run(argv);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain('usage: phr-fabric-release install');
      }
      expect(github.requests).toEqual([]);
    });
  });
});
