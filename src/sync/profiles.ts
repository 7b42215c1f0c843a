// Run profiles: named sequences of steps (`sync.runProfiles`), built-in cycles, and
// single steps (`full-import`, `a:delta-import`). Each run is recorded in run history
// with its counts, per-step rates and per-object errors; one run at a time (a lease).
import type { RunStep } from '../config/sync.ts';
import { newLeaseHolder, type StateStore } from '../state/store.ts';
import { CrossforestError } from '../util/errors.ts';
import type { SyncEngine } from './engine.ts';
import { DeleteThresholdError, type ExportOptions, runExport } from './exportRun.ts';
import { runImport } from './importRun.ts';
import { newRunContext, type RunContext } from './runContext.ts';
import { addRunError, finishRun, getRun, type RunRecord, type RunStatus, type StepRecord, startRun } from './runHistory.ts';
import { runSync } from './syncRun.ts';
import { addCounts, emptyCounts, type RunCounts } from './types.ts';

const STEPS = ['full-import', 'delta-import', 'full-sync', 'delta-sync', 'export'] as const;

/** Built-in profiles; the trailing delta import is the confirming import of what was exported. */
export const BUILTIN_PROFILES: Record<string, RunStep[]> = {
  'full-cycle': [{ run: 'full-import' }, { run: 'full-sync' }, { run: 'export' }, { run: 'delta-import' }, { run: 'delta-sync' }],
  'delta-cycle': [{ run: 'delta-import' }, { run: 'delta-sync' }, { run: 'export' }, { run: 'delta-import' }, { run: 'delta-sync' }],
};

export function resolveProfile(engine: SyncEngine, name: string): RunStep[] {
  const configured = engine.cfg.runProfiles[name] ?? BUILTIN_PROFILES[name];
  if (configured) return configured;
  const [agent, step] = name.includes(':') ? name.split(':', 2) : [undefined, name];
  if ((STEPS as readonly string[]).includes(step ?? '') && (agent === undefined || engine.cfg.agents[agent])) {
    return [{ run: step as RunStep['run'], ...(agent ? { agent } : {}) }];
  }
  const known = [
    ...Object.keys(engine.cfg.runProfiles),
    ...Object.keys(BUILTIN_PROFILES),
    ...STEPS,
    ...engine.agentIds.map((a) => `${a}:full-import`),
  ];
  throw new CrossforestError('CF_ERR_SYNC_PROFILE', `no run profile "${name}"`, {
    object: name,
    hint: `use one of: ${known.join(', ')} (or <agent>:<step>), or add it under sync.runProfiles`,
  });
}

export interface RunOptions extends ExportOptions {
  progress?: RunContext['progress'];
}

export async function runProfile(engine: SyncEngine, store: StateStore, name: string, opts: RunOptions = {}): Promise<RunRecord> {
  const steps = resolveProfile(engine, name);
  const holder = newLeaseHolder();
  if (!(await store.takeLease('sync', holder, 6 * 3600_000))) {
    const h = await store.leaseHolder('sync');
    throw new CrossforestError(
      'CF_ERR_SYNC_BUSY',
      `another sync run holds the state store (${h?.holder ?? 'unknown'}, until ${h?.expiresAt ?? '?'})`,
      {
        hint: 'wait for it to finish; a crashed holder’s lease expires by itself',
      },
    );
  }
  const runId = await startRun(store, name);
  let total: RunCounts = emptyCounts();
  const records: StepRecord[] = [];
  let status: RunStatus = 'success';
  let message: string | null = null;
  try {
    for (const step of steps) {
      const agents = step.run.endsWith('-sync') ? [undefined] : step.agent ? [step.agent] : engine.agentIds;
      // Imports and exports of different agents talk to different servers: run them side by
      // side. Their state-store transactions never interleave: store.sql runs one at a time
      // (a statement from outside an open transaction waits for it).
      const outcomes = await Promise.all(
        agents.map(async (agent) => {
          const run = newRunContext(engine.logger.child({ run: runId, step: step.run, agent }), opts.progress);
          const started = new Date();
          let error: unknown;
          try {
            await runStep(engine, store, step.run, agent, runId, run, opts);
          } catch (err) {
            error = err;
          }
          return { agent, run, started, ended: new Date(), error };
        }),
      );
      for (const { agent, run, started, ended, error } of outcomes) {
        let stepMessage: string | undefined;
        if (error !== undefined) {
          if (status !== 'failed') status = error instanceof DeleteThresholdError ? 'stopped' : 'failed';
          stepMessage = error instanceof Error ? error.message : String(error);
          message = message ? `${message}; ${stepMessage}` : stepMessage;
        }
        for (const e of run.errors) await addRunError(store, runId, e);
        total = addCounts(total, run.counts);
        const objects =
          run.counts.imported + run.counts.exportAdds + run.counts.exportUpdates + run.counts.exportDeletes + run.counts.exportRenames;
        const seconds = Math.max((ended.getTime() - started.getTime()) / 1000, 0.001);
        records.push({
          step: step.run,
          agent,
          startedAt: started.toISOString(),
          endedAt: ended.toISOString(),
          counts: run.counts,
          rate: step.run.endsWith('-sync') ? (syncedCount.get(run) ?? 0) / seconds : objects / seconds,
          ...(stepMessage ? { message: stepMessage } : {}),
        });
      }
      if (status === 'stopped' || status === 'failed') break;
    }
    if (status === 'success' && total.errors > 0) status = 'completed-with-errors';
    await finishRun(store, runId, status, total, records, message);
  } catch (err) {
    await finishRun(store, runId, 'failed', total, records, (err as Error).message);
    throw err;
  } finally {
    await store.releaseLease('sync', holder);
  }
  return (await getRun(store, runId)) as RunRecord;
}

const syncedCount = new WeakMap<RunContext, number>();

async function runStep(
  engine: SyncEngine,
  store: StateStore,
  step: RunStep['run'],
  agent: string | undefined,
  runId: number,
  run: RunContext,
  opts: ExportOptions,
): Promise<void> {
  switch (step) {
    case 'full-import':
    case 'delta-import':
      return runImport(engine, store, agent as string, step === 'full-import' ? 'full' : 'delta', runId, run);
    case 'full-sync':
    case 'delta-sync':
      syncedCount.set(run, await runSync(engine, store, step === 'full-sync' ? 'full' : 'delta', run));
      return;
    case 'export':
      return runExport(engine, store, agent as string, run, opts);
  }
}
