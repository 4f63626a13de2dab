/** `log`, `notifications` and `status`: what happened to the patient's records, and what the agent holds. */
import type { Command } from 'commander';
import { json, out, withAgent, type JsonOption } from './command-kit';
import { formatAccessLog, formatNotifications } from './format';

interface NotificationsOptions extends JsonOption {
  unread?: boolean;
  markRead?: boolean;
}

export function addActivityCommands(p: Command): void {
  p.command('log')
    .description('who accessed what, when, for what purpose and with what outcome (from the ledger)')
    .option('--json', 'print JSON')
    .action((o: JsonOption, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const entries = await agent.accessLog();
        if (o.json) json(entries);
        else out(formatAccessLog(entries));
      }),
    );

  p.command('notifications')
    .description('what happened since you last looked')
    .option('--unread', 'only unread ones')
    .option('--mark-read', 'mark them all read')
    .option('--json', 'print JSON')
    .action((o: NotificationsOptions, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const notes = await agent.notifications({ unreadOnly: Boolean(o.unread) });
        if (o.json) json(notes);
        else out(formatNotifications(notes));
        if (o.markRead) await agent.markNotificationsRead();
      }),
    );

  p.command('status')
    .description('your pseudonym, hospitals and what the vault holds')
    .option('--json', 'print JSON')
    .action((o: JsonOption, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const s = await agent.status();
        if (o.json) {
          json(s);
          return;
        }
        out(
          `Pseudonym: ${s.pseudonym}\nHospitals: ${s.hospitals.map((h) => h.name).join(', ')}\n` +
            `Vault: ${s.deliveries} deliveries, ${s.elements} elements\nUnread notifications: ${s.unreadNotifications}\n`,
        );
      }),
    );
}
