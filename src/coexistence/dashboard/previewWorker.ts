// The pending-export preview's work, run in a worker thread (syncPreview.ts starts it):
// the real synchronization on a private copy of the state store, so that the service's
// event loop keeps answering and no writer of the store (a sync run, a migration batch)
// ever waits for it. The copy lives in a scratch folder the starting thread owns and
// removes, whether this finishes, fails or is stopped at its deadline.
import type { LoadedProject } from '../../config/load.ts';
import { openProjectState } from '../../state/store.ts';
import { createEngine } from '../../sync/engine.ts';
import { previewOnSnapshot } from '../../sync/preview.ts';
import { newRunContext } from '../../sync/runContext.ts';
import { CrossforestError } from '../../util/errors.ts';
import { silentLogger } from '../../util/logger.ts';
import type { PreviewAnswer } from './syncPreview.ts';

export interface PreviewJob {
  /** Plain data: the config holds secret references, never secrets. */
  project: LoadedProject;
  /** The SQLite store's copy goes here; none on PostgreSQL. */
  scratchDir: string | undefined;
  mode: 'full' | 'delta';
  maxItems: number;
}

export type PreviewReply =
  | { ok: true; answer: PreviewAnswer }
  | { ok: false; error: { code: string; message: string; hint: string | undefined; object: string | undefined } }
  /** Not a CrossforestError: its message is not written for people (it may name internals), so only the log gets it. */
  | { ok: false; internal: string };

export async function runPreviewJob(job: PreviewJob): Promise<PreviewReply> {
  try {
    // The engine first: a broken sync section is reported before anything is copied.
    const engine = await createEngine(job.project, silentLogger);
    // The worker's own connection to the store the project file names.
    const store = await openProjectState(job.project);
    let result: Awaited<ReturnType<typeof previewOnSnapshot>>;
    try {
      result = await previewOnSnapshot(engine, store, job.mode, newRunContext(silentLogger), job.scratchDir);
    } finally {
      await store.close();
    }
    return {
      ok: true,
      answer: {
        mode: job.mode,
        computedAt: new Date().toISOString(),
        total: result.items.length,
        items: result.items.slice(0, job.maxItems),
        errors: result.errors.slice(0, job.maxItems),
      },
    };
  } catch (err) {
    if (err instanceof CrossforestError)
      return { ok: false, error: { code: err.code, message: err.message, hint: err.hint, object: err.object } };
    return { ok: false, internal: err instanceof Error ? err.message : String(err) };
  }
}
