// `crossforest plan <batch|file>`: capacity planning; `crossforest plan --estate generate|<file.json>`:
// the whole estate's move windows, by simulation. Thin: parse, call src/migration/plan or
// src/migration/estatePlan, print.
import type { Command } from '@commander-js/extra-typings';
import { boundingLabel, capRows, type EstateRun, LIMIT_WORDS, runEstatePlan } from '../../migration/estatePlan.ts';
import { capacityPlan } from '../../migration/plan.ts';
import { MigrationError, migrationSetup } from '../../migration/setup.ts';
import { type CommandContext, commandContext } from '../context.ts';
import { formatBytes, printJson, printTable } from '../output.ts';

const hms = (s: number): string =>
  `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
const n = (v: number): string => v.toLocaleString('en-US');
const mbps = (bps: number): string => `${Number((bps / 1e6).toPrecision(3))} MB/s`;

interface EstateOpts {
  estate?: string;
  mailboxes?: number;
  servers?: number;
  sites?: number;
  seed?: number;
  windowHours?: number;
  windowsPerDay?: number;
  workers?: number;
  rate?: number;
  goal?: number;
  all?: boolean;
}

export function registerPlan(program: Command<[], Record<string, unknown>>): void {
  program
    .command('plan')
    .description(
      'predict how long a batch (or a names file) takes from measured throughput, and whether it fits the window; ' +
        'with --estate, simulate the whole estate’s move windows (exit code 1 when it does not fit)',
    )
    .argument('[batch-or-file]', 'a batch name or a names file (not with --estate)')
    .option('--window-hours <h>', 'the window to fit (default: the batch window; with --estate: 6)', Number)
    .option('--concurrency <n>', 'mailboxes at once (default: the batch / project setting; not with --estate)', Number)
    .option('--rate <MBps>', 'MB/s per mailbox (per stream), in place of the rate measured on earlier copy passes', Number)
    .option(
      '--estate <generate|file.json>',
      'simulate a whole estate: a generated one, or a JSON file of the Estate shape (src/migration/estate.ts)',
    )
    .option('--mailboxes <n>', 'with --estate generate: mailboxes (default 30000)', Number)
    .option('--servers <n>', 'with --estate generate: source servers (default 100)', Number)
    .option('--sites <n>', 'with --estate generate: sites (default 30)', Number)
    .option('--seed <n>', 'with --estate generate: the generator seed (default 2007)', Number)
    .option('--windows-per-day <n>', 'with --estate: windows a day (default 4)', Number)
    .option('--workers <n>', 'with --estate: mailboxes in flight across every worker host (default: only the servers limit)', Number)
    .option('--goal <n>', 'with --estate: mailboxes a window to reach (default: the seed’s 600)', Number)
    .option('--all', 'with --estate: list every window, not the first 10 and the last')
    .action(async (subject, opts, cmd) => {
      const ctx = commandContext(cmd);
      if (opts.estate !== undefined) return planEstateCommand(ctx, subject, opts);
      const estateOnly = (['mailboxes', 'servers', 'sites', 'seed', 'windowsPerDay', 'workers', 'goal', 'all'] as const).filter(
        (k) => opts[k] !== undefined,
      );
      if (subject === undefined)
        throw new MigrationError('CF_ERR_PLAN_SUBJECT', 'plan needs a batch, a names file, or --estate', {
          object: 'plan',
          hint: 'crossforest plan <batch-or-file>, or crossforest plan --estate generate (crossforest plan --help)',
        });
      if (estateOnly.length)
        throw new MigrationError('CF_ERR_PLAN_SUBJECT', `only --estate takes ${estateOnly.map(flag).join(', ')}, not a batch or file`, {
          object: subject,
          hint: `crossforest plan --estate generate ${estateOnly.map(flag).join(' … ')} …`,
        });
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

const flag = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

async function planEstateCommand(
  ctx: CommandContext,
  subject: string | undefined,
  opts: EstateOpts & { concurrency?: number },
): Promise<void> {
  if (subject !== undefined)
    throw new MigrationError('CF_ERR_PLAN_SUBJECT', `plan takes a batch or file, or --estate, not both ("${subject}")`, {
      object: subject,
      hint: 'crossforest plan --estate generate, or crossforest plan <batch-or-file>',
    });
  if (opts.concurrency !== undefined)
    throw new MigrationError('CF_ERR_ESTATE', '--concurrency is for a batch; an estate runs as many at once as each server allows', {
      object: 'plan --estate',
      hint: 'limit every worker host together with --workers <n>',
    });
  // The state store for the measured rates only: no lab, no directory, no mail store is opened.
  const store = await ctx.state();
  let run: EstateRun;
  try {
    run = await runEstatePlan(store, {
      estate: opts.estate as string,
      mailboxes: opts.mailboxes,
      servers: opts.servers,
      sites: opts.sites,
      seed: opts.seed,
      windowHours: opts.windowHours,
      windowsPerDay: opts.windowsPerDay,
      workers: opts.workers,
      rateMBps: opts.rate,
      goalPerWindow: opts.goal,
    });
  } finally {
    await store.close();
  }
  const { plan } = run;
  if (!plan.goal.fits) process.exitCode = 1;
  if (ctx.json) return printJson(run);
  type Row = (typeof plan.windowSummaries)[number] | { omitted: number };
  const rows: Row[] = capRows(plan.windowSummaries, Boolean(opts.all));
  const gap = (r: Row): r is { omitted: number } => 'omitted' in r;
  printTable(rows, [
    { header: 'window', value: (r) => (gap(r) ? '…' : r.index), align: 'right' },
    { header: 'day', value: (r) => (gap(r) ? '' : Math.ceil(r.index / run.windowsPerDay)), align: 'right' },
    { header: 'mailboxes', value: (r) => (gap(r) ? `(${n(r.omitted)} windows)` : r.mailboxes), align: 'right' },
    { header: 'size', value: (r) => (gap(r) ? '' : formatBytes(r.bytes)), align: 'right' },
    {
      header: 'bound by (≥ 95 % busy)',
      value: (r) => (gap(r) ? '' : boundingLabel(r.boundingServers, run.estate.servers, r.boundByWorkers)),
    },
  ]);
  const e = run.estate;
  const out = [
    `estate: ${e.source}: ${n(e.mailboxes)} mailboxes, ${formatBytes(e.bytes)} on ${n(e.servers)} servers in ${n(e.sites)} sites`,
  ];
  if (e.shape)
    out.push(
      `  assumed limits: ${e.shape.maxConcurrentMailboxes} mailboxes at once and ${mbps(e.shape.serverBytesPerSecond)} per server, ` +
        `${mbps(e.shape.siteBytesPerSecond)} per site link, ${mbps(e.shape.targetBytesPerSecond)} target intake; ` +
        `sizes log-normal, median ${formatBytes(e.shape.medianBytes)}, at most ${formatBytes(e.shape.maxBytes)}`,
    );
  const r = run.rates;
  out.push(
    `rates: ${mbps(r.streamBytesPerSecond)}${Number.isFinite(r.streamMessagesPerSecond) ? `, ${r.streamMessagesPerSecond.toFixed(0)} msg/s` : ''} per stream ` +
      `(${r.source}); ${r.overheadSeconds.toFixed(1)} s fixed per mailbox (${r.overheadSource})`,
  );
  for (const g of run.limits) {
    const range =
      g.laneBytesPerSecond.min === g.laneBytesPerSecond.max
        ? mbps(g.laneBytesPerSecond.min)
        : `${mbps(g.laneBytesPerSecond.min)} to ${mbps(g.laneBytesPerSecond.max)}`;
    out.push(`  each lane ${range} on ${n(g.servers)} servers, set by ${LIMIT_WORDS[g.limit]}`);
  }
  const perDayGoal = plan.goal.perDay;
  out.push(
    `windows needed: ${n(plan.windows)} of ${Number((run.windowSeconds / 3600).toFixed(2))} h, ${run.windowsPerDay} a day: ${n(plan.days)} days` +
      (run.workers === null ? '' : `; ${n(run.workers)} mailboxes in flight across the workers`),
    `per window: ${n(plan.perWindow.mean)} on average (${n(plan.perWindow.min)} to ${n(plan.perWindow.max)}) vs the goal of ${n(plan.goal.perWindow)}: ${plan.perWindow.mean >= plan.goal.perWindow ? 'fits' : 'does NOT fit'}`,
    `per day: ${n(plan.perDay)} vs the goal of ${n(perDayGoal)}: ${plan.perDay >= perDayGoal ? 'fits' : 'does NOT fit'}`,
  );
  const t = run.totals;
  out.push(
    `scheduled: ${n(t.scheduled.mailboxes)} mailboxes, ${formatBytes(t.scheduled.bytes)}; cannot move in one window: ${n(t.tooLarge.mailboxes)} mailboxes, ${formatBytes(t.tooLarge.bytes)}` +
      (t.tooLarge.mailboxes ? ' (they need an online move: copied ahead, a last delta in the window)' : ''),
  );
  for (const big of capRows(plan.tooLarge, Boolean(opts.all), 5, 0))
    out.push(
      'omitted' in big ? `  … ${n(big.omitted)} more (--all, or --json)` : `  ${big.login} on ${big.server}: ${hms(big.seconds)} alone`,
    );
  out.push(
    `verdict: ${plan.goal.fits ? 'fits' : 'does NOT fit'} the goal of ${n(plan.goal.perWindow)} a window, ${n(perDayGoal)} a day` +
      (plan.goal.fits
        ? ''
        : t.tooLarge.mailboxes && plan.perWindow.mean >= plan.goal.perWindow
          ? ': only the too-large mailboxes stand in the way'
          : ''),
  );
  process.stdout.write(`${out.join('\n')}\n`);
}
