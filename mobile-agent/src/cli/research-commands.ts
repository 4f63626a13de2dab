/**
 * `research list|show|accept|decline|history|credits|opt-out|opt-in` (issue 16): study offers
 * matched against the vault on this device, the patient's yes or no, what each study got and the
 * credits earned. A decline and a non-match send nothing anywhere.
 */
import type { Command } from 'commander';
import type { ResearchCredits, ResearchHistoryEntry, ResearchOfferView, ResearchPreview } from '../agent-api';
import { json, out, withAgent, type JsonOption } from './command-kit';
import { day, table } from './format';

interface ListOptions extends JsonOption {
  all?: boolean;
}

export function addResearchCommands(p: Command): void {
  const research = p
    .command('research')
    .description('studies that ask for your data: matched on this device, shared only when you accept, for credits');

  research
    .command('list')
    .description(
      'open studies your records match, with exactly what you would share, and any you accepted that did not finish',
    )
    .option('--all', 'also the studies your records do not match (marked, with why)')
    .option('--json', 'print JSON')
    .action((o: ListOptions, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const offers = await agent.researchOffers({ all: Boolean(o.all) });
        if (o.json) json(offers);
        else out(formatOffers(offers));
      }),
    );

  research
    .command('show <offer>')
    .description('one study: its terms, whether your records match, and what you would share')
    .option('--json', 'print JSON')
    .action((offerId: string, o: JsonOption, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const offer = await agent.researchOffer(offerId);
        if (o.json) json(offer);
        else out(formatOffer(offer));
      }),
    );

  research
    .command('accept <offer>')
    .description(
      'consent to the study and send it the de-identified extract shown by `show` (run again to finish one that stopped)',
    )
    .option('--json', 'print JSON')
    .action((offerId: string, o: JsonOption, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const r = await agent.acceptResearch(offerId);
        if (o.json) json(r);
        else
          out(
            r.alreadyDelivered
              ? `You already took part in ${r.offerId} (participation ${r.participationId}); nothing was sent again. Credits paid: ${r.credits}.\n`
              : `Delivered ${r.elementCount} de-identified element(s) to ${r.offerId}.\nParticipation: ${r.participationId}\nCredits earned: ${r.credits}\n`,
          );
      }),
    );

  research
    .command('decline <offer>')
    .description('say no to a study: nothing is sent (after an accept that did not finish, its consent is revoked)')
    .action((offerId: string, _o: unknown, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const r = await agent.declineResearch(offerId);
        out(
          r.placeKept
            ? `Declined ${offerId}. Its consent is revoked and nothing is sent; the place you took in the study stays accepted on the ledger.\n`
            : `Declined ${offerId}. Nothing was sent: the researcher cannot tell this from not matching.\n`,
        );
      }),
    );

  research
    .command('history')
    .description('the studies you decided on, what each got and the credits paid')
    .option('--json', 'print JSON')
    .action((o: JsonOption, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const entries = await agent.researchHistory();
        if (o.json) json(entries);
        else out(formatHistory(entries));
      }),
    );

  research
    .command('credits')
    .description('your research credits: balance and statement (from the ledger)')
    .option('--json', 'print JSON')
    .action((o: JsonOption, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const credits = await agent.researchCredits();
        if (o.json) json(credits);
        else out(formatCredits(credits));
      }),
    );

  research
    .command('opt-out')
    .description('take no part in research at all: no study can be accepted, hospitals leave you out of their extracts')
    .action((_o: unknown, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        await agent.setResearchOptOut(true);
        out(
          'You opted out of research. Hospitals leave you out of research extracts; run `research opt-in` to take part again.\n',
        );
      }),
    );

  research
    .command('opt-in')
    .description('take part in research again (you still decide on each study)')
    .action((_o: unknown, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        await agent.setResearchOptOut(false);
        out('You opted in to research again. You still decide on each study.\n');
      }),
    );
}

export function formatOffers(offers: ResearchOfferView[]): string {
  if (offers.length === 0) return 'No open study matches your records.\n';
  const rows = offers.map((o) => [
    o.offerId,
    o.finishable
      ? 'accepted, not delivered'
      : o.matches
        ? o.placeKept
          ? 'declined (place kept)'
          : (o.decision ?? '')
        : 'no match',
    String(o.creditsPerParticipant),
    day(o.expiresAt),
    o.institute,
    o.title,
  ]);
  const lines = [table(['offer', 'decision', 'credits', 'until', 'by', 'study'], rows)];
  for (const o of offers) {
    if (o.finishable) {
      // listed whatever the offer's status: the ledger keeps the place until the offer expires
      lines.push(
        `${o.offerId}: accepted, not delivered yet${o.status === 'open' ? '' : ` (the study is ${o.status}; your place is kept until ${day(o.expiresAt)})`}: run \`phr-agent research accept ${o.offerId}\` to finish\n`,
      );
      continue;
    }
    lines.push(
      `${o.offerId}: ${o.matches ? whatWouldBeShared(o.preview) : `not listed for you: ${o.reasons.join('; ')}`}\n`,
    );
  }
  return lines.join('');
}

export function formatOffer(o: ResearchOfferView): string {
  const lines = [
    `Study:    ${o.title}`,
    `Offer:    ${o.offerId} (${o.status})`,
    `By:       ${o.institute}, collected by ${o.collectVia}`,
    `Credits:  ${o.creditsPerParticipant}`,
    `Until:    ${o.expiresAt}`,
    `Dates:    ${o.dates === 'year' ? 'cut to the year' : 'shifted by a secret number of days, the same for the whole study'}`,
    `Match:    ${o.matches ? 'your records match' : `no — ${o.reasons.join('; ')}`}`,
  ];
  if (o.decision)
    lines.push(
      `Decision: ${o.decision}${o.stage && o.stage !== 'delivered' && o.decision === 'accepted' ? ` (not delivered yet: ${o.stage})` : ''}${o.placeKept ? ' (after accepting: consent revoked, place kept, nothing sent)' : ''}${o.finishable ? `; run \`phr-agent research accept ${o.offerId}\` to finish` : ''}`,
    );
  lines.push('', whatWouldBeShared(o.preview).trimEnd());
  const rows = o.preview.elements.map((e) => [
    e.time ?? '',
    e.resourceType,
    e.display ?? e.code ?? '',
    e.value === undefined ? '' : `${e.value}${e.unit ? ` ${e.unit}` : ''}`,
    e.system && e.code ? `${e.system}|${e.code}` : '',
    e.status === 'unchanged'
      ? 'as recorded (verifiable)'
      : e.status === 'withheld'
        ? 'not shareable: its delivery is no longer on this device (stays here)'
        : e.changes.map((c) => `${c.field} ${c.rule}`).join(', '),
  ]);
  if (rows.length > 0) lines.push('', table(['date', 'type', 'what', 'value', 'code', 'how'], rows).trimEnd());
  return lines.join('\n') + '\n';
}

function whatWouldBeShared(p: ResearchPreview): string {
  const demo = Object.entries(p.demographics).map(([k, v]) => `${k} ${String(v)}`);
  const shared = p.elements.filter((e) => e.status !== 'withheld').length;
  const withheld = p.elements.length - shared;
  return `would share ${shared} element(s)${demo.length > 0 ? ` and ${demo.join(', ')}` : ''}${withheld > 0 ? ` (${withheld} not shareable, kept here)` : ''}; never your name, identifiers, address or exact dates\n`;
}

export function formatHistory(entries: ResearchHistoryEntry[]): string {
  if (entries.length === 0) return 'You have not decided on any study yet.\n';
  const rows = entries.map((e) => [
    day(e.decidedAt),
    e.offerId,
    e.status,
    String(e.credits),
    e.shared
      ? [...e.shared.codes.map((c) => `${c.display ?? c.code} ×${c.count}`), ...e.shared.demographics].join(', ')
      : e.status === 'declined'
        ? 'nothing'
        : '',
    e.title,
  ]);
  return table(['date', 'offer', 'status', 'credits', 'what it got', 'study'], rows);
}

export function formatCredits(c: ResearchCredits): string {
  const rows = c.entries.map((e) => [
    day(e.recordedAt),
    e.kind,
    String(e.amount),
    String(e.balanceAfter),
    e.offerId ?? '',
  ]);
  return (
    `Balance: ${c.balance} credits\n` +
    (table(['date', 'kind', 'amount', 'balance', 'offer'], rows) || 'No entries yet.\n')
  );
}
