// The pending-export preview on demand: the same computation as `crossforest sync preview`
// (the real synchronization, then the list of pending exports), but on a private copy of
// the state store in a worker thread (previewWorker.ts). Computing it in a rolled-back
// transaction on the store itself, as the CLI does, would hold SQLite's one write lock for
// the whole computation and stall a sync run or a migration batch writing meanwhile; and
// on the service's thread it would stall every GAL find and free/busy answer too.
//
// Bounded: a preview still running after `timeoutMs` is stopped (the worker terminated,
// its copy removed) and the operator told so. On PostgreSQL there is no file to copy: the
// worker runs the preview in a rolled-back transaction on a connection of its own (MVCC:
// nobody waits for it), and a worker stopped at its deadline drops that connection, which
// rolls the transaction back. One at a time: a request for the mode
// being computed waits for the same answer; one for the other mode starts after it.
import { rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { LoadedProject } from '../../config/load.ts';
import { snapshotScratchDir } from '../../state/snapshot.ts';
import type { StateStore } from '../../state/store.ts';
import type { Preview } from '../../sync/preview.ts';
import { CrossforestError } from '../../util/errors.ts';
import type { Logger } from '../../util/logger.ts';
import { RUNNING_FROM_SOURCE, sourcePath } from '../../util/sourceTree.ts';
import type { PreviewJob, PreviewReply } from './previewWorker.ts';

export interface PreviewAnswer extends Preview {
  mode: 'full' | 'delta';
  computedAt: string;
  /** Items listed at most; `total` says how many there were. */
  total: number;
}

export const MAX_PREVIEW_ITEMS = 500;

const FROM_SOURCE = RUNNING_FROM_SOURCE;
// From the bundle (scripts/build.sh) the worker is a bundle of its own beside it.
const WORKER_MODULE = FROM_SOURCE
  ? new URL('./previewWorker.ts', import.meta.url).href
  : pathToFileURL(sourcePath('dist', 'previewWorker.mjs')).href;
// From a checkout the worker needs tsx too: a worker thread does not inherit the loader.
const TSX_API = FROM_SOURCE ? import.meta.resolve('tsx/esm/api') : null;
const BOOT = `(async () => {
  const { parentPort, workerData } = require('node:worker_threads');
  if (workerData.tsx) (await import(workerData.tsx)).register();
  const { runPreviewJob } = await import(workerData.module);
  parentPort.postMessage(await runPreviewJob(workerData.job));
})().catch((err) => setImmediate(() => { throw err; }));`;

export class SyncPreviewService {
  readonly #project: LoadedProject;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #running = new Map<string, Promise<PreviewAnswer>>();
  #last: Promise<unknown> = Promise.resolve();

  constructor(project: LoadedProject, logger: Logger, opts: { timeoutMs: number }) {
    this.#project = project;
    this.#logger = logger;
    this.#timeoutMs = opts.timeoutMs;
  }

  compute(store: StateStore, mode: 'full' | 'delta'): Promise<PreviewAnswer> {
    const busy = this.#running.get(mode);
    if (busy) return busy;
    const p = this.#last
      .catch(() => undefined)
      .then(() => this.#inWorker(store, mode))
      .finally(() => this.#running.delete(mode));
    this.#running.set(mode, p);
    this.#last = p;
    return p;
  }

  async #inWorker(store: StateStore, mode: 'full' | 'delta'): Promise<PreviewAnswer> {
    const statePath = store.path;
    if (store.engine === 'sqlite' && (statePath === undefined || statePath === ':memory:' || statePath === ''))
      throw new CrossforestError('CF_ERR_PREVIEW_UNAVAILABLE', 'the pending-export preview needs the state store in a file', {
        hint: 'set state.path in the project file',
      });
    // Made here, not in the worker: a worker stopped at its deadline cannot clean up.
    const scratchDir = statePath === undefined ? undefined : snapshotScratchDir(statePath);
    const job: PreviewJob = { project: this.#project, scratchDir, mode, maxItems: MAX_PREVIEW_ITEMS };
    const worker = new Worker(BOOT, { eval: true, workerData: { tsx: TSX_API, module: WORKER_MODULE, job } });
    const started = Date.now();
    try {
      const reply = await new Promise<PreviewReply>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new CrossforestError(
              'CF_ERR_PREVIEW_TIMEOUT',
              `the ${mode} preview was stopped after ${Math.round(this.#timeoutMs / 1000)} s`,
              {
                hint: 'raise coexistence.dashboard.previewTimeoutSeconds, or run `crossforest sync preview` on the command line',
              },
            ),
          );
        }, this.#timeoutMs);
        worker.once('message', (m: PreviewReply) => {
          clearTimeout(timer);
          resolve(m);
        });
        worker.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        worker.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`the preview worker exited with code ${code} without an answer`));
        });
      });
      if (reply.ok) {
        this.#logger.info({ mode, total: reply.answer.total, ms: Date.now() - started }, 'sync preview computed');
        return reply.answer;
      }
      if ('internal' in reply) throw new Error(reply.internal);
      const e = reply.error;
      throw new CrossforestError(e.code, e.message, { ...(e.hint ? { hint: e.hint } : {}), ...(e.object ? { object: e.object } : {}) });
    } catch (err) {
      if (err instanceof CrossforestError) {
        this.#logger.warn({ mode, code: err.code, ms: Date.now() - started }, err.message);
        throw err;
      }
      this.#logger.error({ mode, err: (err as Error).message }, 'sync preview failed');
      throw new CrossforestError('CF_ERR_PREVIEW_FAILED', `the ${mode} preview failed`, { hint: 'the service log says why' });
    } finally {
      await worker.terminate();
      if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
    }
  }
}
