// `crossforest sync run|preview|history|errors`: the GAL sync engine (src/sync).
import type { Command } from '@commander-js/extra-typings';
import { createEngine } from '../../sync/engine.ts';
import { previewOnSnapshot } from '../../sync/preview.ts';
import { runProfile } from '../../sync/profiles.ts';
import { newRunContext } from '../../sync/runContext.ts';
import { getRun, listRuns, type RunRecord, runErrors } from '../../sync/runHistory.ts';
import { CrossforestError } from '../../util/errors.ts';
import { commandContext } from '../context.ts';
import { printJson, printTable, progress } from '../output.ts';

function countCell(r: RunRecord, k: keyof RunRecord['counts']): number {
  return r.counts[k] ?? 0;
}

function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CrossforestError('CF_ERR_USAGE', `--allow-deletes wants a whole number ≥ 0, not "${v}"`);
  return n;
}

export function registerSync(program: Command<[], Record<string, unknown>>): void {
  const sync = program.command('sync').description('GAL sync between the forests: the metaverse engine (MIIS, done right)');

  sync
    .command('run')
    .description(
      'run a profile: full-cycle, delta-cycle, a sync.runProfiles name, a step (full-import, delta-import, full-sync, delta-sync, export) or <agent>:<step>',
    )
    .argument('<profile>')
    .option('--allow-deletes <n>', 'let an export delete up to n objects per agent (overrides deleteThreshold)', nonNegativeInt)
    .action(async (profile, opts, cmd) => {
      const ctx = commandContext(cmd);
      const engine = await createEngine(ctx.project, ctx.logger);
      const store = await ctx.state();
      const phases = new Map<string, number>();
      let last = 0;
      try {
        const run = await runProfile(engine, store, profile, {
          ...(opts.allowDeletes === undefined ? {} : { allowDeletes: opts.allowDeletes }),
          progress: (phase, done, total) => {
            if (!phases.has(phase)) phases.set(phase, Date.now());
            if (Date.now() - last < 1000 && done !== total) return;
            last = Date.now();
            const rate = (done * 1000) / Math.max(1, Date.now() - (phases.get(phase) as number));
            const eta = total && rate > 0 ? `, ETA ${Math.ceil((total - done) / rate)} s` : '';
            progress(`${phase}: ${done}${total ? `/${total}` : ''} objects (${rate.toFixed(0)}/s${eta})`);
          },
        });
        if (ctx.json) printJson(run);
        else {
          printTable(run.steps, [
            { header: 'step', value: (s) => s.step },
            { header: 'agent', value: (s) => s.agent ?? '(all)' },
            { header: 'imported', value: (s) => s.counts.imported, align: 'right' },
            { header: 'joins', value: (s) => s.counts.joins, align: 'right' },
            { header: 'projections', value: (s) => s.counts.projections, align: 'right' },
            { header: 'filtered', value: (s) => s.counts.filtered, align: 'right' },
            { header: 'provisioned', value: (s) => s.counts.provisioned, align: 'right' },
            { header: 'adds', value: (s) => s.counts.exportAdds, align: 'right' },
            { header: 'updates', value: (s) => s.counts.exportUpdates + s.counts.exportRenames, align: 'right' },
            { header: 'deletes', value: (s) => s.counts.exportDeletes, align: 'right' },
            { header: 'errors', value: (s) => s.counts.errors, align: 'right' },
            { header: 'obj/s', value: (s) => Math.round(s.rate), align: 'right' },
          ]);
          process.stdout.write(`run ${run.id} (${run.profile}): ${run.status}${run.message ? ` — ${run.message}` : ''}\n`);
          if ((run.counts.errors ?? 0) > 0) process.stdout.write(`per-object errors: crossforest sync errors ${run.id}\n`);
        }
        if (run.status === 'stopped' || run.status === 'failed') process.exitCode = 1;
      } finally {
        await store.close();
      }
    });

  sync
    .command('preview')
    .description('show every add, modify (attribute: old → new) and delete the next export would send, per agent; writes nothing')
    .option('--full', 'preview after a full synchronization (default: delta, i.e. what the last imports changed)')
    .action(async (opts, cmd) => {
      const ctx = commandContext(cmd);
      const engine = await createEngine(ctx.project, ctx.logger);
      // Opened for its path and its migrations; the preview itself runs on a copy, so a sync
      // run or a migration batch writing at the same time never waits for it.
      const store = await ctx.state();
      try {
        const p = await previewOnSnapshot(engine, store, opts.full ? 'full' : 'delta', newRunContext(ctx.logger));
        if (ctx.json) return printJson(p);
        for (const agent of engine.agentIds) {
          const items = p.items.filter((i) => i.agent === agent);
          process.stdout.write(
            `agent ${agent}: ${items.filter((i) => i.op === 'add').length} adds, ${items.filter((i) => i.op === 'modify' || i.op === 'rename').length} modifies, ${items.filter((i) => i.op === 'delete').length} deletes\n`,
          );
          for (const i of items) {
            process.stdout.write(`  ${i.op.padEnd(6)} ${i.dn}${i.newDn ? ` → ${i.newDn}` : ''}\n`);
            for (const c of i.changes) process.stdout.write(`         ${c.attribute}: [${c.old.join(', ')}] → [${c.new.join(', ')}]\n`);
          }
        }
        for (const e of p.errors) process.stdout.write(`error ${e.code} (agent ${e.agent}) ${e.dn}: ${e.reason}\n`);
      } finally {
        await store.close();
      }
    });

  sync
    .command('history')
    .description('the last runs with their counts')
    .option('-n, --limit <n>', 'how many runs', (v) => Number(v), 20)
    .action(async (opts, cmd) => {
      const ctx = commandContext(cmd);
      const store = await ctx.state();
      try {
        const runs = await listRuns(store, opts.limit);
        if (ctx.json) return printJson(runs);
        printTable(runs, [
          { header: 'run', value: (r) => r.id, align: 'right' },
          { header: 'profile', value: (r) => r.profile },
          { header: 'started', value: (r) => r.startedAt },
          {
            header: 'seconds',
            value: (r) => (r.endedAt ? (Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000 : undefined),
            align: 'right',
          },
          { header: 'status', value: (r) => r.status },
          { header: 'adds', value: (r) => countCell(r, 'exportAdds'), align: 'right' },
          { header: 'updates', value: (r) => countCell(r, 'exportUpdates') + countCell(r, 'exportRenames'), align: 'right' },
          { header: 'deletes', value: (r) => countCell(r, 'exportDeletes'), align: 'right' },
          { header: 'joins', value: (r) => countCell(r, 'joins'), align: 'right' },
          { header: 'projections', value: (r) => countCell(r, 'projections'), align: 'right' },
          { header: 'filtered', value: (r) => countCell(r, 'filtered'), align: 'right' },
          { header: 'errors', value: (r) => countCell(r, 'errors'), align: 'right' },
        ]);
      } finally {
        await store.close();
      }
    });

  sync
    .command('errors')
    .description('the per-object errors of one run (DN and reason)')
    .argument('<run>', 'run id from `sync history`')
    .action(async (runArg, _opts, cmd) => {
      const ctx = commandContext(cmd);
      const store = await ctx.state();
      try {
        const id = Number(runArg);
        const run = Number.isInteger(id) ? await getRun(store, id) : undefined;
        if (!run)
          throw new CrossforestError('CF_ERR_SYNC_RUN', `no sync run ${runArg}`, {
            object: runArg,
            hint: 'see `crossforest sync history` for run ids',
          });
        const errors = await runErrors(store, id);
        if (ctx.json) return printJson({ run, errors });
        if (errors.length === 0) process.stdout.write(`run ${id}: no per-object errors\n`);
        else
          printTable(errors, [
            { header: 'agent', value: (e) => e.agent },
            { header: 'code', value: (e) => e.code },
            { header: 'DN', value: (e) => e.dn },
            { header: 'reason', value: (e) => e.reason },
          ]);
      } finally {
        await store.close();
      }
    });
}
