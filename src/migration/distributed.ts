// Batches worked by many processes on many hosts (PostgreSQL state). `batch start --detach`
// prepares the batch once (prediction, before-notices) and puts one job per mailbox in the
// queue; every `crossforest worker` takes jobs, each job one pipeline step of one mailbox,
// and queues the mailbox's next step before it lets the mailbox go. What keeps this safe is
// in the database, not in any process: the mailbox lease (one worker per mailbox), the
// store slots (per-server limits over all workers), the batch lease (one process concludes
// the batch). The queue only says who might do what next.
//
// A worker killed with -9 leaves its mailbox leases to expire; the reaper of every live
// worker finds expired (or, on the same host, orphaned) leases and queues those mailboxes
// again, and their new holder resumes from the last completed step (a step that was
// running is marked interrupted and repeated; every step is idempotent).

import { orgMailStores } from '../config/organization.ts';
import { storeThrottles } from '../mail/storeThrottle.ts';
import type { JobQueue } from '../state/queue.ts';
import { holderIsDead, newLeaseHolder, type StateStore, workerName } from '../state/store.ts';
import { type Logger, silentLogger } from '../util/logger.ts';
import { withBatchLease } from './batchLease.ts';
import { allBatches, batchById, mailboxById, mailboxesOf, setBatchStatus, setDetached, unpark } from './batchStore.ts';
import { claimMailbox, MAILBOX_LEASE_PREFIX, mailboxLeaseMs, mailboxLeaseName } from './mailboxLease.ts';
import { sendNotices } from './notices.ts';
import { runMailbox } from './pipeline.ts';
import { predictAtFirstStart } from './prediction.ts';
import { batchOrThrow, concludeBatch, openBatchRun, type RunResult } from './runner.ts';
import { type MigrationSetup, targetStoreOf } from './setup.ts';
import { sleep } from './stepContext.ts';
import type { Batch, BatchStatus, MailboxRow, MailboxState, RunEvent } from './types.ts';
import { windowState } from './window.ts';

export const MAILBOX_QUEUE = 'crossforest-mailbox';
export const WORKER_LEASE_PREFIX = 'migration-worker:';

interface MailboxJob {
  batch: string;
  mailboxId: number;
}

const PARKED: readonly MailboxState[] = ['done', 'failed', 'suspended'];
const OPEN_BATCH: readonly BatchStatus[] = ['created', 'running'];

function enqueue(queue: JobQueue, batch: string, m: Pick<MailboxRow, 'id' | 'state'>, startAfterSeconds?: number): Promise<string | null> {
  // Pre-staging first (the seed's "AD work ahead of schedule"): queued mailboxes jump the line.
  return queue.send(MAILBOX_QUEUE, { batch, mailboxId: m.id } satisfies MailboxJob, {
    key: `mailbox:${m.id}`,
    priority: m.state === 'queued' ? 10 : 0,
    startAfterSeconds,
  });
}

export interface DetachResult {
  batch: Batch;
  enqueued: number;
}

/** `batch start --detach`: prepares the batch once and queues its mailboxes for the workers. */
export async function detachBatch(
  setup: MigrationSetup,
  store: StateStore,
  name: string,
  opts: { retryFailed?: boolean; logger?: Logger; emit?: (e: RunEvent) => void } = {},
): Promise<DetachResult> {
  const logger = (opts.logger ?? silentLogger).child({ scope: 'batch', batch: name });
  const emit = opts.emit ?? (() => {});
  const queue = await store.openQueue((err) => logger.warn({ err: err.message }, 'job queue'));
  try {
    return await withBatchLease(store, name, async () => {
      let batch = await batchOrThrow(store, name);
      const targetStore = targetStoreOf(setup, batch.targetStore);
      for (const m of await mailboxesOf(store, batch.id))
        if (m.state === 'suspended' || (opts.retryFailed && m.state === 'failed')) await unpark(store, m.id);
      await predictAtFirstStart(setup, store, batch, logger);
      await setDetached(store, batch.id, true);
      await setBatchStatus(store, batch.id, 'running');
      emit({ type: 'batch', batch: name, status: 'running' });
      batch = await batchOrThrow(store, name);
      const run = openBatchRun(setup, store, batch, targetStore, { logger, emit });
      try {
        await sendNotices(run.ctx, 'before');
        await sendNotices(run.ctx, 'after');
      } finally {
        await run.close();
      }
      let enqueued = 0;
      for (const m of await mailboxesOf(store, batch.id)) {
        if (PARKED.includes(m.state)) continue;
        await enqueue(queue, name, m);
        enqueued++;
      }
      logger.info({ enqueued }, 'batch queued for the workers');
      return { batch, enqueued };
    });
  } finally {
    await queue.stop();
  }
}

export interface QueueWorkerOptions {
  logger?: Logger;
  emit?: (batch: string, e: RunEvent) => void;
  /** Mailboxes this process works at once (each within the store slots). */
  concurrency: number;
  stopRequested: () => boolean;
  onResult?: (r: RunResult) => void;
  /** How often the reaper looks for a dead worker's mailboxes. */
  reapSeconds?: number;
}

/** A queue worker: takes mailbox steps until stopRequested; returns once its steps ended. */
export async function runQueueWorker(setup: MigrationSetup, store: StateStore, opts: QueueWorkerOptions): Promise<void> {
  const logger = (opts.logger ?? silentLogger).child({ scope: 'worker', worker: workerName() });
  const queue = await store.openQueue((err) => logger.warn({ err: err.message }, 'job queue'));
  const me = workerName();
  const presence = `${WORKER_LEASE_PREFIX}${me}`;
  const presenceHolder = newLeaseHolder();
  const ttl = mailboxLeaseMs();
  await store.acquireLease(presence, presenceHolder, ttl);
  // Each server's message and byte budget (mailStores[].maxMessagesPerSecond, …) is split
  // evenly over the workers alive, counted from their presence leases at every heartbeat.
  const shareBudgets = async (): Promise<void> => {
    storeThrottles.setShare((await store.leasesLike(WORKER_LEASE_PREFIX)).length);
  };
  await shareBudgets();
  // Only a rate budget needs the others to have counted this worker first.
  const rated = [...orgMailStores(setup.source, setup.sourceId), ...orgMailStores(setup.target, setup.targetId)].some(
    (st) => st.maxMessagesPerSecond > 0 || st.maxBytesPerSecond > 0,
  );
  const othersAlive = rated && storeThrottles.share > 1;
  const heartbeat = setInterval(() => {
    store
      .renewLease(presence, presenceHolder, ttl)
      .then(shareBudgets)
      .catch(() => {});
  }, ttl / 3);
  heartbeat.unref();
  // The workers already running count this one at their next heartbeat: until then they
  // still use their larger share, so this one waits a heartbeat before it takes work.
  if (othersAlive) await sleep(ttl / 3 + 500);
  let reaping = false;
  let passes = 0;
  const reaper = setInterval(
    () => {
      if (reaping) return;
      reaping = true;
      reap(store, queue, logger, ++passes % 5 === 0)
        .catch((err: unknown) => logger.warn({ err: String(err) }, 'reaper pass failed'))
        .finally(() => {
          reaping = false;
        });
    },
    (opts.reapSeconds ?? Math.max(2, ttl / 3000)) * 1000,
  );
  reaper.unref();
  const inFlight = new Set<Promise<void>>();
  await queue.work<MailboxJob>(MAILBOX_QUEUE, opts.concurrency, async (job) => {
    if (opts.stopRequested()) {
      // Stopping: the job goes back for another worker.
      await enqueue(queue, job.data.batch, { id: job.data.mailboxId, state: 'prestaged' }, 2);
      return;
    }
    const p = workStep(setup, store, queue, job.data, opts, logger).catch((err: unknown) =>
      logger.error({ batch: job.data.batch, mailbox: job.data.mailboxId, err: (err as Error).message }, 'mailbox step failed'),
    );
    inFlight.add(p);
    await p;
    inFlight.delete(p);
  });
  logger.info({ concurrency: opts.concurrency }, 'worker taking mailbox steps from the queue');
  try {
    while (!opts.stopRequested()) await sleep(250);
  } finally {
    clearInterval(reaper);
    // Stop taking jobs; steps in flight finish (a closing window suspends them after it).
    await queue.stop(3600);
    await Promise.all(inFlight);
    clearInterval(heartbeat);
    await store.releaseLease(presence, presenceHolder);
  }
}

/** One job: one step of one mailbox, and its next step queued before the mailbox is let go. */
async function workStep(
  setup: MigrationSetup,
  store: StateStore,
  queue: JobQueue,
  job: MailboxJob,
  opts: QueueWorkerOptions,
  parent: Logger,
): Promise<void> {
  const batch = (await batchOrThrow(store, job.batch).catch(() => undefined)) as Batch | undefined;
  if (!batch?.detached || !OPEN_BATCH.includes(batch.status)) return; // removed, concluded, or run by one process now
  const m = await mailboxById(store, job.mailboxId);
  if (!m || m.batchId !== batch.id) return;
  const logger = parent.child({ batch: batch.name, mailbox: m.sourceLogin });
  const emit = (e: RunEvent): void => opts.emit?.(batch.name, e);
  if (!PARKED.includes(m.state)) {
    const w = windowState(batch.options, new Date());
    if (w.state === 'before') {
      await enqueue(queue, batch.name, m, Math.ceil(Math.min(w.msUntilChange, 60_000) / 1000));
      return;
    }
    // No stopRequested here: a worker that stops finishes its step and hands the mailbox's
    // next step to the others (queued below), it does not suspend the mailbox.
    const run = openBatchRun(setup, store, batch, targetStoreOf(setup, batch.targetStore), { logger, emit });
    try {
      const r = await run.inSlots(m, async (mctx) => {
        const s = await runMailbox(mctx, m.id, { oneStep: true, shouldSuspend: run.shouldSuspend, cutoverAllowed: run.cutoverAllowed });
        if (s === 'done') await sendNotices(mctx, 'after', m.id);
        if (!PARKED.includes(s)) {
          if (s !== 'copied' || (await run.cutoverAllowed())) await enqueue(queue, batch.name, { id: m.id, state: s });
          else if (await run.waitingForCutoverTime())
            await enqueue(queue, batch.name, { id: m.id, state: s }, batch.options.retryIntervalSeconds);
          // Manual cutover: one delta pass after the copy keeps the target close (as one process
          // does), then it waits for `batch complete`, which queues it again.
          else if (m.state === 'prestaged') await enqueue(queue, batch.name, { id: m.id, state: s });
        }
        return s;
      });
      if (r === 'busy')
        await enqueue(queue, batch.name, m, 5); // another worker has it now; looked at again
      else if (r === undefined) await run.suspendRest(); // the window closed while it waited for a slot
    } finally {
      await run.close();
    }
  }
  await concludeIfSettled(setup, store, batch.name, emit, opts.onResult);
}

/** The last mailbox parked: one process (the batch lease) gives the batch its status and report. */
async function concludeIfSettled(
  setup: MigrationSetup,
  store: StateStore,
  name: string,
  emit: (e: RunEvent) => void,
  onResult?: (r: RunResult) => void,
): Promise<void> {
  const batch = await batchOrThrow(store, name);
  if (!OPEN_BATCH.includes(batch.status)) return;
  const run = openBatchRun(setup, store, batch, targetStoreOf(setup, batch.targetStore), { logger: silentLogger, emit });
  try {
    for (const m of await mailboxesOf(store, batch.id)) if (!PARKED.includes(m.state) && !awaitsCompletion(batch, m)) return;
    const r = await withBatchLease(store, name, async () => {
      if (!OPEN_BATCH.includes((await batchOrThrow(store, name)).status)) return undefined;
      return concludeBatch(setup, store, name, run.cutoverAllowed, emit);
    }).catch((err: { code?: string }) => {
      if (err.code === 'CF_ERR_BATCH_RUNNING') return undefined; // another worker concludes it
      throw err;
    });
    if (r) onResult?.(r);
  } finally {
    await run.close();
  }
}

/**
 * Mailboxes whose worker died: their lease expired unreleased (or its process is gone), or
 * the worker died after it took the job but before it took the lease, so neither a lease
 * nor a waiting job is left (the sweep: every open mailbox of a queued batch that no live
 * worker holds is queued again; a waiting job with the same key makes that a no-op).
 */
async function reap(store: StateStore, queue: JobQueue, logger: Logger, sweep: boolean): Promise<void> {
  const dead = [
    ...(await store.expiredLeasesLike(MAILBOX_LEASE_PREFIX)),
    ...(await store.leasesLike(MAILBOX_LEASE_PREFIX)).filter((l) => holderIsDead(l.holder)),
  ];
  for (const l of dead) {
    const id = Number(l.name.slice(MAILBOX_LEASE_PREFIX.length));
    // Taking the lease makes this reaper the only one to act on it.
    const claim = await claimMailbox(store, id, `mailbox ${id}`);
    if (!claim) continue;
    try {
      const m = await mailboxById(store, id);
      const b = m && (await batchById(store, m.batchId));
      if (m && b?.detached && OPEN_BATCH.includes(b.status) && !PARKED.includes(m.state)) {
        await enqueue(queue, b.name, m);
        logger.warn(
          { batch: b.name, mailbox: m.sourceLogin, deadWorker: l.holder.split(':').slice(0, 2).join(':') },
          'a worker died: mailbox queued again',
        );
      }
    } finally {
      await claim.release();
    }
  }
  if (!sweep) return;
  const held = new Set((await store.leasesLike(MAILBOX_LEASE_PREFIX)).map((l) => l.name));
  for (const b of await allBatches(store)) {
    if (!b.detached || !OPEN_BATCH.includes(b.status)) continue;
    for (const m of await mailboxesOf(store, b.id)) {
      if (PARKED.includes(m.state) || held.has(mailboxLeaseName(m.id)) || awaitsCompletion(b, m)) continue;
      if (await enqueue(queue, b.name, m)) logger.warn({ batch: b.name, mailbox: m.sourceLogin }, 'a mailbox had no job: queued again');
    }
  }
}

/** Copied and waiting for `batch complete` (manual cutover): nobody works it until then. */
function awaitsCompletion(b: Batch, m: Pick<MailboxRow, 'state'>): boolean {
  return m.state === 'copied' && b.options.cutover === 'manual' && !b.completeRequested;
}

/** The workers alive (their presence leases) and the mailboxes each holds now. */
export async function liveWorkers(store: StateStore): Promise<{ worker: string; aliveUntil: string; mailboxes: number[] }[]> {
  const held = await store.leasesLike(MAILBOX_LEASE_PREFIX);
  return (await store.leasesLike(WORKER_LEASE_PREFIX)).map((w) => {
    const worker = w.name.slice(WORKER_LEASE_PREFIX.length);
    return {
      worker,
      aliveUntil: w.expiresAt,
      mailboxes: held.filter((h) => h.holder.startsWith(`${worker}:`)).map((h) => Number(h.name.slice(MAILBOX_LEASE_PREFIX.length))),
    };
  });
}
