// What every hitless command line shares: one place that turns errors into `<cmd>: message` + `hint:` and an
// exit code (2 for usage errors, 1 for everything else), with stacks only under --debug.
import { Command, CommanderError } from 'commander';
import { HitlessError } from './errors.js';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export async function runCli(name: string, program: Command, argv: string[] = process.argv): Promise<void> {
  program.exitOverride();
  program.configureOutput({ outputError: (str, write) => write(`${name}: ${str.replace(/^error: /, '')}`) });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(name, err, argv.includes('--debug'));
  }
}

export function reportError(name: string, err: unknown, debug: boolean): number {
  if (err instanceof CommanderError) {
    // Commander already printed the message; help and version are not failures.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    process.stderr.write(`hint: see '${name} --help'\n`);
    return EXIT_USAGE;
  }
  if (err instanceof HitlessError) {
    process.stderr.write(`${name}: ${err.message} (${err.code})\n`);
    if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.code === 'INVALID_ARGUMENT' ? EXIT_USAGE : EXIT_FAILURE;
  }
  const e = err as Error;
  process.stderr.write(`${name}: unexpected error: ${e?.message ?? String(err)}\n`);
  process.stderr.write(debug && e?.stack ? `${e.stack}\n` : `hint: run again with --debug for details\n`);
  return EXIT_FAILURE;
}
