import { isRecordId, type OfferTerms } from '@phr/common';
import { z } from 'zod';
import { CliConfigError, httpsUrlSchema, parse, pemSchema, readOptionFile } from '../cli-kit/cli-config';
import { ledgerConnectionInput, ledgerConnectionSchema, type LedgerFlags } from '../cli-kit/ledger-connection';

/** The researcher's connections: the ledger always, the collecting gateway for `collect`. */
export const ResearchConfigSchema = ledgerConnectionSchema('Hospital1MSP').extend({
  gateway: z.object({ url: httpsUrlSchema, caPem: pemSchema('CERTIFICATE') }).optional(),
  stateDir: z.string().min(1),
});
export type ResearchConfig = z.infer<typeof ResearchConfigSchema>;

/** What commander hands over (file names, not contents). */
export interface ResearchFlags extends LedgerFlags {
  gateway?: string;
  ca?: string;
  stateDir: string;
  json?: boolean;
}

/** @throws CliConfigError when a file cannot be read or an option is invalid. */
export function researchConfig(f: ResearchFlags): ResearchConfig {
  if ((f.gateway === undefined) !== (f.ca === undefined)) {
    throw new CliConfigError('--gateway and --ca go together: the gateway and the root of its TLS certificate');
  }
  return parse(ResearchConfigSchema, {
    ...(f.gateway && f.ca ? { gateway: { url: f.gateway, caPem: readOptionFile(f.ca, 'ca') } } : {}),
    ...ledgerConnectionInput(f),
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
    value = JSON.parse(readOptionFile(file, 'file'));
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
