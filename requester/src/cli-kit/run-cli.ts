import { Command, CommanderError } from 'commander';

/** A program whose errors come back to runCli as CommanderError, so tests and the process share one exit path. */
export function newProgram(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });
}

/**
 * Runs the program; resolves to the exit code. A failure is one line on stderr, as describeFailure
 * words it, and a non-zero exit: refusals are never silent.
 */
export async function runCli(
  program: Command,
  argv: readonly string[],
  describeFailure: (err: unknown) => string,
): Promise<number> {
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    // commander has already printed its own usage errors
    if (err instanceof CommanderError) return err.exitCode;
    process.stderr.write(`${describeFailure(err)}\n`);
    return 1;
  }
}
