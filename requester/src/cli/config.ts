import { isPseudonym } from '@phr/common';
import { z } from 'zod';
import { httpsUrlSchema, parse, pemSchema, readOptionFile } from '../cli-kit/cli-config';
import { ledgerConnectionInput, ledgerConnectionSchema, type LedgerFlags } from '../cli-kit/ledger-connection';

/** The CLI's options, read once (files included) and validated before anything is sent. */
export const ConnectionSchema = ledgerConnectionSchema('Hospital2MSP').extend({
  gatewayUrl: httpsUrlSchema,
  caPem: pemSchema('CERTIFICATE'),
  patientsCaPem: pemSchema('CERTIFICATE').optional(),
});
export type ConnectionConfig = z.infer<typeof ConnectionSchema>;

export const patientSchema = z.string().refine(isPseudonym, 'must be a patient pseudonym (pt + 26 base32 characters)');

/** What commander hands over for the connection options (file names, not contents). */
export interface ConnectionFlags extends LedgerFlags {
  gateway: string;
  ca: string;
  patientsCa?: string;
}

/** @throws CliConfigError when a file cannot be read or an option is invalid. */
export function connectionConfig(f: ConnectionFlags): ConnectionConfig {
  return parse(ConnectionSchema, {
    gatewayUrl: f.gateway,
    caPem: readOptionFile(f.ca, 'ca'),
    ...ledgerConnectionInput(f),
    ...(f.patientsCa ? { patientsCaPem: readOptionFile(f.patientsCa, 'patients-ca') } : {}),
  });
}
