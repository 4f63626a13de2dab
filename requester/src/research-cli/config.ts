import { readFileSync } from 'node:fs';
import { isRecordId, type OfferTerms } from '@phr/common';
import { z } from 'zod';
import { CliConfigError, parse } from '../cli/config';

const pem = (label: string) => z.string().includes(`-----BEGIN ${label}`, { message: `must be a PEM ${label}` });
const privateKeyPem = z.string().regex(/-----BEGIN (EC |ENCRYPTED )?PRIVATE KEY-----/, 'must be a PEM private key');

/** The researcher's connections: the ledger always, the collecting gateway for `collect`. */
export const ResearchConfigSchema = z.object({
  gateway: z
    .object({ url: z.url({ protocol: /^https$/, message: 'must be an https:// URL' }), caPem: pem('CERTIFICATE') })
    .optional(),
  certificatePem: pem('CERTIFICATE'),
  privateKeyPem,
  mspId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, 'must be an MSP ID such as Hospital1MSP'),
  peer: z.object({
    address: z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port'),
    tlsRootCertPem: pem('CERTIFICATE'),
    serverNameOverride: z.string().min(1).optional(),
  }),
  channel: z.string().min(1),
  chaincode: z.string().min(1),
  timeoutMs: z.number().int().positive().max(600_000),
  stateDir: z.string().min(1),
});
export type ResearchConfig = z.infer<typeof ResearchConfigSchema>;

/** What commander hands over (file names, not contents). */
export interface ResearchFlags {
  gateway?: string;
  ca?: string;
  cert: string;
  key: string;
  mspId: string;
  peer: string;
  peerCa: string;
  peerServerName?: string;
  channel: string;
  chaincode: string;
  timeout: string;
  stateDir: string;
  json?: boolean;
}

function readText(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliConfigError(`--${flag}: cannot read ${file}`, { cause: err });
  }
}

export function researchConfig(f: ResearchFlags): ResearchConfig {
  if ((f.gateway === undefined) !== (f.ca === undefined)) {
    throw new CliConfigError('--gateway and --ca go together: the gateway and the root of its TLS certificate');
  }
  return parse(ResearchConfigSchema, {
    ...(f.gateway && f.ca ? { gateway: { url: f.gateway, caPem: readText(f.ca, 'ca') } } : {}),
    certificatePem: readText(f.cert, 'cert'),
    privateKeyPem: readText(f.key, 'key'),
    mspId: f.mspId,
    peer: {
      address: f.peer,
      tlsRootCertPem: readText(f.peerCa, 'peer-ca'),
      ...(f.peerServerName ? { serverNameOverride: f.peerServerName } : {}),
    },
    channel: f.channel,
    chaincode: f.chaincode,
    timeoutMs: Math.round(Number(f.timeout) * 1000),
    stateDir: f.stateDir,
  });
}

/**
 * An offer's terms as the researcher writes them: everything but the sealing key, which `offer
 * post` makes. The chaincode checks every rule again; this catches a bad file before a key is made.
 */
const TermsFileSchema = z
  .object({
    offerId: z.string().refine(isRecordId, 'must be a record id (8–128 letters, digits, . _ -)'),
    title: z.string().min(1).max(200),
    criteria: z
      .object({ codes: z.array(z.object({ system: z.string(), code: z.string().optional() })).min(1) })
      .loose(),
    wanted: z.object({
      codes: z.array(z.object({ system: z.string(), code: z.string().optional() })).min(1),
      demographics: z.array(z.enum(['age', 'gender', 'postalCode3'])),
    }),
    dates: z.enum(['year', 'shift']),
    creditsPerParticipant: z.number().int().positive(),
    quota: z.number().int().positive().max(10_000),
    expiresAt: z.iso.datetime({ offset: true }),
    collectVia: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, 'must be an MSP ID'),
  })
  .strict();
export type TermsFile = Omit<OfferTerms, 'encryptionPublicKey'>;

export function readTermsFile(file: string): TermsFile {
  let value: unknown;
  try {
    value = JSON.parse(readText(file, 'file'));
  } catch (err) {
    if (err instanceof CliConfigError) throw err;
    throw new CliConfigError(`--file: ${file} is not JSON`, { cause: err });
  }
  if (typeof value === 'object' && value !== null && 'encryptionPublicKey' in value) {
    // The key is made by `offer post`, never taken from a file.
    const rest: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    delete rest['encryptionPublicKey'];
    value = rest;
  }
  return parse(TermsFileSchema, value);
}
