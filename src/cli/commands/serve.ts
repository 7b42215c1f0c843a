// `crossforest serve`: the coexistence service (GAL find, free/busy, client
// autoconfiguration, the operator dashboard) on the one configured port, until
// SIGINT/SIGTERM. `crossforest serve hash-password`: a password hash for an operator's
// secret file (coexistence.dashboard.operators[].password).
import type { Command } from '@commander-js/extra-typings';
import { coexistenceConfig } from '../../coexistence/coexistence.ts';
import { buildServer, routesOf } from '../../coexistence/server.ts';
import { hashPassword, MAX_PASSWORD_LENGTH } from '../../util/passwordHash.ts';
import { commandContext, globals } from '../context.ts';
import { printJson } from '../output.ts';
import { PasswordInputError, readNewPassword } from '../readPassword.ts';

export function registerServe(program: Command<[], Record<string, unknown>>): void {
  const serve = program
    .command('serve')
    .description(
      'run the coexistence HTTPS service: GAL find, cross-org free/busy, Thunderbird/Outlook/Apple autoconfiguration, the operator dashboard',
    )
    .option('--port <n>', 'override coexistence.listen.port')
    .action(async (opts, cmd) => {
      const ctx = commandContext(cmd);
      const cfg = coexistenceConfig(ctx.project);
      const app = await buildServer(ctx.project, { logger: ctx.logger });
      const port = opts.port === undefined ? cfg.listen.port : Number(opts.port);
      // Listening for the stop signals before saying "listening": a supervisor may signal at once.
      const stopped = new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      const address = await app.listen({ host: cfg.listen.host, port });
      const info = { listening: address, tls: Boolean(cfg.tls), dashboard: Boolean(cfg.dashboard), routes: routesOf(app) };
      if (ctx.json) printJson(info);
      else process.stderr.write(`crossforest serve: listening on ${address}${cfg.tls ? '' : ' (plain HTTP: tests only)'}\n`);
      await stopped;
      await app.close();
    });

  serve
    .command('hash-password')
    .description(
      'print a scrypt hash of an operator password for its secret file (typed twice without echo, or the first line of standard input; never an argument)',
    )
    .allowExcessArguments(true)
    .action(async (_opts, cmd) => {
      if (cmd.args.length > 0)
        throw new PasswordInputError(
          'hash-password takes no arguments: a password on the command line lands in the shell history and in `ps`',
          'run it without arguments and type the password at the prompt, or pipe it in; if that was the password, choose another',
        );
      const password = await readNewPassword('Operator password');
      if (password === '')
        throw new PasswordInputError('no password given', 'type it at the prompt, or pipe it in: crossforest serve hash-password < file');
      if (password.length > MAX_PASSWORD_LENGTH)
        throw new PasswordInputError(
          `the password is longer than ${MAX_PASSWORD_LENGTH} characters, which a login never sends`,
          'choose a shorter one',
        );
      const hash = await hashPassword(password);
      if (globals(cmd).json) printJson({ hash });
      else {
        process.stdout.write(`${hash}\n`);
        if (process.stdout.isTTY || process.stderr.isTTY)
          process.stderr.write(
            "Put this line in the operator's password file (mode 0600), named by coexistence.dashboard.operators[].password: { file: … }\n",
          );
      }
    });
}
