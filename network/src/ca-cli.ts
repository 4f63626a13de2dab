#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  CaClientError,
  enrollToMsp,
  parseAttributeRequests,
  parseAttributes,
  registerIdentity,
  type CaEndpoint,
} from './ca-enrollment';

const USAGE = `usage: phr-ca enroll   --url https://HOST:PORT --ca-name NAME --tls-cert FILE --id NAME --secret S --msp-dir DIR
                       [--hosts h1,h2] [--profile tls] [--attr-reqs a,b:opt]
       phr-ca register --url https://HOST:PORT --ca-name NAME --tls-cert FILE --registrar-msp DIR --id NAME --type T
                       [--secret S] [--attrs "a=v:ecert,b=v"] [--max-enrollments N] [--affiliation A]
Enrolls or registers at a Fabric CA (fabric-ca-server or the embedded one) through fabric-ca-client.
enroll makes the key here and writes DIR/signcerts/cert.pem, DIR/keystore/<SKI>_sk and DIR/cacerts/.
register prints the secret on stdout only when the CA generated it.
exit: 0 done, 1 failed, 2 usage, 3 already registered, 4 refused by the CA, 5 CA unreachable`;

/** Exit codes scripts can tell apart. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, ALREADY_REGISTERED: 3, REFUSED: 4, UNREACHABLE: 5 } as const;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function required(values: Record<string, string | boolean | undefined>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

function list(value: string | undefined): string[] | undefined {
  return value === undefined
    ? undefined
    : value
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
}

/** Runs one command; returns the exit code. Messages go to `err`, a generated secret to `out`. */
export async function run(
  argv: string[],
  out: (text: string) => void = (t) => process.stdout.write(t),
  err: (text: string) => void = (t) => process.stderr.write(t),
): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        'ca-name': { type: 'string' },
        'tls-cert': { type: 'string' },
        id: { type: 'string' },
        secret: { type: 'string' },
        'msp-dir': { type: 'string' },
        hosts: { type: 'string' },
        profile: { type: 'string' },
        'attr-reqs': { type: 'string' },
        'registrar-msp': { type: 'string' },
        type: { type: 'string' },
        attrs: { type: 'string' },
        'max-enrollments': { type: 'string' },
        affiliation: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const [command, ...rest] = positionals;
    if (values.help) {
      out(`${USAGE}\n`);
      return EXIT.OK;
    }
    if ((command !== 'enroll' && command !== 'register') || rest.length > 0) {
      throw new UsageError(command ? `unknown command ${positionals.join(' ')}` : 'a command is required');
    }
    const url = required(values, 'url');
    if (!/^https?:\/\/[^/@]+(:\d+)?\/?$/.test(url)) throw new UsageError(`--url must be https://HOST:PORT, not ${url}`);
    const tlsCert = required(values, 'tls-cert');
    let tlsRootPem: string;
    try {
      tlsRootPem = readFileSync(tlsCert, 'utf8');
    } catch (cause) {
      throw new CaClientError('BAD_INPUT', `cannot read --tls-cert ${tlsCert}`, { cause });
    }
    const endpoint: CaEndpoint = { url, caName: values['ca-name'] ?? '', tlsRootPem };
    const id = required(values, 'id');
    if (command === 'enroll') {
      const files = await enrollToMsp({
        ...endpoint,
        id,
        secret: required(values, 'secret'),
        mspDir: required(values, 'msp-dir'),
        hosts: list(values.hosts),
        profile: values.profile,
        attrRequests: values['attr-reqs'] === undefined ? undefined : parseAttributeRequests(values['attr-reqs']),
      });
      err(`enrolled ${id} at ${endpoint.caName || url}${values.profile ? ` (profile ${values.profile})` : ''}\n`);
      err(`stored the certificate at ${files.certificate}\n`);
      err(`stored the private key at ${files.privateKey}\n`);
      for (const file of files.caCertificates) err(`stored the CA certificate at ${file}\n`);
      return EXIT.OK;
    }
    const maxText = values['max-enrollments'];
    const maxEnrollments = maxText === undefined ? undefined : Number(maxText);
    if (maxEnrollments !== undefined && (!Number.isInteger(maxEnrollments) || maxEnrollments < -1)) {
      throw new UsageError('--max-enrollments must be an integer, -1 or more');
    }
    const secret = await registerIdentity({
      ...endpoint,
      registrarMspDir: required(values, 'registrar-msp'),
      id,
      secret: values.secret,
      type: required(values, 'type'),
      affiliation: values.affiliation,
      attrs: values.attrs === undefined ? undefined : parseAttributes(values.attrs),
      maxEnrollments,
    });
    err(`registered ${id} (type ${values.type}) at ${endpoint.caName || url}\n`);
    if (!values.secret) out(`${secret}\n`);
    return EXIT.OK;
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))) {
      err(`phr-ca: ${e.message}\n${USAGE}\n`);
      return EXIT.USAGE;
    }
    if (e instanceof CaClientError) {
      err(`phr-ca: ${e.message}\n`);
      switch (e.code) {
        case 'ALREADY_REGISTERED':
          return EXIT.ALREADY_REGISTERED;
        case 'REFUSED':
          return EXIT.REFUSED;
        case 'UNREACHABLE':
          return EXIT.UNREACHABLE;
        case 'BAD_INPUT':
          return EXIT.USAGE;
        default:
          return EXIT.FAILED;
      }
    }
    err(`phr-ca: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT.FAILED;
  }
}

if (require.main === module) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`phr-ca: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = EXIT.FAILED;
    },
  );
}
