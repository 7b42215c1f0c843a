// The pending-export preview on demand: the same computation as `crossforest sync preview`
// (a synchronization inside a transaction that is rolled back), one at a time: a second
// request while one runs waits for the same answer instead of starting another.
import type { LoadedProject } from '../../config/load.ts';
import type { StateStore } from '../../state/store.ts';
import { createEngine } from '../../sync/engine.ts';
import { type Preview, preview } from '../../sync/preview.ts';
import { newRunContext } from '../../sync/runContext.ts';
import type { Logger } from '../../util/logger.ts';

export interface PreviewAnswer extends Preview {
  mode: 'full' | 'delta';
  computedAt: string;
  /** Items listed at most; `total` says how many there were. */
  total: number;
}

export const MAX_PREVIEW_ITEMS = 500;

export class SyncPreviewService {
  readonly #project: LoadedProject;
  readonly #logger: Logger;
  readonly #running = new Map<string, Promise<PreviewAnswer>>();

  constructor(project: LoadedProject, logger: Logger) {
    this.#project = project;
    this.#logger = logger;
  }

  compute(store: StateStore, mode: 'full' | 'delta'): Promise<PreviewAnswer> {
    const busy = this.#running.get(mode);
    if (busy) return busy;
    const p = (async () => {
      const engine = await createEngine(this.#project, this.#logger);
      const result = preview(engine, store, mode, newRunContext(this.#logger));
      return {
        mode,
        computedAt: new Date().toISOString(),
        total: result.items.length,
        items: result.items.slice(0, MAX_PREVIEW_ITEMS),
        errors: result.errors.slice(0, MAX_PREVIEW_ITEMS),
      };
    })().finally(() => this.#running.delete(mode));
    this.#running.set(mode, p);
    return p;
  }
}
