/** `consent grant|sign|revoke|list`: who may see which of the patient's records, for what, until when. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { PURPOSES_OF_USE, writePrivateFile, type CodeRef, type PurposeOfUse } from '@phr/common';
import type { ConsentRequest } from '../agent-api';
import { codeRef, collect, json, out, withAgent, type JsonOption } from './command-kit';
import { formatConsents } from './format';

/** The terms of a consent, as `grant` and `sign` both take them. */
interface ConsentTermOptions {
  to?: string;
  identity?: string;
  category?: string[];
  code?: CodeRef[];
  purpose?: string[];
  from?: string;
  until: string;
}

export function addConsentCommands(p: Command): void {
  const consent = p.command('consent').description('who may see which of your records, for what, until when');
  consentTerms(consent.command('grant').description('grant access (a transaction signed by you)'))
    .option('--json', 'print JSON')
    .action((o: ConsentTermOptions & JsonOption, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const record = await agent.grantConsent(consentRequestOf(o));
        if (o.json) json(record);
        else out(`Granted: consent ${record.consentId}\n${formatConsents([record])}`);
      }),
    );
  consentTerms(
    consent
      .command('sign')
      .description('sign a consent as a FHIR Consent, for anyone to hand to a gateway (POST /fhir/Consent)'),
  )
    .requiredOption('--out <file>', 'where to write the signed Consent (JSON)')
    .action((o: ConsentTermOptions & { out: string }, cmd: Command) =>
      withAgent(cmd, (agent) => {
        const resource = agent.signedConsent(consentRequestOf(o));
        writePrivateFile(o.out, JSON.stringify(resource, null, 2) + '\n');
        out(`Signed: consent ${resource.id ?? ''} in ${o.out}; it takes effect once a gateway puts it on the ledger\n`);
        return Promise.resolve();
      }),
    );
  consent
    .command('revoke <consentId>')
    .description('revoke a consent (a transaction signed by you)')
    .option('--json', 'print JSON')
    .action((consentId: string, o: JsonOption, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const record = await agent.revokeConsent(consentId);
        if (o.json) json(record);
        else out(`Revoked: consent ${record.consentId}\n`);
      }),
    );
  consent
    .command('list')
    .description('your consents, from the ledger')
    .option('--json', 'print JSON')
    .action((o: JsonOption, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const consents = await agent.consents();
        if (o.json) json(consents);
        else out(formatConsents(consents));
      }),
    );
}

/** `grant` and `sign` take the same terms, so a consent reads the same however it reaches the ledger. */
function consentTerms(c: Command): Command {
  return c
    .option('--to <mspId>', 'an organisation, e.g. Hospital2MSP')
    .option('--identity <key>', 'one identity (its identity key) instead of an organisation')
    .option('--category <category>', 'a record category, e.g. laboratory (repeatable)', collect)
    .option('--code <system|code>', 'one code (repeatable)', codeRef)
    .addOption(
      new Option('--purpose <purpose>', 'purpose of use (repeatable)').choices(PURPOSES_OF_USE).argParser(collect),
    )
    .option('--from <date>', 'start (default now)')
    .requiredOption('--until <date>', 'end (exclusive)');
}

function consentRequestOf(o: ConsentTermOptions): ConsentRequest {
  if (!o.to === !o.identity) throw new InvalidArgumentError('give exactly one of --to or --identity');
  return {
    grantee: o.identity ? { kind: 'identity', id: o.identity } : { kind: 'organization', id: o.to ?? '' },
    scope: { categories: o.category ?? [], codes: o.code ?? [] },
    purposes: (o.purpose ?? ['TREAT']) as PurposeOfUse[],
    ...(o.from ? { start: o.from } : {}),
    end: o.until,
  };
}
