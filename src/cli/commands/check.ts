// `crossforest check`: one row per endpoint; exit code 1 when any fails.
import type { Command } from '@commander-js/extra-typings';
import { checkEndpoints } from '../../check/endpoints.ts';
import { recordChecks } from '../../check/history.ts';
import { commandContext } from '../context.ts';
import { printJson, printTable } from '../output.ts';

export function registerCheck(program: Command<[], Record<string, unknown>>): void {
  program
    .command('check')
    .description('connect to every directory and mail store in the project file and report on each')
    .action(async (_opts, cmd) => {
      const ctx = commandContext(cmd);
      const rows = await checkEndpoints(ctx.project);
      if (ctx.json) printJson(rows);
      else {
        printTable(rows, [
          { header: 'org', value: (r) => r.organization },
          { header: 'endpoint', value: (r) => r.endpoint },
          { header: 'address', value: (r) => r.address },
          { header: 'reachable', value: (r) => r.reachable },
          { header: 'auth', value: (r) => r.authenticated },
          { header: 'TLS', value: (r) => r.tls },
          { header: 'software', value: (r) => r.software },
          { header: 'ms', value: (r) => r.latencyMs, align: 'right' },
        ]);
        for (const r of rows.filter((x) => !x.ok)) process.stderr.write(`✗ ${r.organization} ${r.endpoint}: ${r.error}\n`);
      }
      const store = await ctx.state();
      await recordChecks(store, rows);
      await store.close();
      if (rows.some((r) => !r.ok)) process.exitCode = 1;
    });
}
