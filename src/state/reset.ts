// Starting a project over (`crossforest lab reset`): the state store is set aside, never
// simply deleted. A consistent copy is written first (VACUUM INTO, beside the store, named
// `*.before-reset-<time>.sqlite` so it is as ignored as the store itself), then the live file
// and its WAL and shared-memory files go, and the next command creates an empty store.
// Refused while a live lease is held (a batch runs, a sync runs, notices are resent): a reset
// under a writer would pull the ground from under a step half done.
import { existsSync, rmSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import Database from 'better-sqlite3';
import { StateError } from '../util/errors.ts';
import { snapshotStateStore } from './snapshot.ts';
import { holderIsDead } from './store.ts';

export interface StateReset {
  /** The store that was reset. */
  path: string;
  /** The copy of it taken before, or undefined when there was no store. */
  backup?: string;
}

/** The leases still held by a live process (a holder of this host that died does not count). */
export function liveLeases(path: string): { name: string; holder: string }[] {
  if (!existsSync(path)) return [];
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const hasLeases = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'lease'").get();
    if (!hasLeases) return [];
    const rows = db.prepare('SELECT name, holder FROM lease WHERE expires_at >= ?').all(new Date().toISOString()) as {
      name: string;
      holder: string;
    }[];
    return rows.filter((r) => !holderIsDead(r.holder));
  } catch (err) {
    throw new StateError(`cannot read the state store ${path}: ${(err as Error).message}`, {
      object: path,
      hint: 'check that the file is a crossforest SQLite database; move it away by hand to start over',
      cause: err,
    });
  } finally {
    db?.close();
  }
}

/** Backs the store up beside itself, then removes it; `now` names the backup. */
export function resetStateStore(path: string, now = new Date()): StateReset {
  if (!existsSync(path)) return { path };
  const busy = liveLeases(path);
  if (busy.length > 0) {
    throw new StateError(`the state store ${path} is in use: ${busy.map((l) => `${l.name} (held by ${l.holder})`).join(', ')}`, {
      object: path,
      hint: 'wait for the batch or sync run to end (or `batch suspend` it), then reset again; a crashed holder on another host frees its lease within a minute',
    });
  }
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const ext = extname(path);
  const backup = join(dirname(path), `${basename(path, ext)}.before-reset-${stamp}${ext || '.sqlite'}`);
  snapshotStateStore(path, backup);
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
  return { path, backup };
}
