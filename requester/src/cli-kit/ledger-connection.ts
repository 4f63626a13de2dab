import type { Command } from 'commander';
import type { LedgerClientOptions } from '@phr/ledger-client';
import { z } from 'zod';
import { pemSchema, privateKeyPemSchema, readOptionFile } from './cli-config';

/** What commander hands over for the ledger options (file names, not contents). */
export interface LedgerFlags {
  cert: string;
  key: string;
  mspId: string;
  peer: string;
  peerCa: string;
  peerServerName?: string;
  channel: string;
  chaincode: string;
  timeout: string;
}

/** The help texts that differ between the CLIs: who holds the certificate and which peer is meant. */
export interface LedgerOptionHelp {
  cert: string;
  /** An MSP ID the user would recognise, e.g. Hospital2MSP. */
  mspIdExample: string;
  peer: string;
}

/** Who the user is on the ledger and which peer, channel and chaincode to reach it through. */
export function withLedgerOptions(cmd: Command, help: LedgerOptionHelp): Command {
  return cmd
    .requiredOption('--cert <file>', help.cert)
    .requiredOption('--key <file>', 'your private key (PEM)')
    .requiredOption('--msp-id <id>', `the MSP of the CA that issued your certificate, e.g. ${help.mspIdExample}`)
    .requiredOption('--peer <host:port>', help.peer)
    .requiredOption('--peer-ca <file>', "the root certificate (PEM) of the peer's TLS certificate")
    .option('--peer-server-name <name>', "TLS server name, when the peer's certificate names another host");
}

/** Channel and chaincode, with the network's names as defaults. */
export function withLedgerNames(cmd: Command): Command {
  return cmd
    .option('--channel <name>', 'the ledger channel', 'phr')
    .option('--chaincode <name>', 'the chaincode name', 'phr');
}

/** The ledger part of a CLI's configuration; each CLI extends it with its own. */
export function ledgerConnectionSchema(mspIdExample: string) {
  return z.object({
    certificatePem: pemSchema('CERTIFICATE'),
    privateKeyPem: privateKeyPemSchema,
    mspId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, `must be an MSP ID such as ${mspIdExample}`),
    peer: z.object({
      address: z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port'),
      tlsRootCertPem: pemSchema('CERTIFICATE'),
      serverNameOverride: z.string().min(1).optional(),
    }),
    channel: z.string().min(1),
    chaincode: z.string().min(1),
    timeoutMs: z.number().int().positive().max(600_000),
  });
}
export type LedgerConnection = z.infer<ReturnType<typeof ledgerConnectionSchema>>;

/**
 * The ledger flags with their files read, not yet validated.
 * @throws CliConfigError when a file cannot be read.
 */
export function ledgerConnectionInput(f: LedgerFlags): Record<keyof LedgerConnection, unknown> {
  return {
    certificatePem: readOptionFile(f.cert, 'cert'),
    privateKeyPem: readOptionFile(f.key, 'key'),
    mspId: f.mspId,
    peer: {
      address: f.peer,
      tlsRootCertPem: readOptionFile(f.peerCa, 'peer-ca'),
      ...(f.peerServerName ? { serverNameOverride: f.peerServerName } : {}),
    },
    channel: f.channel,
    chaincode: f.chaincode,
    timeoutMs: Math.round(Number(f.timeout) * 1000),
  };
}

/** How to connect under the user's identity; --timeout is the deadline of every ledger call. */
export function ledgerClientOptions(config: LedgerConnection): LedgerClientOptions {
  return {
    peer: config.peer,
    identity: { mspId: config.mspId, certificatePem: config.certificatePem, privateKeyPem: config.privateKeyPem },
    channel: config.channel,
    chaincode: config.chaincode,
    deadlines: {
      evaluateMs: config.timeoutMs,
      endorseMs: config.timeoutMs,
      submitMs: config.timeoutMs,
      commitStatusMs: config.timeoutMs,
    },
  };
}
