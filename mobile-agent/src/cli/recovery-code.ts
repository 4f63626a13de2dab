/**
 * The recovery code on the command line: shown in the same words wherever it is shown (`backup`,
 * `recovery setup`, `recovery code`), and shown before the step that made it can fail.
 */
import type { Agent } from '../agent';
import { json, out, type JsonOption } from './command-kit';

/** The recovery code with what the patient must do with it. */
export function recoveryCodeText(code: string): string {
  return (
    [
      'Your recovery code. Write it down and keep it apart from this device: it opens your backups and moves',
      'your records to a new device. `phr-agent recovery code` shows it again while this device is yours.',
      '',
      `    ${code}`,
      '',
    ].join('\n') + '\n'
  );
}

/**
 * Before a step that may make the recovery secret (a backup, a recovery setup): makes it and shows
 * its code at once, so that a step failing after it (a gateway away, a full disk) cannot take the
 * code's first showing with it. With --json the code goes to stderr now and into the report after.
 * @returns the code when it was shown now.
 * @throws the ledger's error when the recovery key cannot be registered (nothing was shown then,
 * and the next run shows it).
 */
export async function showRecoveryCodeFirst(
  agent: Pick<Agent, 'ensureRecoverySecret'>,
  o: JsonOption,
): Promise<string | undefined> {
  const { recoveryCode } = await agent.ensureRecoverySecret();
  if (recoveryCode !== undefined) {
    if (o.json) process.stderr.write(recoveryCodeText(recoveryCode));
    else out(recoveryCodeText(recoveryCode));
  }
  return recoveryCode;
}

/**
 * `phr-agent recovery code`: the code again, from the unlocked agent (`Agent.recoveryCode`).
 * @throws Error when there is no recovery secret yet.
 */
export function showRecoveryCode(agent: Pick<Agent, 'recoveryCode'>, o: JsonOption): void {
  const code = agent.recoveryCode();
  if (code === undefined) {
    throw new Error(
      'there is no recovery code yet: `phr-agent backup` or `phr-agent recovery setup` makes it (and shows it)',
    );
  }
  if (o.json) json({ recoveryCode: code });
  else out(recoveryCodeText(code));
}
