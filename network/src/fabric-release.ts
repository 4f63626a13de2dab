import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * Installs Hyperledger Fabric and Fabric CA from their official GitHub release archives, the same archives
 * fabric-samples' install-fabric.sh downloads, refusing any archive whose SHA-256 differs from the digest
 * GitHub publishes for it in the releases API (or that has no published digest).
 *
 * The release archives, as Fabric's and Fabric CA's release jobs build them:
 *   hyperledger-fabric-<os>-<arch>-<version>.tar.gz      bin/ config/ builders/ccaas/bin/
 *   hyperledger-fabric-ca-<os>-<arch>-<version>.tar.gz   bin/
 * They are arranged in `dest` as bin/<commands>, bin/ccaas/{detect,build,release} and config/*.yaml.
 */

/** What went wrong, for callers that react differently (the CLI prints only the message). */
export type FabricReleaseErrorCode =
  /** Not a platform Fabric publishes binaries for (linux or darwin, amd64 or arm64). */
  | 'UNSUPPORTED_PLATFORM'
  /** A version that is not MAJOR.MINOR.PATCH[-PRERELEASE]. */
  | 'INVALID_VERSION'
  /** The releases API or an archive's host could not be reached, answered with an error, or took too long. */
  | 'RELEASE_UNREACHABLE'
  /** No such release, no archive for this platform in it, or the archive's URL answers 404. */
  | 'RELEASE_NOT_FOUND'
  /** The release lists the archive without a SHA-256 digest: it cannot be verified, so it is not installed. */
  | 'CHECKSUM_MISSING'
  /** The downloaded bytes are not the ones whose digest the release publishes. */
  | 'CHECKSUM_MISMATCH'
  /** The verified archive does not extract, or lacks a command or config file Fabric's layout has. */
  | 'ARCHIVE_INVALID'
  /** The local side failed: `dest` not writable, no `tar` command, a rename refused. */
  | 'INSTALL_FAILED'
  /** The caller's AbortSignal fired. */
  | 'INTERRUPTED';

export class FabricReleaseError extends Error {
  override readonly name = 'FabricReleaseError';
  readonly code: FabricReleaseErrorCode;

  constructor(code: FabricReleaseErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Fabric's peer, orderer and tools, from the fabric archive's bin/. */
export const FABRIC_RELEASE_COMMANDS = ['peer', 'orderer', 'osnadmin', 'configtxgen', 'configtxlator'] as const;
/** The chaincode-as-a-service external builder, from the fabric archive's builders/ccaas/bin/. */
export const CCAAS_BUILDER_COMMANDS = ['detect', 'build', 'release'] as const;
/** Fabric CA's commands, from the fabric-ca archive's bin/. */
export const FABRIC_CA_COMMANDS = ['fabric-ca-server', 'fabric-ca-client'] as const;
/** Fabric's stock configuration, from the fabric archive's config/ (a copy of sampleconfig/*.yaml). */
export const FABRIC_CONFIG_FILES = ['core.yaml', 'orderer.yaml', 'configtx.yaml'] as const;

export const DEFAULT_RELEASE_API = 'https://api.github.com';

export interface InstallFabricReleaseOptions {
  /** Fabric version, e.g. "3.1.5" (a leading "v" is accepted). */
  version: string;
  /** Fabric CA version, e.g. "1.5.21" (a leading "v" is accepted). */
  caVersion: string;
  /** Where to arrange bin/ and config/; created if missing. An existing bin/ and config/ are replaced. */
  dest: string;
  /** Node's platform name; defaults to process.platform. */
  platform?: string;
  /** Node's architecture name; defaults to process.arch. */
  arch?: string;
  /** The GitHub REST API root (default https://api.github.com). */
  apiBase?: string;
  /** Deadline to connect and receive each answer's headers, and for the whole releases API answer. Default 10 s. */
  timeoutMs?: number;
  /** Deadline for each archive's body as a whole. Default 15 min. */
  bodyTimeoutMs?: number;
  /** Give up on an archive when no byte has arrived for this long. Default 60 s. */
  stallTimeoutMs?: number;
  /** Receives one line per step (no trailing newline). */
  log?: (line: string) => void;
  /** Stops the install; what was staged is removed and INTERRUPTED is thrown. */
  signal?: AbortSignal;
}

export interface InstalledAsset {
  repo: string;
  tag: string;
  name: string;
  url: string;
  sha256: string;
  size: number;
}

export interface InstalledFabricRelease {
  /** dest/bin: Fabric's and Fabric CA's commands, and ccaas/{detect,build,release}. */
  bin: string;
  /** dest/config: core.yaml, orderer.yaml, configtx.yaml. */
  config: string;
  platform: string;
  assets: InstalledAsset[];
}

/** Fabric's name for the host, e.g. "linux-amd64".
 * @throws {FabricReleaseError} UNSUPPORTED_PLATFORM when Fabric publishes no binaries for it. */
export function fabricPlatform(platform: string = process.platform, arch: string = process.arch): string {
  const os = ({ linux: 'linux', darwin: 'darwin' } as Record<string, string>)[platform];
  const cpu = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[arch];
  if (!os || !cpu) {
    throw new FabricReleaseError(
      'UNSUPPORTED_PLATFORM',
      `Fabric publishes no release binaries for ${platform}/${arch} (only linux and darwin on x64 or arm64); set FABRIC_BIN to Fabric binaries built for this machine`,
    );
  }
  return `${os}-${cpu}`;
}

/** The archive names fabric-samples' install-fabric.sh downloads. */
export function fabricReleaseAssets(
  version: string,
  caVersion: string,
  platform: string,
): { fabric: ReleaseRef; ca: ReleaseRef } {
  const v = plainVersion(version, 'Fabric');
  const ca = plainVersion(caVersion, 'Fabric CA');
  return {
    fabric: { repo: 'hyperledger/fabric', tag: `v${v}`, name: `hyperledger-fabric-${platform}-${v}.tar.gz` },
    ca: { repo: 'hyperledger/fabric-ca', tag: `v${ca}`, name: `hyperledger-fabric-ca-${platform}-${ca}.tar.gz` },
  };
}

export interface ReleaseRef {
  repo: string;
  tag: string;
  name: string;
}

/**
 * Downloads Fabric's and Fabric CA's release archives for this platform, verifies each against the SHA-256
 * digest GitHub publishes for it, extracts them with the system `tar` into a staging folder inside `dest`, and
 * moves config/ then bin/ into place by rename. Until the final rename nothing in `dest` changes; a failed or
 * interrupted install removes its staging folder (one left by a killed process is removed by the next install).
 *
 * @throws {FabricReleaseError} UNSUPPORTED_PLATFORM, INVALID_VERSION before any network call;
 *   RELEASE_UNREACHABLE, RELEASE_NOT_FOUND, CHECKSUM_MISSING before any download;
 *   CHECKSUM_MISMATCH, ARCHIVE_INVALID, INSTALL_FAILED, INTERRUPTED with `dest` as it was.
 */
export async function installFabricRelease(options: InstallFabricReleaseOptions): Promise<InstalledFabricRelease> {
  const platform = fabricPlatform(options.platform, options.arch);
  const refs = fabricReleaseAssets(options.version, options.caVersion, platform);
  const http: HttpOptions = {
    timeoutMs: options.timeoutMs ?? 10_000,
    bodyTimeoutMs: options.bodyTimeoutMs ?? 15 * 60_000,
    stallTimeoutMs: options.stallTimeoutMs ?? 60_000,
    signal: options.signal,
  };
  const log = options.log ?? (() => undefined);
  const apiBase = (options.apiBase ?? DEFAULT_RELEASE_API).replace(/\/+$/, '');
  const dest = resolve(options.dest);

  await checkTar(options.signal);
  // Both releases are looked up first, so a missing digest is found before anything is downloaded.
  const fabricAsset = await findAsset(apiBase, refs.fabric, http);
  const caAsset = await findAsset(apiBase, refs.ca, http);

  const created = await local(`cannot create ${dest}`, () => mkdir(dest, { recursive: true }));
  await removeAbandonedStaging(dest, log);
  const staging = await local(`cannot write in ${dest}`, () => mkdtemp(join(dest, `${STAGING_PREFIX}${process.pid}-`)));
  let installed = false;
  try {
    for (const [asset, dir] of [
      [fabricAsset, 'fabric'],
      [caAsset, 'ca'],
    ] as const) {
      const archive = join(staging, asset.name);
      await download(asset, archive, http, log);
      await extract(archive, join(staging, dir), asset.name, options.signal);
    }
    const fabric = join(staging, 'fabric');
    const ca = join(staging, 'ca');
    await requireLayout(fabricAsset.name, fabric, [
      ...FABRIC_RELEASE_COMMANDS.map((c) => `bin/${c}`),
      ...CCAAS_BUILDER_COMMANDS.map((c) => `builders/ccaas/bin/${c}`),
      ...FABRIC_CONFIG_FILES.map((f) => `config/${f}`),
    ]);
    await requireLayout(
      caAsset.name,
      ca,
      FABRIC_CA_COMMANDS.map((c) => `bin/${c}`),
    );

    // Arrange the new tree inside the staging folder, then rename it into dest: config first, bin last,
    // so a complete bin/ (what callers check) always comes with its config/.
    const bin = join(fabric, 'bin');
    await local('cannot arrange the extracted archives', async () => {
      for (const c of FABRIC_CA_COMMANDS) await rename(join(ca, 'bin', c), join(bin, c));
      await rename(join(fabric, 'builders', 'ccaas', 'bin'), join(bin, 'ccaas'));
      for (const c of [...FABRIC_RELEASE_COMMANDS, ...FABRIC_CA_COMMANDS]) await chmod(join(bin, c), 0o755);
      for (const c of CCAAS_BUILDER_COMMANDS) await chmod(join(bin, 'ccaas', c), 0o755);
    });
    throwIfAborted(options.signal);
    await replace(join(fabric, 'config'), join(dest, 'config'), staging);
    await replace(bin, join(dest, 'bin'), staging);
    log(`Fabric ${refs.fabric.tag} and Fabric CA ${refs.ca.tag} (${platform}) installed in ${dest}`);
    installed = true;
    return {
      bin: join(dest, 'bin'),
      config: join(dest, 'config'),
      platform,
      assets: [fabricAsset, caAsset],
    };
  } finally {
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    // Leave dest as it was found: an empty dest this call created goes too.
    if (!installed && created) await rmdir(dest).catch(() => undefined);
  }
}

// ---------------------------------------------------------------- versions

const VERSION = /^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/;

function plainVersion(version: string, what: string): string {
  const m = VERSION.exec(version.trim());
  if (!m?.[1]) throw new FabricReleaseError('INVALID_VERSION', `${what} version "${version}" is not MAJOR.MINOR.PATCH`);
  return m[1];
}

// ---------------------------------------------------------------- releases API

interface HttpOptions {
  timeoutMs: number;
  bodyTimeoutMs: number;
  stallTimeoutMs: number;
  signal: AbortSignal | undefined;
}

const SHA256_DIGEST = /^sha256:([0-9a-f]{64})$/i;

async function findAsset(apiBase: string, ref: ReleaseRef, http: HttpOptions): Promise<InstalledAsset> {
  const url = `${apiBase}/repos/${ref.repo}/releases/tags/${encodeURIComponent(ref.tag)}`;
  const release = await request(
    url,
    http,
    { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' },
    async (res, deadline) => {
      if (res.status === 404) {
        throw new FabricReleaseError(
          'RELEASE_NOT_FOUND',
          `release ${ref.tag} of ${ref.repo} not found (${url} answered 404)`,
        );
      }
      if (!res.ok)
        throw new FabricReleaseError('RELEASE_UNREACHABLE', `release archive unreachable: ${apiFailure(url, res)}`);
      deadline.body(http.timeoutMs);
      try {
        return await res.json();
      } catch (err) {
        if (http.signal?.aborted || deadline.expired()) throw err;
        throw new FabricReleaseError('RELEASE_UNREACHABLE', `release archive unreachable: ${url} did not answer JSON`, {
          cause: err,
        });
      }
    },
  );
  const assets = (release as { assets?: unknown } | null)?.assets;
  if (!Array.isArray(assets)) {
    throw new FabricReleaseError('RELEASE_UNREACHABLE', `release archive unreachable: ${url} answered no asset list`);
  }
  const asset = (assets as Record<string, unknown>[]).find((a) => a?.name === ref.name);
  if (!asset) {
    throw new FabricReleaseError('RELEASE_NOT_FOUND', `release ${ref.tag} of ${ref.repo} has no ${ref.name}`);
  }
  const download = asset.browser_download_url;
  if (typeof download !== 'string' || !/^https?:\/\//.test(download)) {
    throw new FabricReleaseError(
      'RELEASE_NOT_FOUND',
      `release ${ref.tag} of ${ref.repo} lists ${ref.name} without a download URL`,
    );
  }
  const digest = typeof asset.digest === 'string' ? SHA256_DIGEST.exec(asset.digest) : null;
  if (!digest?.[1]) {
    throw new FabricReleaseError(
      'CHECKSUM_MISSING',
      `release ${ref.tag} of ${ref.repo} publishes no sha256 digest for ${ref.name}; refusing to install an unverified archive`,
    );
  }
  return {
    ...ref,
    url: download,
    sha256: digest[1].toLowerCase(),
    size: typeof asset.size === 'number' && Number.isSafeInteger(asset.size) && asset.size >= 0 ? asset.size : -1,
  };
}

function apiFailure(url: string, res: Response): string {
  if ((res.status === 403 || res.status === 429) && res.headers.get('x-ratelimit-remaining') === '0') {
    const reset = Number(res.headers.get('x-ratelimit-reset'));
    const at = Number.isFinite(reset) && reset > 0 ? ` until ${new Date(reset * 1000).toISOString()}` : '';
    return `GitHub API rate limit exhausted${at} (${url})`;
  }
  return `${url} answered ${res.status} ${res.statusText}`.trim();
}

// ---------------------------------------------------------------- downloads

async function download(
  asset: InstalledAsset,
  file: string,
  http: HttpOptions,
  log: (line: string) => void,
): Promise<void> {
  const size = asset.size >= 0 ? ` (${mib(asset.size)})` : '';
  log(`downloading ${asset.name}${size} from ${asset.url}`);
  const got = await request(asset.url, http, { accept: 'application/octet-stream' }, async (res, deadline) => {
    if (res.status === 404 || res.status === 410) {
      throw new FabricReleaseError(
        'RELEASE_NOT_FOUND',
        `release archive not found: ${asset.url} answered ${res.status}`,
      );
    }
    if (!res.ok || !res.body) {
      throw new FabricReleaseError(
        'RELEASE_UNREACHABLE',
        `release archive unreachable: ${asset.url} answered ${res.status} ${res.statusText}`.trim(),
      );
    }
    deadline.body(http.bodyTimeoutMs);
    deadline.stall(http.stallTimeoutMs);
    const hash = createHash('sha256');
    let received = 0;
    let reported = 0;
    await pipeline(
      res.body as unknown as AsyncIterable<Uint8Array>,
      async function* (source: AsyncIterable<Uint8Array>) {
        for await (const chunk of source) {
          deadline.stall(http.stallTimeoutMs);
          received += chunk.length;
          if (asset.size >= 0 && received > asset.size) {
            throw new FabricReleaseError(
              'CHECKSUM_MISMATCH',
              `checksum mismatch for ${asset.name}: more than the ${asset.size} bytes its release lists arrived`,
            );
          }
          hash.update(chunk);
          const quarter = asset.size > 0 ? Math.floor((received / asset.size) * 4) : 0;
          if (quarter > reported && quarter < 4) {
            reported = quarter;
            log(`  ${asset.name}: ${quarter * 25}%`);
          }
          yield chunk;
        }
      },
      createWriteStream(file, { flags: 'wx', mode: 0o600 }),
    );
    return { sha256: hash.digest('hex'), received };
  });
  if (got.sha256 !== asset.sha256) {
    throw new FabricReleaseError(
      'CHECKSUM_MISMATCH',
      `checksum mismatch for ${asset.name}: its release publishes sha256 ${asset.sha256}, the ${got.received} bytes downloaded from ${asset.url} hash to ${got.sha256}`,
    );
  }
  log(`verified ${asset.name}: sha256 ${asset.sha256}`);
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

interface Deadline {
  /** Replace the answer deadline by one of `ms` for the body. */
  body(ms: number): void;
  /** (Re)arm the no-progress timer. */
  stall(ms: number): void;
  expired(): boolean;
}

class Timeout extends Error {
  override readonly name = 'Timeout';
}

/**
 * One GET under deadlines: `timeoutMs` to connect and receive the headers, then whatever `handle` arms for the
 * body. Network failures become RELEASE_UNREACHABLE, the caller's abort INTERRUPTED.
 */
async function request<T>(
  url: string,
  http: HttpOptions,
  headers: Record<string, string>,
  handle: (res: Response, deadline: Deadline) => Promise<T>,
): Promise<T> {
  throwIfAborted(http.signal);
  const controller = new AbortController();
  const signal = http.signal ? AbortSignal.any([http.signal, controller.signal]) : controller.signal;
  let reason: string | undefined;
  const timers: { main?: NodeJS.Timeout; stall?: NodeJS.Timeout } = {};
  const arm = (slot: 'main' | 'stall', ms: number, why: string): void => {
    clearTimeout(timers[slot]);
    timers[slot] = setTimeout(() => {
      reason = why;
      controller.abort(new Timeout(why));
    }, ms);
  };
  const host = hostOf(url);
  arm('main', http.timeoutMs, `no answer from ${host} within ${seconds(http.timeoutMs)}`);
  const deadline: Deadline = {
    body: (ms) => arm('main', ms, `${url} did not finish within ${seconds(ms)}`),
    stall: (ms) => arm('stall', ms, `${url} stalled: nothing arrived for ${seconds(ms)}`),
    expired: () => reason !== undefined,
  };
  try {
    const res = await fetch(url, {
      headers: { 'user-agent': 'phr-ledger-fabric-release', ...headers },
      redirect: 'follow',
      signal,
    });
    return await handle(res, deadline);
  } catch (err) {
    if (err instanceof FabricReleaseError) throw err;
    if (http.signal?.aborted) {
      throw new FabricReleaseError('INTERRUPTED', 'Fabric release install interrupted', { cause: err });
    }
    if (reason !== undefined) {
      throw new FabricReleaseError('RELEASE_UNREACHABLE', `release archive unreachable: ${reason}`, { cause: err });
    }
    throw new FabricReleaseError('RELEASE_UNREACHABLE', `release archive unreachable: ${describe(err)}`, {
      cause: err,
    });
  } finally {
    clearTimeout(timers.main);
    clearTimeout(timers.stall);
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** The innermost useful message of a fetch failure: "getaddrinfo ENOTFOUND api.github.com", not "fetch failed".
 * Duck-typed: undici's errors may come from another realm than this module's TypeError and AggregateError. */
function describe(err: unknown): string {
  let e = err;
  for (let depth = 0; depth < 5 && isFailure(e); depth++) {
    if (e.message === 'fetch failed' && e.cause) e = e.cause;
    else if (Array.isArray(e.errors) && e.errors.length > 0) e = e.errors[0];
    else break;
  }
  if (isFailure(e)) {
    for (const text of [e.message, e.code, e.name]) if (typeof text === 'string' && text) return oneLine(text);
  }
  return oneLine(String(e));
}

interface Failure {
  message?: unknown;
  code?: unknown;
  name?: unknown;
  cause?: unknown;
  errors?: unknown;
}

function isFailure(e: unknown): e is Failure {
  return typeof e === 'object' && e !== null;
}

function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');
}

// ---------------------------------------------------------------- tar and layout

const STAGING_PREFIX = '.fabric-release-';

async function checkTar(signal: AbortSignal | undefined): Promise<void> {
  await runTar(['--version'], signal).catch((err: unknown) => {
    if (err instanceof FabricReleaseError) throw err;
    throw new FabricReleaseError('INSTALL_FAILED', `cannot run the system tar: ${describe(err)}`, { cause: err });
  });
}

async function extract(archive: string, into: string, name: string, signal: AbortSignal | undefined): Promise<void> {
  await local(`cannot create ${into}`, () => mkdir(into));
  try {
    await runTar(['-xzf', archive, '-C', into, '--no-same-owner'], signal);
  } catch (err) {
    if (err instanceof FabricReleaseError) throw err;
    throw new FabricReleaseError('ARCHIVE_INVALID', `${name} does not extract: ${describe(err)}`, { cause: err });
  }
}

function runTar(args: string[], signal: AbortSignal | undefined): Promise<void> {
  throwIfAborted(signal);
  return new Promise((resolvePromise, reject) => {
    const child = spawn('tar', args, { stdio: ['ignore', 'ignore', 'pipe'], ...(signal ? { signal } : {}) });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    child.on('error', (err) => {
      if (signal?.aborted)
        reject(new FabricReleaseError('INTERRUPTED', 'Fabric release install interrupted', { cause: err }));
      else reject(err);
    });
    child.on('close', (code, sig) => {
      if (code === 0) resolvePromise();
      else reject(new Error(oneLine(stderr) || `tar exited with ${code ?? sig}`));
    });
  });
}

/** Each path must be a regular file (not a link that could point outside the archive). */
async function requireLayout(name: string, root: string, paths: string[]): Promise<void> {
  const missing: string[] = [];
  for (const p of paths) {
    const st = await lstat(join(root, p)).catch(() => undefined);
    if (!st?.isFile()) missing.push(p);
  }
  if (missing.length > 0) {
    throw new FabricReleaseError('ARCHIVE_INVALID', `${name} lacks ${missing.join(', ')}`);
  }
}

/** Renames `from` onto `to`, moving whatever `to` was (directory, file or link) aside into `staging` first. */
async function replace(from: string, to: string, staging: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(from, to);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const occupied = code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR';
      if (!occupied || attempt >= 3)
        throw new FabricReleaseError('INSTALL_FAILED', `cannot install ${to}: ${describe(err)}`, { cause: err });
    }
    try {
      await rename(to, join(staging, `previous-${basename(to)}-${attempt}`));
    } catch (err) {
      // Another install may have moved it already; try again.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new FabricReleaseError('INSTALL_FAILED', `cannot replace ${to}: ${describe(err)}`, { cause: err });
      }
    }
  }
}

/** Staging folders whose process is gone (killed mid-install) are removed. */
async function removeAbandonedStaging(dest: string, log: (line: string) => void): Promise<void> {
  const entries = await readdir(dest).catch(() => [] as string[]);
  for (const entry of entries) {
    const m = new RegExp(`^${STAGING_PREFIX.replace('.', '\\.')}(\\d+)-`).exec(entry);
    if (!m?.[1] || alive(Number(m[1]))) continue;
    log(`removing ${join(dest, entry)}, left by an interrupted install`);
    await rm(join(dest, entry), { recursive: true, force: true }).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function local<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    if (err instanceof FabricReleaseError) throw err;
    throw new FabricReleaseError('INSTALL_FAILED', `${what}: ${describe(err)}`, { cause: err });
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new FabricReleaseError('INTERRUPTED', 'Fabric release install interrupted', { cause: signal.reason });
  }
}
