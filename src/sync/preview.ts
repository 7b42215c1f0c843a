// Preview: every add, modify (attribute: old → new), rename and delete the next export
// would send, per agent, computed by running the synchronization inside a transaction
// that is then rolled back: nothing is written, and the list is exactly what export sends.
// The command line and the dashboard run it on a copy of a SQLite store (previewOnSnapshot);
// on PostgreSQL the rolled-back transaction runs on the store itself: its readers never
// wait for it (MVCC), and a writer waits only for rows the preview changed.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { snapshotScratchDir, snapshotStateStore } from '../state/snapshot.ts';
import { openStateStore, type StateStore } from '../state/store.ts';
import { StateError } from '../util/errors.ts';
import * as cs from './connectorSpace.ts';
import type { SyncEngine } from './engine.ts';
import { currentValues } from './provisioning.ts';
import type { RunContext } from './runContext.ts';
import { runSync } from './syncRun.ts';
import type { CsObject, ObjectError } from './types.ts';

export interface AttributeDiff {
  attribute: string;
  old: string[];
  new: string[];
}

export interface PreviewItem {
  agent: string;
  op: 'add' | 'modify' | 'rename' | 'delete';
  dn: string;
  newDn?: string;
  changes: AttributeDiff[];
}

export interface Preview {
  items: PreviewItem[];
  /** Errors the synchronization would report (ambiguous joins, proxy conflicts …). */
  errors: ObjectError[];
}

class Rollback extends Error {}

export function describePending(c: CsObject): PreviewItem {
  if (c.pendingOp === 'delete') return { agent: c.agent, op: 'delete', dn: c.dn, changes: [] };
  if (c.pendingOp === 'add') {
    const changes = Object.entries(c.pendingAttributes ?? {}).map(([attribute, v]) => ({ attribute, old: [], new: v }));
    return { agent: c.agent, op: 'add', dn: c.dn, changes };
  }
  const changes = Object.entries(c.pendingAttributes ?? {}).map(([attribute, v]) => ({
    attribute,
    old: currentValues(c, attribute),
    new: v,
  }));
  const item: PreviewItem = { agent: c.agent, op: c.pendingDn && changes.length === 0 ? 'rename' : 'modify', dn: c.dn, changes };
  if (c.pendingDn) item.newDn = c.pendingDn;
  return item;
}

export async function listPending(engine: SyncEngine, store: StateStore, agents: string[] = engine.agentIds): Promise<PreviewItem[]> {
  const items: PreviewItem[] = [];
  for (const a of agents) for (const c of await cs.pendingExports(store, a)) items.push(describePending(c));
  return items;
}

/** Runs a (full or delta) synchronization, lists the pending exports, and rolls everything back. */
export async function preview(engine: SyncEngine, store: StateStore, mode: 'full' | 'delta', run: RunContext): Promise<Preview> {
  let result: Preview | undefined;
  try {
    await store.sql.tx(async () => {
      await runSync(engine, store, mode, run);
      result = { items: await listPending(engine, store), errors: [...run.errors] };
      throw new Rollback();
    });
  } catch (err) {
    if (!(err instanceof Rollback)) throw err;
  }
  return result ?? { items: [], errors: [] };
}

/**
 * The preview on a private copy of the state store (src/state/snapshot.ts): the same
 * computation, but no writer of the store (a sync run, a migration batch) waits for it,
 * and a preview killed half-way leaves the store untouched. The copy goes into
 * `scratchDir` when given (its owner removes it), else into a folder beside the store
 * that is removed here.
 */
export async function previewOnSnapshot(
  engine: SyncEngine,
  state: StateStore,
  mode: 'full' | 'delta',
  run: RunContext,
  scratchDir?: string,
): Promise<Preview> {
  if (state.engine === 'postgres') return preview(engine, state, mode, run);
  const statePath = state.path;
  if (statePath === undefined || statePath === ':memory:')
    throw new StateError('the preview needs the SQLite state store in a file', {
      object: state.location,
      hint: 'set state.path in the project file',
    });
  const dir = scratchDir ?? snapshotScratchDir(statePath);
  try {
    const copy = join(dir, 'state.sqlite');
    snapshotStateStore(statePath, copy);
    const store = openStateStore(copy);
    try {
      // dialect: a SQLite pragma; the snapshot is a copy of the SQLite file.
      await store.sql.exec('PRAGMA synchronous = OFF'); // a throw-away copy: no fsync
      return await preview(engine, store, mode, run);
    } finally {
      await store.close();
    }
  } finally {
    if (!scratchDir) rmSync(dir, { recursive: true, force: true });
  }
}
