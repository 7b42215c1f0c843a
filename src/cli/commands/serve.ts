// `crossforest serve`: the coexistence service (GAL find, free/busy, client
// autoconfiguration) on the one configured port, until SIGINT/SIGTERM.
import type { Command } from '@commander-js/extra-typings';
import { buildServer } from '../../coexistence/server.ts';
import { coexistenceConfig } from '../../coexistence/coexistence.ts';
import { commandContext } from '../context.ts';
import { printJson } from '../output.ts';

export function registerServe(program: Command<[], Record<string, unknown>>): void {
  program
    .command('serve')
    .description('run the coexistence HTTPS service: GAL find, cross-org free/busy, Thunderbird/Outlook/Apple autoconfiguration')
    .option('--port <n>', 'override coexistence.listen.port')
    .action(async (opts, cmd) => {
      const ctx = commandContext(cmd);
      const cfg = coexistenceConfig(ctx.project);
      const app = await buildServer(ctx.project, { logger: ctx.logger });
      const port = opts.port === undefined ? cfg.listen.port : Number(opts.port);
      const address = await app.listen({ host: cfg.listen.host, port });
      const info = { listening: address, tls: Boolean(cfg.tls), routes: ['/api/galfind', '/api/freebusy', '/public/?Cmd=', '/.well-known/autoconfig/mail/config-v1.1.xml', '/autodiscover/autodiscover.xml', '/apple/mail.mobileconfig'] };
      if (ctx.json) printJson(info);
      else process.stderr.write(`crossforest serve: listening on ${address}${cfg.tls ? '' : ' (plain HTTP: tests only)'}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await app.close();
    });
}
