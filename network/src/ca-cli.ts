#!/usr/bin/env node
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API loaded first.
import 'reflect-metadata';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import * as x509 from '@peculiar/x509';
import type FabricCAServices from 'fabric-ca-client';
import type { User } from 'fabric-common';
import {
  CaClientError,
  classify,
  enrollToMsp,
  loadMspIdentity,
  parseAttributeRequests,
  parseAttributes,
  registerIdentity,
  caServices,
  type CaEndpoint,
} from './ca-enrollment';

const USAGE = `usage: phr-ca enroll   --url https://HOST:PORT --ca-name NAME --tls-cert FILE --id NAME --secret S --msp-dir DIR
                       [--hosts h1,h2] [--profile tls] [--attr-reqs a,b:opt]
       phr-ca register --url https://HOST:PORT --ca-name NAME --tls-cert FILE --registrar-msp DIR --id NAME --type T
                       [--secret S] [--attrs "a=v:ecert,b=v"] [--max-enrollments N] [--affiliation A]
       phr-ca revoke   --url https://HOST:PORT --ca-name NAME --tls-cert FILE --registrar-msp DIR
                       (--id NAME | --serial HEX --aki HEX [--id NAME]) [--reason R] [--crl-out FILE]
       phr-ca gencrl   --url https://HOST:PORT --ca-name NAME --tls-cert FILE --registrar-msp DIR --crl-out FILE
                       [--revoked-after T] [--revoked-before T] [--expire-after T] [--expire-before T]
Enrolls, registers or revokes at a Fabric CA (fabric-ca-server or the embedded one) through fabric-ca-client.
enroll makes the key here and writes DIR/signcerts/cert.pem, DIR/keystore/<SKI>_sk and DIR/cacerts/.
register prints the secret on stdout only when the CA generated it.
revoke --id revokes every certificate of the identity, which can never enroll again (needs hf.Revoker
unless it revokes itself); --serial/--aki revoke one certificate. It prints "SERIAL AKI" of each
revoked certificate on stdout, and with --crl-out writes the CA's CRL (PEM) to FILE.
gencrl writes the CA's CRL (PEM) to FILE (needs hf.GenCRL); times are RFC 3339.
--mspdir is another name for --registrar-msp, --name for --id (the Go CLI's).
Reasons: unspecified keycompromise cacompromise affiliationchanged superseded cessationofoperation
certificatehold removefromcrl privilegewithdrawn aacompromise.
exit: 0 done, 1 failed, 2 usage, 3 already registered, 4 refused by the CA, 5 CA unreachable,
      6 no such identity or certificate (revoke)`;

/** Exit codes scripts can tell apart. */
export const EXIT = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  ALREADY_REGISTERED: 3,
  REFUSED: 4,
  UNREACHABLE: 5,
  NOT_FOUND: 6,
} as const;

const COMMANDS = ['enroll', 'register', 'revoke', 'gencrl'] as const;

/** The reasons Fabric CA knows (`lib/serverrevoke.go`); it reads any other as unspecified, so they are refused here. */
const REASONS = [
  'unspecified',
  'keycompromise',
  'cacompromise',
  'affiliationchanged',
  'superseded',
  'cessationofoperation',
  'certificatehold',
  'removefromcrl',
  'privilegewithdrawn',
  'aacompromise',
];

/** Fabric CA's codes for an unknown identity (10) or certificate (8) in a revoke request. */
const NOT_FOUND_CODES = new Set([8, 10]);

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function required(values: Record<string, string | boolean | undefined>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

/** One option known by two names (this CLI's and the Go CLI's); both given must agree. */
function either(values: Record<string, string | boolean | undefined>, name: string, other: string): string | undefined {
  const a = values[name];
  const b = values[other];
  if (typeof a === 'string' && typeof b === 'string' && a !== b) {
    throw new UsageError(`--${name} and --${other} name the same option; give one`);
  }
  return typeof a === 'string' ? a : typeof b === 'string' ? b : undefined;
}

function rfc3339(values: Record<string, string | boolean | undefined>, name: string): Date | undefined {
  const value = values[name];
  if (typeof value !== 'string') return undefined;
  const time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(value)
    ? new Date(value)
    : undefined;
  if (!time || Number.isNaN(time.getTime())) {
    throw new UsageError(`--${name} must be an RFC 3339 time such as 2025-01-31T00:00:00Z, not ${value}`);
  }
  return time;
}

/** The registrar of an MSP folder as the npm client's signing user. */
function registrarUser(mspDir: string): User {
  const registrar = loadMspIdentity(mspDir);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { User: UserClass } = require('fabric-common') as { User: typeof User };
  return UserClass.createUser(registrar.commonName, '', 'Registrar', registrar.certificatePem, registrar.keyPem);
}

/** Whether the CA's refusal behind `e` is Fabric CA's unknown identity or certificate. */
function isNotFound(e: CaClientError): boolean {
  const first = (e.cause as { errors?: { code?: number }[] } | undefined)?.errors?.[0];
  return first?.code !== undefined && NOT_FOUND_CODES.has(first.code);
}

/**
 * The PEM CRL in a `CRL` result (base64 of the PEM, as Fabric CA sends it), checked to parse;
 * with the number of certificates it lists.
 */
function decodeCrl(b64: unknown): { pem: string; entries: number } {
  const pem = typeof b64 === 'string' ? Buffer.from(b64, 'base64').toString('utf8') : '';
  try {
    if (!pem.startsWith('-----BEGIN X509 CRL-----')) throw new Error('not a PEM X509 CRL');
    return { pem, entries: new x509.X509Crl(pem).entries.length };
  } catch (cause) {
    throw new CaClientError('FAILED', 'the CA answered with something that is not a CRL', { cause });
  }
}

/** Writes the CRL so that a reader (a peer's MSP folder) sees the old or the new file, never half. */
function writeCrl(file: string, pem: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, pem, { mode: 0o644 });
  renameSync(temporary, file);
}

async function generateCrl(endpoint: CaEndpoint, registrar: User, restriction: FabricCAServices.IRestriction) {
  try {
    return decodeCrl(await caServices(endpoint).generateCRL(restriction, registrar));
  } catch (err) {
    if (err instanceof CaClientError) throw err;
    throw classify(err, 'CRL generation');
  }
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
        mspdir: { type: 'string' },
        name: { type: 'string' },
        serial: { type: 'string' },
        aki: { type: 'string' },
        reason: { type: 'string' },
        'crl-out': { type: 'string' },
        'revoked-after': { type: 'string' },
        'revoked-before': { type: 'string' },
        'expire-after': { type: 'string' },
        'expire-before': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const [command, ...rest] = positionals;
    if (values.help) {
      out(`${USAGE}\n`);
      return EXIT.OK;
    }
    if (!COMMANDS.includes(command as (typeof COMMANDS)[number]) || rest.length > 0) {
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
    const at = endpoint.caName || url;
    if (command === 'revoke' || command === 'gencrl') {
      const mspDir = either(values, 'registrar-msp', 'mspdir');
      if (!mspDir) throw new UsageError('--registrar-msp (or --mspdir) is required');
      const crlOut = values['crl-out'];
      if (command === 'gencrl' && !crlOut) throw new UsageError('--crl-out is required');
      if (crlOut === '') throw new UsageError('--crl-out must name a file');
      if (command === 'gencrl') {
        const restriction: FabricCAServices.IRestriction = {
          revokedAfter: rfc3339(values, 'revoked-after'),
          revokedBefore: rfc3339(values, 'revoked-before'),
          expireAfter: rfc3339(values, 'expire-after'),
          expireBefore: rfc3339(values, 'expire-before'),
        };
        const crl = await generateCrl(endpoint, registrarUser(mspDir), restriction);
        writeCrl(crlOut as string, crl.pem);
        err(`wrote the CRL of ${at} (${crl.entries} revoked certificate(s)) to ${crlOut}\n`);
        return EXIT.OK;
      }
      const name = either(values, 'id', 'name') ?? '';
      const serial = values.serial ?? '';
      const aki = values.aki ?? '';
      if ((serial === '') !== (aki === '')) throw new UsageError('--serial and --aki go together');
      if (name === '' && serial === '') throw new UsageError('--id (or --name), or --serial and --aki, is required');
      const reason = values.reason?.toLowerCase();
      if (reason !== undefined && !REASONS.includes(reason)) {
        throw new UsageError(`--reason must be one of ${REASONS.join(', ')}; not ${values.reason}`);
      }
      const registrar = registrarUser(mspDir);
      const what = serial !== '' ? `certificate ${serial}` : name;
      let reply: { result?: { RevokedCerts?: { Serial: string; AKI: string }[] | null; CRL?: string } };
      try {
        const request = {
          enrollmentID: name,
          ...(serial !== '' ? { serial, aki } : {}),
          ...(reason !== undefined ? { reason } : {}),
          gencrl: crlOut !== undefined,
        };
        reply = (await caServices(endpoint).revoke(request, registrar)) as typeof reply;
      } catch (e) {
        throw classify(e, `revocation of ${what}`);
      }
      const revoked = reply.result?.RevokedCerts ?? [];
      for (const r of revoked) out(`${r.Serial} ${r.AKI}\n`);
      if (serial !== '') err(`revoked certificate ${serial} at ${at}\n`);
      else err(`revoked ${name} and ${revoked.length} certificate(s) of it at ${at}\n`);
      if (crlOut !== undefined) {
        // Fabric CA sends a CRL only when something was revoked: ask for it then.
        const crl = reply.result?.CRL ? decodeCrl(reply.result.CRL) : await generateCrl(endpoint, registrar, {});
        writeCrl(crlOut, crl.pem);
        err(`wrote the CRL of ${at} (${crl.entries} revoked certificate(s)) to ${crlOut}\n`);
      }
      return EXIT.OK;
    }
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
      if (isNotFound(e)) return EXIT.NOT_FOUND;
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
