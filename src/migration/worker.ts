// The worker daemon: picks up batches as their windows open and runs them, several at
// once (the per-store slots keep the stores within their limits, across processes too).
// On SQLite (one host) it runs each due batch in this process, and a stop request
// (SIGTERM) closes every window: mailboxes suspend after their current step. On PostgreSQL
// it is one of any number of queue workers (distributed.ts): it takes mailbox steps from
// the queue, and a due batch nobody started is queued (`--detach`) rather than run here;
// a stop request finishes the steps in flight and leaves the rest to the other workers.
import type { StateStore } from '../state/store.ts';
import { type Logger, silentLogger } from '../util/logger.ts';
import { allBatches } from './batchStore.ts';
import { detachBatch, runQueueWorker } from './distributed.ts';
import { type RunResult, runBatch } from './runner.ts';
import type { MigrationSetup } from './setup.ts';
import { sleep } from './stepContext.ts';
import type { Batch, RunEvent } from './types.ts';
import { windowState } from './window.ts';

export interface WorkerOptions {
  logger?: Logger;
  emit?: (batch: string, e: RunEvent) => void;
  pollSeconds?: number;
  /** Run what is due now, wait for it, and return (tests, cron). */
  once?: boolean;
  stopRequested: () => boolean;
  onResult?: (r: RunResult) => void;
  /** Mailboxes at once in this process (queue workers; default: the migration concurrency). */
  concurrency?: number;
}

/** Due: a batch with a window that is open now and work left (created, running after a crash, suspended by an elapsed window is not due). */
export function dueBatches(batches: Batch[], now: Date): Batch[] {
  return batches.filter(
    (b) =>
      (b.options.windowStart || b.options.windowStop) &&
      windowState(b.options, now).state === 'open' &&
      ['created', 'running', 'suspended'].includes(b.status),
  );
}

export async function runWorker(setup: MigrationSetup, store: StateStore, opts: WorkerOptions): Promise<void> {
  if (store.engine === 'postgres') return runOnQueue(setup, store, opts);
  const logger = (opts.logger ?? silentLogger).child({ scope: 'worker' });
  const running = new Map<string, Promise<void>>();
  for (;;) {
    for (const b of dueBatches(await allBatches(store), new Date())) {
      if (running.has(b.name)) continue;
      logger.info({ batch: b.name }, 'window open: starting the batch');
      running.set(
        b.name,
        runBatch(setup, store, b.name, { logger, emit: (e) => opts.emit?.(b.name, e), stopRequested: opts.stopRequested })
          .then((r) => opts.onResult?.(r))
          .catch((err: unknown) => logger.error({ batch: b.name, err: (err as Error).message }, 'batch run failed'))
          .finally(() => running.delete(b.name)),
      );
    }
    if (opts.once || opts.stopRequested()) break;
    await sleep((opts.pollSeconds ?? 30) * 1000);
  }
  await Promise.all(running.values());
}

async function runOnQueue(setup: MigrationSetup, store: StateStore, opts: WorkerOptions): Promise<void> {
  const logger = (opts.logger ?? silentLogger).child({ scope: 'worker' });
  let stop = false;
  const stopRequested = (): boolean => stop || opts.stopRequested();
  const working = runQueueWorker(setup, store, {
    logger,
    emit: opts.emit,
    concurrency: opts.concurrency ?? setup.config.defaults.concurrency,
    stopRequested,
    onResult: opts.onResult,
  });
  try {
    for (;;) {
      for (const b of dueBatches(await allBatches(store), new Date())) {
        if (b.detached) continue; // queued already: its mailboxes are in the queue
        logger.info({ batch: b.name }, 'window open: queueing the batch for the workers');
        await detachBatch(setup, store, b.name, { logger }).catch((err: { code?: string; message: string }) => {
          if (err.code !== 'CF_ERR_BATCH_RUNNING') logger.error({ batch: b.name, err: err.message }, 'batch not queued');
        });
      }
      if (opts.once) {
        // Work until every queued batch has concluded (tests, cron).
        while (!stopRequested() && (await allBatches(store)).some((b) => b.detached && ['created', 'running'].includes(b.status)))
          await sleep(500);
        stop = true;
      }
      if (stopRequested()) break;
      await sleep((opts.pollSeconds ?? 30) * 1000);
    }
  } finally {
    stop = true;
    await working;
  }
}
