// `crossforest batch …`: migration batches (create, list, show, start, suspend, resume,
// complete, retry-failed, remove, rollback, report, notices). Thin: parse, call src/migration, print.
import type { Command } from '@commander-js/extra-typings';
import { initialPasswordOf, removeBatch, reopenWindow, requestComplete, rollbackMailbox, suspendBatch } from '../../migration/batchOps.ts';
import { allBatches, mailboxesOf, stepsOf } from '../../migration/batchStore.ts';
import { createBatch } from '../../migration/createBatch.ts';
import { detachBatch } from '../../migration/distributed.ts';
import { LiveStatus } from '../../migration/liveStatus.ts';
import { noticeLines, resendNotices } from '../../migration/noticeOps.ts';
import { comparePrediction } from '../../migration/prediction.ts';
import { predictionOf } from '../../migration/predictionStore.ts';
import { mailboxReport, writeBatchReport } from '../../migration/report.ts';
import { batchOrThrow, runBatch } from '../../migration/runner.ts';
import { MigrationError, migrationSetup } from '../../migration/setup.ts';
import type { BatchOptions, RunEvent } from '../../migration/types.ts';
import { copiedNow, watchBatch } from '../../migration/watch.ts';
import { parseWindowTime } from '../../migration/window.ts';
import type { StateStore } from '../../state/store.ts';
import { type CommandContext, commandContext } from '../context.ts';
import { formatBytes, printJson, printTable, progress } from '../output.ts';

const int =
  (name: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new MigrationError('CF_ERR_BATCH_OPTIONS', `${name} must be a whole number ≥ 0, not "${v}"`, { object: name });
    return n;
  };
const positive =
  (name: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0)
      throw new MigrationError('CF_ERR_BATCH_OPTIONS', `${name} must be a number > 0, not "${v}"`, { object: name });
    return n;
  };
function time(name: string, v: string | undefined, after = new Date()): string | undefined {
  if (v === undefined) return undefined;
  const t = parseWindowTime(v, after);
  if (!t)
    throw new MigrationError('CF_ERR_BATCH_OPTIONS', `${name} "${v}" is neither HH:MM nor an ISO time (2026-11-28T22:00:00Z)`, {
      object: name,
    });
  return t;
}

/** The live view: a redrawn table on a terminal, progress lines otherwise, JSON lines with --json. */
function liveView(ctx: CommandContext, view: LiveStatus): { emit: (e: RunEvent) => void; draw: (force?: boolean) => void } {
  const tty = process.stderr.isTTY && !ctx.json;
  let drawn = 0;
  let last = 0;
  const draw = (force = false): void => {
    const now = Date.now();
    // A terminal is redrawn twice a second; a log (no TTY) gets a progress line every 5 s.
    if (!force && now - last < (tty ? 500 : 5000)) return;
    last = now;
    const lines = view.render();
    if (tty) {
      process.stderr.write(`${drawn ? `\x1b[${drawn}A` : ''}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
      drawn = lines.length;
    } else progress(lines[lines.length - 1] as string);
  };
  const emit = (e: RunEvent): void => {
    view.apply(e);
    if (ctx.json) {
      process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), ...e })}\n`);
      return;
    }
    if (!tty && e.type === 'state') progress(`${e.mailbox}: ${e.state}${e.step ? ` (${e.step})` : ''}${e.error ? `: ${e.error}` : ''}`);
    if (!tty && (e.type === 'wait' || e.type === 'window-closed'))
      progress(e.type === 'wait' ? `${e.mailbox}: ${e.what}` : `batch ${e.batch}: the window closed`);
    draw(tty && e.type === 'state');
  };
  return { emit, draw };
}

function printOutcome(
  ctx: CommandContext,
  name: string,
  r: { status: string; states: Record<string, number>; reportHtml: string | null },
): void {
  if (ctx.json)
    process.stdout.write(
      `${JSON.stringify({ at: new Date().toISOString(), type: 'result', status: r.status, states: r.states, report: r.reportHtml })}\n`,
    );
  else
    process.stdout.write(
      `batch ${name}: ${r.status} (${Object.entries(r.states)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')})\nreport: ${r.reportHtml ?? '(none yet)'}\n`,
    );
  if (r.status === 'completed-with-errors') process.exitCode = 1;
}

/**
 * Runs a batch with the live view. A batch the workers run (started with --detach, or
 * `detach` asked now) is queued for them instead, and the view follows it from the state.
 */
async function runWithView(ctx: CommandContext, name: string, opts: { retryFailed?: boolean; detach?: boolean } = {}): Promise<void> {
  const setup = migrationSetup(ctx.project);
  const store = await ctx.state();
  try {
    const b = await batchOrThrow(store, name);
    if (opts.detach || b.detached) {
      const d = await detachBatch(setup, store, name, { retryFailed: opts.retryFailed, logger: ctx.logger });
      if (opts.detach) {
        if (ctx.json) printJson({ batch: name, status: 'running', detached: true, enqueued: d.enqueued });
        else
          process.stdout.write(
            `batch ${name}: ${d.enqueued} mailboxes queued for the workers (crossforest worker on any host); follow it with: crossforest batch wait ${name}\n`,
          );
        return;
      }
      return await waitWithView(ctx, store, name);
    }
    const view = new LiveStatus(
      (await mailboxesOf(store, b.id)).map((m) => ({ login: m.sourceLogin, state: m.state, messages: m.messages, bytes: m.bytes })),
    );
    const { emit, draw } = liveView(ctx, view);
    const r = await runBatch(setup, store, name, { logger: ctx.logger, emit, retryFailed: opts.retryFailed });
    if (!ctx.json) draw(true);
    printOutcome(ctx, name, r);
  } finally {
    await store.close();
  }
}

/** `batch wait`: the live view of a batch workers run, until it is concluded. */
async function waitWithView(ctx: CommandContext, store: StateStore, name: string, timeoutSeconds?: number): Promise<void> {
  const b = await batchOrThrow(store, name);
  const ms = await mailboxesOf(store, b.id);
  const copied = await copiedNow(store, ms);
  const view = new LiveStatus(
    ms.map((m) => ({
      login: m.sourceLogin,
      state: m.state,
      messages: m.messages,
      bytes: m.bytes,
      copied: copied.get(m.id)?.messages,
      copiedBytes: copied.get(m.id)?.bytes,
    })),
  );
  const { emit, draw } = liveView(ctx, view);
  const r = await watchBatch(store, name, { emit, timeoutSeconds });
  if (!ctx.json) draw(true);
  printOutcome(ctx, name, r);
}

export function registerBatch(program: Command<[], Record<string, unknown>>): void {
  const batch = program.command('batch').description('migration batches: pre-stage, copy, cutover, clean-up, verify, report');
  batch
    .command('create')
    .description(
      'create a batch from a names file (.txt: one name a line; .csv: name + overrides) or a directory group; every name is checked first',
    )
    .argument('<name>')
    .option('--from <file>', 'names file: sAMAccountName, UPN, mail or DN per line (# comments), or a CSV with a name column')
    .option('--group <dn>', 'a source directory group; its members now (locked at creation)')
    .requiredOption('--target-store <store>', 'target store (migration.targetStores)')
    .option('--retry-interval <seconds>', 'wait between polls and retries', positive('--retry-interval'))
    .option('--mailbox-ready-timeout <seconds>', 'how long pre-stage waits for the target store', positive('--mailbox-ready-timeout'))
    .option('--bad-item-limit <n>', 'skipped bad items allowed per mailbox', int('--bad-item-limit'))
    .option('--large-item-limit <n>', 'skipped large items allowed per mailbox', int('--large-item-limit'))
    .option('--allow-merge', 'copy into target mailboxes that already hold mail')
    .option('--no-allow-merge', 'refuse target mailboxes that already hold mail')
    .option('--concurrency <n>', 'mailboxes in flight at once', positive('--concurrency'))
    .option('--window-start <time>', 'HH:MM (next) or ISO time: nothing starts before')
    .option('--window-stop <time>', 'HH:MM (next after the start) or ISO time: nothing new starts after; mailboxes suspend')
    .option('--cutover <mode>', 'immediate | complete-after | manual')
    .option('--complete-after <time>', 'with --cutover complete-after: HH:MM or ISO time')
    .option(
      '--cutover-settle <seconds>',
      'at cutover, wait between routing new mail to the target and the final delta, for mail in flight (default: migration.defaults.cutoverSettleSeconds, 5)',
      Number,
    )
    .option('--workgroup <label>', 'a label grouping batches')
    .action(async (name, opts, cmd) => {
      const ctx = commandContext(cmd);
      const setup = migrationSetup(ctx.project);
      if (Boolean(opts.from) === Boolean(opts.group))
        throw new MigrationError('CF_ERR_BATCH_NAMES', 'give exactly one of --from <file> and --group <DN>', { object: name });
      if (opts.cutover && !['immediate', 'complete-after', 'manual'].includes(opts.cutover))
        throw new MigrationError('CF_ERR_BATCH_OPTIONS', `--cutover "${opts.cutover}": immediate, complete-after or manual`, {
          object: '--cutover',
        });
      const windowStart = time('--window-start', opts.windowStart);
      const options: Partial<BatchOptions> = {
        retryIntervalSeconds: opts.retryInterval,
        mailboxReadyTimeoutSeconds: opts.mailboxReadyTimeout,
        badItemLimit: opts.badItemLimit,
        largeItemLimit: opts.largeItemLimit,
        allowMerge: opts.allowMerge,
        concurrency: opts.concurrency,
        windowStart,
        windowStop: time('--window-stop', opts.windowStop, windowStart ? new Date(windowStart) : new Date()),
        cutover: opts.cutover as BatchOptions['cutover'] | undefined,
        completeAfter: time('--complete-after', opts.completeAfter),
        workgroup: opts.workgroup,
        cutoverSettleSeconds: opts.cutoverSettle,
      };
      for (const k of Object.keys(options) as (keyof BatchOptions)[]) if (options[k] === undefined) delete options[k];
      const store = await ctx.state();
      try {
        const r = await createBatch(setup, store, {
          name,
          from: opts.from ? { file: opts.from } : { group: opts.group as string },
          targetStore: opts.targetStore,
          options,
        });
        if (ctx.json) return printJson({ batch: name, mailboxes: r.mailboxes });
        printTable(r.mailboxes, [
          { header: 'name', value: (m) => m.name },
          { header: 'source', value: (m) => m.sourceLogin },
          { header: 'target', value: (m) => m.plan.targetLogin },
          {
            header: 'target object',
            value: (m) => (m.plan.existingUser ? 'existing user' : m.plan.contactDn ? 'contact → user' : 'new user'),
          },
          { header: 'primary address', value: (m) => m.plan.targetPrimary },
        ]);
        process.stdout.write(
          `batch ${name} created with ${r.mailboxes.length} mailboxes; start it with: crossforest batch start ${name}\n`,
        );
      } finally {
        await store.close();
      }
    });
  batch
    .command('list')
    .description('the batches and how far each got')
    .action(async (_o, cmd) => {
      const ctx = commandContext(cmd);
      const store = await ctx.state();
      try {
        const rows = [];
        for (const b of await allBatches(store)) {
          const ms = await mailboxesOf(store, b.id);
          const by = (s: string) => ms.filter((m) => m.state === s).length;
          rows.push({ ...b, mailboxes: ms.length, done: by('done'), failed: by('failed'), suspended: by('suspended') });
        }
        if (ctx.json) return printJson(rows);
        printTable(rows, [
          { header: 'batch', value: (b) => b.name },
          { header: 'status', value: (b) => b.status },
          { header: 'store', value: (b) => b.targetStore },
          { header: 'mailboxes', value: (b) => b.mailboxes, align: 'right' },
          { header: 'done', value: (b) => b.done, align: 'right' },
          { header: 'failed', value: (b) => b.failed, align: 'right' },
          { header: 'suspended', value: (b) => b.suspended, align: 'right' },
          { header: 'cutover', value: (b) => b.options.cutover },
          {
            header: 'window',
            value: (b) =>
              b.options.windowStart || b.options.windowStop ? `${b.options.windowStart ?? ''} → ${b.options.windowStop ?? ''}` : '',
          },
          { header: 'workgroup', value: (b) => b.options.workgroup ?? '' },
        ]);
      } finally {
        await store.close();
      }
    });
  batch
    .command('show')
    .description('per mailbox: state, items, bytes, throughput, errors; the predicted duration against the actual one')
    .argument('<name>')
    .action(async (name, _o, cmd) => {
      const ctx = commandContext(cmd);
      const store = await ctx.state();
      try {
        const b = await batchOrThrow(store, name);
        const steps = await stepsOf(store, b.id);
        const rows = (await mailboxesOf(store, b.id)).map((m) => mailboxReport(m, steps));
        const prediction = comparePrediction(await predictionOf(store, b.id), steps, b);
        if (ctx.json) return printJson({ batch: b, mailboxes: rows, prediction });
        process.stdout.write(
          `batch ${b.name}: ${b.status}; ${b.sourceOrg} → ${b.targetOrg} store ${b.targetStore}; options ${JSON.stringify(b.options)}\n`,
        );
        printTable(rows, [
          { header: 'source', value: (m) => m.source },
          { header: 'target', value: (m) => m.target },
          { header: 'state', value: (m) => (m.resumeState ? `${m.state} (at ${m.resumeState})` : m.state) },
          { header: 'messages', value: (m) => m.messages, align: 'right' },
          { header: 'size', value: (m) => formatBytes(m.bytes), align: 'right' },
          { header: 'copied', value: (m) => m.copied, align: 'right' },
          { header: 'deltas', value: (m) => m.deltas, align: 'right' },
          { header: 'skipped', value: (m) => m.skipped.length, align: 'right' },
          { header: 'msg/s', value: (m) => m.messagesPerSecond, align: 'right' },
          { header: 'fidelity', value: (m) => (m.fidelity === null ? '' : `${(m.fidelity * 100).toFixed(1)} %`), align: 'right' },
          { header: 'error', value: (m) => (m.error ?? '').split('\n').slice(0, 2).join(' ') },
        ]);
        process.stdout.write(`\npredicted and actual duration:\n${prediction.summary.map((l) => `  ${l}`).join('\n')}\n`);
      } finally {
        await store.close();
      }
    });
  batch
    .command('start')
    .description('run the batch (live view; --json lines); --detach queues it for the workers (PostgreSQL state)')
    .argument('<name>')
    .option('--detach', 'only queue the mailboxes for `crossforest worker` processes on any host, and return')
    .action(async (name, opts, cmd) => {
      await runWithView(commandContext(cmd), name, { detach: Boolean(opts.detach) });
    });
  batch
    .command('wait')
    .description('follow a batch the workers run (live view, --json lines) until it ends; exit 1 if it completed with errors')
    .argument('<name>')
    .option('--timeout <seconds>', 'give up after this long (exit 1)', positive('--timeout'))
    .action(async (name, opts, cmd) => {
      const ctx = commandContext(cmd);
      const store = await ctx.state();
      try {
        await waitWithView(ctx, store, name, opts.timeout);
      } finally {
        await store.close();
      }
    });
  batch
    .command('resume')
    .description('continue every suspended mailbox from its last completed step (re-opens a closed window)')
    .argument('<name>')
    .action(async (name, _o, cmd) => {
      const ctx = commandContext(cmd);
      await reopenWindow(await ctx.state(), name);
      await runWithView(ctx, name);
    });
  batch
    .command('retry-failed')
    .description('run the failed mailboxes again from their last completed step')
    .argument('<name>')
    .action(async (name, _o, cmd) => {
      await runWithView(commandContext(cmd), name, { retryFailed: true });
    });
  batch
    .command('complete')
    .description('allow cutover (manual / complete-after batches) and run it')
    .argument('<name>')
    .action(async (name, _o, cmd) => {
      const ctx = commandContext(cmd);
      await requestComplete(await ctx.state(), name);
      await runWithView(ctx, name);
    });
  batch
    .command('suspend')
    .description('close the window now: a running batch suspends after the current steps')
    .argument('<name>')
    .action(async (name, _o, cmd) => {
      const ctx = commandContext(cmd);
      const store = await ctx.state();
      try {
        await suspendBatch(store, name);
        process.stdout.write(
          `batch ${name}: window closed; mailboxes in flight suspend after their current step (batch resume continues)\n`,
        );
      } finally {
        await store.close();
      }
    });
  batch
    .command('remove')
    .description('forget a batch (refused while mailboxes are midway, unless --force)')
    .argument('<name>')
    .option('--force', 'forget it even with mailboxes midway')
    .action(async (name, opts, cmd) => {
      const ctx = commandContext(cmd);
      const store = await ctx.state();
      try {
        const mid = await removeBatch(store, name, Boolean(opts.force));
        process.stdout.write(
          `batch ${name} removed${mid.length ? ` (${mid.length} mailboxes were midway; their directory objects are as they were)` : ''}\n`,
        );
      } finally {
        await store.close();
      }
    });
  batch
    .command('rollback')
    .description(
      'reverse the cutover of one mailbox (cut over up to done): mail that reached or changed in the target since is copied back, the source serves it again, mail routes back; the mailbox is queued for a later move',
    )
    .argument('<user>', 'source login')
    .action(async (user, _o, cmd) => {
      const ctx = commandContext(cmd);
      const store = await ctx.state();
      try {
        const emit = (e: RunEvent): void => {
          if (!ctx.json && e.type === 'wait') progress(`${e.mailbox}: ${e.what}`);
        };
        const m = await rollbackMailbox(migrationSetup(ctx.project), store, user, { logger: ctx.logger, emit });
        const o = m.outcome;
        if (ctx.json)
          return printJson({
            rolledBack: m.sourceLogin,
            batch: m.batchName,
            state: m.state,
            copiedBack: o.copiedBack,
            copiedBackBytes: o.copiedBackBytes,
            flagsUpdated: o.flagsUpdated,
          });
        process.stdout.write(
          `${m.sourceLogin}: cutover rolled back (batch ${m.batchName}); ${o.copiedBack} messages (${formatBytes(o.copiedBackBytes)}) copied back from ${m.plan.targetLogin}, ${o.flagsUpdated} flag changes carried over; the source mailbox serves again, ${m.sourceMail} routes to it; state ${m.state} (batch start moves it again)\n`,
        );
      } finally {
        await store.close();
      }
    });
  batch
    .command('password')
    .description('show the initial password pre-stage gave a new Active Directory user (kept sealed in the state store; never logged)')
    .argument('<user>', 'source login')
    .action(async (user, _o, cmd) => {
      const ctx = commandContext(cmd);
      const store = await ctx.state();
      try {
        const p = await initialPasswordOf(migrationSetup(ctx.project), store, user);
        if (ctx.json) return printJson({ user: p.login, targetLogin: p.targetLogin, initialPassword: p.password });
        process.stdout.write(`${p.targetLogin}\t${p.password}\n`);
      } finally {
        await store.close();
      }
    });
  batch
    .command('notices')
    .description(
      'the user notices of a batch (kind, status, recipient, attempts, warning); --resend sends the failed and missed ones again',
    )
    .argument('<name>')
    .option('--resend', 'send the notices that failed or were missed (never one recorded sent)')
    .option('--mailbox <login>', 'only this mailbox (source login)')
    .option('--kind <kind>', 'only before or after notices')
    .option('--include-unknown', 'also resend notices whose sending was cut off (the user may already have them)')
    .action(async (name, opts, cmd) => {
      const ctx = commandContext(cmd);
      const kind = opts.kind;
      if (kind !== undefined && kind !== 'before' && kind !== 'after') {
        throw new MigrationError('CF_ERR_BATCH_OPTIONS', `--kind must be before or after, not "${kind}"`, { object: '--kind' });
      }
      if (!opts.resend && (opts.mailbox || kind || opts.includeUnknown)) {
        throw new MigrationError('CF_ERR_BATCH_OPTIONS', '--mailbox, --kind and --include-unknown choose what --resend sends', {
          object: name,
          hint: `crossforest batch notices ${name} --resend …`,
        });
      }
      const store = await ctx.state();
      try {
        const b = await batchOrThrow(store, name);
        if (opts.resend) {
          const sent = await resendNotices(migrationSetup(ctx.project), store, b, {
            mailbox: opts.mailbox,
            kind,
            includeUnknown: opts.includeUnknown,
            logger: ctx.logger,
          });
          if (ctx.json) return printJson(sent);
          if (sent.length === 0) process.stdout.write('nothing to resend\n');
          for (const o of sent) process.stdout.write(`${o.mailbox} ${o.kind}: ${o.status}${o.warning ? ` (${o.warning})` : ''}\n`);
          if (sent.some((o) => o.status !== 'sent')) process.exitCode = 1;
          return;
        }
        const lines = await noticeLines(store, b);
        if (ctx.json) return printJson(lines);
        printTable(lines, [
          { header: 'mailbox', value: (l) => l.mailbox },
          { header: 'notice', value: (l) => l.kind },
          { header: 'status', value: (l) => l.status },
          { header: 'to', value: (l) => l.recipient },
          { header: 'attempts', value: (l) => l.attempts, align: 'right' },
          { header: 'sent', value: (l) => l.sentAt ?? '' },
          { header: 'warning', value: (l) => l.warning ?? '' },
        ]);
      } finally {
        await store.close();
      }
    });
  batch
    .command('report')
    .description('write the batch report (JSON + HTML) now')
    .argument('<name>')
    .action(async (name, _o, cmd) => {
      const ctx = commandContext(cmd);
      const store = await ctx.state();
      try {
        const r = await writeBatchReport(migrationSetup(ctx.project), store, await batchOrThrow(store, name));
        if (ctx.json) return printJson({ html: r.html, json: r.json, totals: r.report.totals });
        process.stdout.write(`report: ${r.html}\n        ${r.json}\n`);
      } finally {
        await store.close();
      }
    });
}
