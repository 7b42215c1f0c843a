// A consistent copy of the state store in another file, taken without getting in a
// writer's way: `VACUUM INTO` on a read-only connection of its own reads one snapshot (a
// WAL read transaction, which never blocks the one writer) and writes a compact copy.
// For work that must run the real code on the real data and throw the result away (the
// dashboard's pending-export preview): it writes to the copy, never to the store.
import { mkdtempSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { StateError } from '../util/errors.ts';

/** A fresh folder for a copy of the store, beside it: the same disk, known to have room for the store itself. */
export function snapshotScratchDir(statePath: string): string {
  return mkdtempSync(join(dirname(statePath), '.crossforest-preview-'));
}

/** Copies the SQLite state store at `sourcePath` into `targetPath` (which must not exist yet). */
export function snapshotStateStore(sourcePath: string, targetPath: string): void {
  let source: Database.Database | undefined;
  try {
    source = new Database(sourcePath, { readonly: true, fileMustExist: true });
    source.pragma('busy_timeout = 10000');
    source.prepare('VACUUM INTO ?').run(targetPath);
  } catch (err) {
    throw new StateError(`cannot copy the state store ${sourcePath}: ${(err as Error).message}`, {
      object: sourcePath,
      hint: 'check that the state store exists and that its folder is writable and has room for a copy',
      cause: err,
    });
  } finally {
    source?.close();
  }
}
