// Runs the program: a CrossforestError prints its message and hint and exits 1;
// anything unexpected prints one line too (the stack only with --verbose).
import type { Command } from '@commander-js/extra-typings';
import { CrossforestError, describeError } from '../util/errors.ts';

export async function runCli(program: Command<[], Record<string, unknown>>): Promise<void> {
  program.exitOverride();
  // `crossforest sync preview | head`: a reader that went away is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return;
    if (typeof code === 'string' && code.startsWith('commander.')) {
      process.exitCode = 2;
      return;
    }
    const verbose = Boolean(program.opts().verbose);
    process.stderr.write(`crossforest: ${describeError(err)}\n`);
    if (verbose && err instanceof Error && !(err instanceof CrossforestError)) process.stderr.write(`${err.stack}\n`);
    process.exitCode = Number(process.exitCode ?? 0) > 1 ? process.exitCode : 1;
  }
}
