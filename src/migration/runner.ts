// Runs a batch: every mailbox is pre-staged first (the seed's "AD work ahead of
// schedule"), then mailboxes go through copy → cutover → clean-up → verify → report,
// `concurrency` at a time, each holding one slot of its source store and one of its
// target store. When the window closes nothing new starts and each mailbox suspends
// after its current step; `batch resume` continues from the last completed step.
import pLimit from 'p-limit';
import type { TargetStoreConfig } from '../config/migration.ts';
import type { StateStore } from '../state/store.ts';
import { type Logger, silentLogger } from '../util/logger.ts';
import { withBatchLease } from './batchLease.ts';
import { addSample, batchByName, mailboxesOf, setBatchStatus, unpark } from './batchStore.ts';
import { claimMailbox } from './mailboxLease.ts';
import { sendNotices } from './notices.ts';
import { runMailbox } from './pipeline.ts';
import { predictAtFirstStart } from './prediction.ts';
import { writeBatchReport } from './report.ts';
import { MigrationError, type MigrationSetup, sourceMailStore, targetStoreOf } from './setup.ts';
import { takeSlots } from './slots.ts';
import { type StepContext, sleep } from './stepContext.ts';
import type { Batch, BatchStatus, MailboxRow, MailboxState, RunEvent } from './types.ts';
import { windowState } from './window.ts';

export interface RunOptions {
  logger?: Logger;
  emit?: (e: RunEvent) => void;
  /** Also continue failed mailboxes (batch retry-failed). */
  retryFailed?: boolean;
  /** Stop asking for more work (worker shutdown): treated like a closing window. */
  stopRequested?: () => boolean;
}

export interface RunResult {
  batch: Batch;
  status: BatchStatus;
  states: Record<string, number>;
  reportHtml: string;
}

export async function batchOrThrow(store: StateStore, name: string): Promise<Batch> {
  const b = await batchByName(store, name);
  if (!b)
    throw new MigrationError('CF_ERR_BATCH_UNKNOWN', `no batch named ${name}`, {
      object: name,
      hint: 'crossforest batch list shows the batches',
    });
  return b;
}

export function finalStatus(states: MailboxState[], manualWaiting: boolean): BatchStatus {
  if (states.some((s) => s === 'suspended')) return 'suspended';
  if (states.some((s) => s !== 'done' && s !== 'failed')) return manualWaiting ? 'synced' : 'suspended';
  return states.some((s) => s === 'failed') ? 'completed-with-errors' : 'completed';
}

export async function runBatch(setup: MigrationSetup, store: StateStore, name: string, opts: RunOptions = {}): Promise<RunResult> {
  const batch = await batchOrThrow(store, name);
  const targetStore = targetStoreOf(setup, batch.targetStore);
  // A batch queued for the workers is theirs until it ends: this process would only race them.
  if (batch.detached && (batch.status === 'created' || batch.status === 'running'))
    throw new MigrationError('CF_ERR_BATCH_RUNNING', `batch ${name} is being run by the queue's workers (started with --detach)`, {
      object: name,
      hint: `crossforest batch wait ${name} follows it; batch suspend ${name} stops it after the current steps`,
    });
  return withBatchLease(store, name, () => runLeased(setup, store, name, batch, targetStore, opts));
}

async function runLeased(
  setup: MigrationSetup,
  store: StateStore,
  name: string,
  batch: Batch,
  targetStore: TargetStoreConfig,
  opts: RunOptions,
): Promise<RunResult> {
  const logger = (opts.logger ?? silentLogger).child({ scope: 'batch', batch: name });
  const emit = opts.emit ?? (() => {});
  for (const m of await mailboxesOf(store, batch.id))
    if (m.state === 'suspended' || (opts.retryFailed && m.state === 'failed')) await unpark(store, m.id);

  // Not yet open: wait for the window (the worker starts batches this way too).
  for (let w = windowState(batch.options, new Date()); w.state === 'before'; w = windowState(batch.options, new Date())) {
    emit({
      type: 'wait',
      mailbox: '*',
      what: `the window opens at ${batch.options.windowStart}`,
      nextPollSeconds: Math.ceil(w.msUntilChange / 1000),
    });
    await sleep(Math.min(w.msUntilChange, 30_000));
    if (opts.stopRequested?.()) break;
  }
  // Before anything of this batch has run: what it should take, for the report to hold against reality.
  await predictAtFirstStart(setup, store, batch, logger);
  await setBatchStatus(store, batch.id, 'running');
  emit({ type: 'batch', batch: name, status: 'running' });
  batch = await batchOrThrow(store, name);

  const run = openBatchRun(setup, store, batch, targetStore, { ...opts, logger, emit });
  const { ctx, shouldSuspend, cutoverAllowed } = run;
  const limit = pLimit(batch.options.concurrency);
  const inSlots = (m: MailboxRow, fn: (mctx: StepContext) => Promise<MailboxState>) =>
    run.inSlots(m, fn).then((r) => (r === 'busy' ? undefined : r));
  // The before-notices go out first, before anything of the move changes (notices.ts).
  await sendNotices(ctx, 'before');
  // Mailboxes already done: after-notices an earlier run failed to send (never fails the move).
  await sendNotices(ctx, 'after');
  try {
    // Phase 1: pre-stage everyone.
    const queued = (await mailboxesOf(store, batch.id)).filter((m) => m.state === 'queued');
    await Promise.all(
      queued.map((m) =>
        limit(() => inSlots(m, (mctx) => runMailbox(mctx, m.id, { stopAfterPrestage: true, shouldSuspend, cutoverAllowed }))),
      ),
    );
    // Phase 2: the rest of the pipeline; complete-after batches keep making delta passes until their time.
    const rest = (await mailboxesOf(store, batch.id)).filter((m) => !['done', 'failed', 'suspended', 'queued'].includes(m.state));
    await Promise.all(
      rest.map((m) =>
        limit(async () => {
          for (;;) {
            const s = await inSlots(m, async (mctx) => {
              const r = await runMailbox(mctx, m.id, { shouldSuspend, cutoverAllowed });
              if (r === 'done') await sendNotices(mctx, 'after', m.id);
              return r;
            });
            if (!(s === 'copied' && (await run.waitingForCutoverTime()))) return;
            await sleep(batch.options.retryIntervalSeconds * 1000);
          }
        }),
      ),
    );
    if (await shouldSuspend()) await run.suspendRest();
  } finally {
    await run.close();
  }
  return concludeBatch(setup, store, name, cutoverAllowed, emit);
}

/** The batch's final status from its mailboxes, and its report. */
export async function concludeBatch(
  setup: MigrationSetup,
  store: StateStore,
  name: string,
  cutoverAllowed: () => Promise<boolean>,
  emit: (e: RunEvent) => void,
): Promise<RunResult> {
  const batch = await batchOrThrow(store, name);
  const after = await mailboxesOf(store, batch.id);
  const status = finalStatus(
    after.map((m) => m.state),
    after.some((m) => m.state === 'copied') && !(await cutoverAllowed()),
  );
  await setBatchStatus(store, batch.id, status);
  emit({ type: 'batch', batch: name, status });
  const states: Record<string, number> = {};
  for (const m of after) states[m.state] = (states[m.state] ?? 0) + 1;
  const { html } = await writeBatchReport(setup, store, await batchOrThrow(store, name));
  return { batch: await batchOrThrow(store, name), status, states, reportHtml: html };
}

export interface BatchRun {
  ctx: StepContext;
  /** The window closed, `batch suspend` ran, or the process is stopping. */
  shouldSuspend(): Promise<boolean>;
  cutoverAllowed(): Promise<boolean>;
  /** A copied mailbox of a complete-after batch keeps making delta passes until its time. */
  waitingForCutoverTime(): Promise<boolean>;
  /**
   * Runs fn on the mailbox holding its lease (one worker per mailbox) and one slot of its
   * source and target store; 'busy': another worker has the mailbox; undefined: the batch
   * suspended while waiting for a slot.
   */
  inSlots(m: MailboxRow, fn: (mctx: StepContext) => Promise<MailboxState>): Promise<MailboxState | 'busy' | undefined>;
  /** Whatever could not start before the window closed is suspended, not left queued. */
  suspendRest(): Promise<void>;
  /** Keeps the last throughput sample. */
  close(): Promise<void>;
}

/** What running a batch's mailboxes needs, in this process or in a queue worker. */
export function openBatchRun(
  setup: MigrationSetup,
  store: StateStore,
  batch: Batch,
  targetStore: TargetStoreConfig,
  opts: RunOptions & { logger: Logger; emit: (e: RunEvent) => void },
): BatchRun {
  const { logger, emit } = opts;
  const name = batch.name;
  let copiedMsgs = 0;
  let copiedBytes = 0;
  const sampler = setInterval(() => {
    if (copiedMsgs || copiedBytes)
      addSample(store, batch.id, copiedMsgs, copiedBytes).catch((err) => logger.warn({ err: String(err) }, 'throughput sample not kept'));
    copiedMsgs = 0;
    copiedBytes = 0;
  }, 1000);
  // Read again each time: `batch suspend` from another process closes the window now.
  const closed = async (): Promise<boolean> =>
    windowState((await batchOrThrow(store, name)).options, new Date()).state === 'after' || Boolean(opts.stopRequested?.());
  let announced = false;
  const shouldSuspend = async (): Promise<boolean> => {
    const c = await closed();
    if (c && !announced) {
      announced = true;
      emit({ type: 'window-closed', batch: name });
      logger.warn('the window closed: mailboxes suspend after their current step');
    }
    return c;
  };
  const cutoverAllowed = async (): Promise<boolean> => {
    const o = await batchOrThrow(store, name);
    if (o.completeRequested) return true;
    if (o.options.cutover === 'immediate') return true;
    return (
      o.options.cutover === 'complete-after' &&
      Boolean(o.options.completeAfter) &&
      Date.now() >= Date.parse(o.options.completeAfter as string)
    );
  };
  const ctx: StepContext = {
    setup,
    store,
    batch,
    targetStore,
    logger,
    emit,
    onCopied(m, b) {
      copiedMsgs += m;
      copiedBytes += b;
    },
  };
  // One slot of the mailbox's source server and one of the target store: the per-server
  // limits hold over every batch, process and host (slots.ts).
  const poolsOf = (m: MailboxRow) => {
    const src = sourceMailStore(setup, m.plan.sourceStore);
    return [
      { name: `source:${src.name}`, size: src.maxConcurrentMailboxes ?? setup.config.maxConcurrentPerSourceStore },
      { name: `target:${batch.targetStore}`, size: targetStore.maxConcurrentMailboxes },
    ];
  };
  return {
    ctx,
    shouldSuspend,
    cutoverAllowed,
    async waitingForCutoverTime() {
      return (await batchOrThrow(store, name)).options.cutover === 'complete-after' && !(await shouldSuspend());
    },
    async inSlots(m, fn) {
      const claim = await claimMailbox(store, m.id, m.sourceLogin);
      if (!claim) return 'busy';
      try {
        const held = await takeSlots(store, poolsOf(m), {
          cancelled: shouldSuspend,
          onWait: () => emit({ type: 'wait', mailbox: m.sourceLogin, what: 'store concurrency limit reached', nextPollSeconds: 0.25 }),
        });
        if (!held) return undefined;
        try {
          return await fn({ ...ctx, claim, logger: logger.child({ mailbox: m.sourceLogin }) });
        } finally {
          await held.release();
        }
      } finally {
        await claim.release();
      }
    },
    async suspendRest() {
      for (const m of await mailboxesOf(store, batch.id)) {
        if (['done', 'failed', 'suspended'].includes(m.state)) continue;
        const claim = await claimMailbox(store, m.id, m.sourceLogin);
        if (!claim) continue; // a worker has it: it suspends it after its step
        try {
          await runMailbox({ ...ctx, claim }, m.id, { shouldSuspend: async () => true, cutoverAllowed });
        } finally {
          await claim.release();
        }
      }
    },
    async close() {
      clearInterval(sampler);
      if (copiedMsgs || copiedBytes) await addSample(store, batch.id, copiedMsgs, copiedBytes);
      copiedMsgs = 0;
      copiedBytes = 0;
    },
  };
}
