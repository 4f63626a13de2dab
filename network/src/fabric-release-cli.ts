#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { DEFAULT_RELEASE_API, FabricReleaseError, installFabricRelease } from './fabric-release';

const USAGE = `usage: phr-fabric-release install --version VERSION --ca-version VERSION --dest DIR [options]
  Installs Fabric and Fabric CA from their GitHub release archives, verified against the sha256
  digests the GitHub releases API publishes, as DIR/bin/<commands>, DIR/bin/ccaas/{detect,build,release}
  and DIR/config/{core.yaml,orderer.yaml,configtx.yaml}. Prints DIR/bin on stdout, progress on stderr.
  --version VERSION       Fabric version, e.g. 3.1.5
  --ca-version VERSION    Fabric CA version, e.g. 1.5.21
  --dest DIR              where bin/ and config/ go (an existing bin/ and config/ are replaced)
  --api-base URL          GitHub API root (default $PHR_FABRIC_RELEASE_API or ${DEFAULT_RELEASE_API})
  --timeout SECONDS       deadline to connect and answer, per request (default 10)
exit status: 0 installed, 1 not installed (the last stderr line says why), 2 usage`;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** Runs `phr-fabric-release` with `argv` (without node and the script); resolves to the exit status. */
export async function runFabricReleaseCli(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        version: { type: 'string' },
        'ca-version': { type: 'string' },
        dest: { type: 'string' },
        'api-base': { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.stderr(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stderr(`${USAGE}\n`);
    return 0;
  }
  const timeout = values.timeout === undefined ? 10 : Number(values.timeout);
  const [command, ...extra] = positionals;
  if (
    command !== 'install' ||
    extra.length > 0 ||
    !values.version ||
    !values['ca-version'] ||
    !values.dest ||
    !(timeout > 0)
  ) {
    io.stderr(`${USAGE}\n`);
    return 2;
  }
  try {
    const installed = await installFabricRelease({
      version: values.version,
      caVersion: values['ca-version'],
      dest: values.dest,
      apiBase: values['api-base'] || io.env.PHR_FABRIC_RELEASE_API || DEFAULT_RELEASE_API,
      timeoutMs: Math.round(timeout * 1000),
      log: (line) => io.stderr(`    ${line}\n`),
      ...(io.signal ? { signal: io.signal } : {}),
    });
    io.stdout(`${installed.bin}\n`);
    return 0;
  } catch (err) {
    // One line, the reason alone: the caller prints it as it is.
    const reason = err instanceof FabricReleaseError ? err.message : `unexpected failure: ${String(err)}`;
    io.stderr(`${reason.replace(/\s*\n\s*/g, '; ')}\n`);
    return 1;
  }
}

if (require.main === module) {
  // Ctrl-C or a TERM removes the staging folder before exiting.
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop).once('SIGTERM', stop);
  runFabricReleaseCli(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    signal: controller.signal,
  }).then(
    (code) => process.exit(controller.signal.aborted && code !== 0 ? 130 : code),
    () => process.exit(1),
  );
}
