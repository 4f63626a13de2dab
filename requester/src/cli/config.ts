import { readFileSync } from 'node:fs';
import { isPseudonym } from '@phr/common';
import { z } from 'zod';

/** The CLI's options, read once (files included) and validated before anything is sent. */
const pem = (label: string) => z.string().includes(`-----BEGIN ${label}`, { message: `must be a PEM ${label}` });
const privateKeyPem = z.string().regex(/-----BEGIN (EC |ENCRYPTED )?PRIVATE KEY-----/, 'must be a PEM private key');

export const ConnectionSchema = z.object({
  gatewayUrl: z.url({ protocol: /^https$/, message: 'must be an https:// URL' }),
  caPem: pem('CERTIFICATE'),
  certificatePem: pem('CERTIFICATE'),
  privateKeyPem,
  mspId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, 'must be an MSP ID such as Hospital2MSP'),
  peer: z.object({
    address: z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port'),
    tlsRootCertPem: pem('CERTIFICATE'),
    serverNameOverride: z.string().min(1).optional(),
  }),
  channel: z.string().min(1),
  chaincode: z.string().min(1),
  patientsCaPem: pem('CERTIFICATE').optional(),
  timeoutMs: z.number().int().positive().max(600_000),
});
export type ConnectionConfig = z.infer<typeof ConnectionSchema>;

export const patientSchema = z.string().refine(isPseudonym, 'must be a patient pseudonym (pt + 26 base32 characters)');

export class CliConfigError extends Error {
  override readonly name = 'CliConfigError';
  readonly code = 'INVALID_CONFIG';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** What commander hands over for the connection options (file names, not contents). */
export interface ConnectionFlags {
  gateway: string;
  ca: string;
  cert: string;
  key: string;
  peer: string;
  peerCa: string;
  peerServerName?: string;
  mspId: string;
  channel: string;
  chaincode: string;
  patientsCa?: string;
  timeout: string;
}

function readPem(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliConfigError(`--${flag}: cannot read ${file}`, { cause: err });
  }
}

export function connectionConfig(f: ConnectionFlags): ConnectionConfig {
  return parse(ConnectionSchema, {
    gatewayUrl: f.gateway,
    caPem: readPem(f.ca, 'ca'),
    certificatePem: readPem(f.cert, 'cert'),
    privateKeyPem: readPem(f.key, 'key'),
    mspId: f.mspId,
    peer: {
      address: f.peer,
      tlsRootCertPem: readPem(f.peerCa, 'peer-ca'),
      ...(f.peerServerName ? { serverNameOverride: f.peerServerName } : {}),
    },
    channel: f.channel,
    chaincode: f.chaincode,
    ...(f.patientsCa ? { patientsCaPem: readPem(f.patientsCa, 'patients-ca') } : {}),
    timeoutMs: Math.round(Number(f.timeout) * 1000),
  });
}

export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new CliConfigError(z.prettifyError(result.error));
  return result.data;
}
