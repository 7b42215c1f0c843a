// `crossforest worker`: the daemon that runs batches as their windows open. Thin.
import type { Command } from '@commander-js/extra-typings';
import { migrationSetup } from '../../migration/setup.ts';
import { runWorker } from '../../migration/worker.ts';
import { commandContext } from '../context.ts';
import { progress } from '../output.ts';

export function registerWorker(program: Command<[], Record<string, unknown>>): void {
  program
    .command('worker')
    .description(
      'run batches as their windows open, within the per-store limits; on the PostgreSQL state, take mailbox steps from the queue (any number of hosts); SIGTERM stops cleanly',
    )
    .option('--poll <seconds>', 'how often to look for batches whose window opened', Number, 30)
    .option('--once', 'run what is due now, then exit')
    .option('--concurrency <n>', 'mailboxes at once in this process, on the PostgreSQL state (default: the batch concurrency)', Number)
    .action(async (opts, cmd) => {
      const ctx = commandContext(cmd);
      const store = await ctx.state();
      let stop = false;
      const onSignal = (): void => {
        stop = true;
        progress('worker: stopping; mailboxes in flight suspend after their current step');
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      try {
        await runWorker(migrationSetup(ctx.project), store, {
          logger: ctx.logger,
          pollSeconds: opts.poll,
          once: Boolean(opts.once),
          concurrency: opts.concurrency,
          stopRequested: () => stop,
          emit: (batch, e) => {
            if (ctx.json) process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), batch, ...e })}\n`);
            else if (e.type === 'state' || e.type === 'batch' || e.type === 'window-closed') progress(`${batch}: ${JSON.stringify(e)}`);
          },
          onResult: (r) =>
            ctx.json
              ? process.stdout.write(`${JSON.stringify({ type: 'result', batch: r.batch.name, status: r.status, report: r.reportHtml })}\n`)
              : progress(`${r.batch.name}: ${r.status}; report ${r.reportHtml}`),
        });
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        await store.close();
      }
    });
}
