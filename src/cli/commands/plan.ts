// `crossforest plan <batch|file>`: capacity planning. Thin: parse, call src/migration/plan, print.
import type { Command } from '@commander-js/extra-typings';
import { capacityPlan } from '../../migration/plan.ts';
import { migrationSetup } from '../../migration/setup.ts';
import { commandContext } from '../context.ts';
import { formatBytes, printJson, printTable } from '../output.ts';

const hms = (s: number): string =>
  `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m${String(Math.round(s % 60)).padStart(2, '0')}s`;

export function registerPlan(program: Command<[], Record<string, unknown>>): void {
  program
    .command('plan')
    .description('predict how long a batch (or a names file) takes from measured throughput, and whether it fits the window')
    .argument('<batch-or-file>')
    .option('--window-hours <h>', 'the window to fit (default: the batch window)', Number)
    .option('--concurrency <n>', 'mailboxes at once (default: the batch / project setting)', Number)
    .option('--rate <MBps>', 'MB/s per mailbox, when nothing was measured yet', Number)
    .action(async (subject, opts, cmd) => {
      const ctx = commandContext(cmd);
      const store = await ctx.state();
      try {
        const p = await capacityPlan(migrationSetup(ctx.project), store, {
          subject,
          windowHours: opts.windowHours,
          concurrency: opts.concurrency,
          rateMBps: opts.rate,
        });
        if (ctx.json) return printJson(p);
        printTable(p.mailboxes, [
          { header: 'mailbox', value: (m) => m.login },
          { header: 'messages', value: (m) => m.messages, align: 'right' },
          { header: 'size', value: (m) => formatBytes(m.bytes), align: 'right' },
          { header: 'predicted', value: (m) => hms(m.seconds), align: 'right' },
        ]);
        const out = [
          `${p.mailboxes.length} mailboxes, ${p.totals.messages} messages, ${formatBytes(p.totals.bytes)}`,
          `rate ${(p.rate.bytesPerSecond / 1e6).toFixed(2)} MB/s${Number.isFinite(p.rate.messagesPerSecond) ? `, ${p.rate.messagesPerSecond.toFixed(0)} msg/s` : ''} per mailbox (${p.rate.source}); ${p.overheadSeconds.toFixed(1)} s fixed per mailbox; ${p.streams} at once`,
          `predicted duration ${hms(p.predictedSeconds)}`,
        ];
        if (p.windowSeconds !== null)
          out.push(
            `window ${hms(p.windowSeconds)}: ${p.fits ? 'fits' : `does NOT fit; ${p.mailboxesThatFit} of ${p.mailboxes.length} mailboxes fit`}`,
          );
        if (p.actualSeconds !== null) out.push(`this batch actually took ${hms(p.actualSeconds)}`);
        process.stdout.write(`${out.join('\n')}\n`);
        if (p.fits === false) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
}
