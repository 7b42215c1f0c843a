// The copy state of one direction written for the other. Every (source UID, target UID)
// pair that a copy of mailbox A into mailbox B recorded per folder becomes a pair of a copy
// of B into A: UIDs swapped, each folder's UIDVALIDITY on its own side, the folder mapping
// reversed. A copy back then takes whatever it finds mapped as already there: only what is
// new on B, or whose flags changed since, goes to A, and nothing the first copy put on B
// comes back twice. Rollback (src/migration/rollback.ts) seeds the reverse direction this way
// before it copies back, and afterwards writes the copy back's pairs into the forward
// direction (with `prune`), so that a later forward copy does not carry them again either.
import type { StateStore } from '../state/store.ts';
import { deleteUids, folderStates, recordUids, seedFolderState, type UidRow, uidRows } from './copyState.ts';

export interface CopyDirection {
  sourceMailbox: string;
  targetMailbox: string;
}

export interface MirrorResult {
  /** The mirrored direction's mapping: each of its source folders → the folder it came from (copyMailbox's pinnedFolders). */
  folders: Map<string, string>;
  /** Pairs written. */
  pairs: number;
  /** Pairs of the mirrored direction dropped because `from` no longer has them (prune). */
  pruned: number;
}

type Pair = UidRow & { targetUid: number; state: 'copied' | 'matched' };

const isPair = (r: UidRow): r is Pair => r.targetUid !== null && (r.state === 'copied' || r.state === 'matched');

/**
 * Writes the copy state of `from` for the opposite direction (from.targetMailbox →
 * from.sourceMailbox), folder by folder. With `prune`, a pair the opposite direction holds
 * and `from` does not (the message was deleted on from's source since) is dropped, so a
 * later copy in the opposite direction carries that message again. Pairs the opposite
 * direction holds beyond those are kept (a copy back interrupted by a crash keeps its work).
 * Run again, it writes the same.
 */
export async function mirrorCopyState(store: StateStore, from: CopyDirection, opts: { prune: boolean }): Promise<MirrorResult> {
  const result: MirrorResult = { folders: new Map(), pairs: 0, pruned: 0 };
  const claimed = new Map<string, number>();
  for (const f of await folderStates(store, from.sourceMailbox, from.targetMailbox)) {
    if (!f.sourceUidValidity || !f.targetUidValidity) continue; // never selected: no pairs
    const pairs = (await uidRows(store, f.id)).filter(isPair);
    const owner = claimed.get(f.targetFolder);
    if (owner !== undefined) {
      // Two folders were merged into one (folderMap's warning): the first maps back. The
      // others' messages are known there but have no UID to map to: never copied back, no flags.
      await recordUids(
        store,
        owner,
        pairs.map((r) => ({ ...r, sourceUid: r.targetUid, targetUid: null, state: 'matched', reason: null })),
      );
      continue;
    }
    const to = await seedFolderState(store, from.targetMailbox, from.sourceMailbox, {
      sourceFolder: f.targetFolder,
      targetFolder: f.sourceFolder,
      sourceUidValidity: f.targetUidValidity,
      targetUidValidity: f.sourceUidValidity,
    });
    claimed.set(f.targetFolder, to.id);
    result.folders.set(f.targetFolder, f.sourceFolder);
    const swapped = pairs.map((r) => ({ ...r, sourceUid: r.targetUid, targetUid: r.sourceUid, reason: null }));
    await recordUids(store, to.id, swapped);
    result.pairs += swapped.length;
    if (opts.prune) {
      const keep = new Set(swapped.map((r) => r.sourceUid));
      const gone = (await uidRows(store, to.id)).filter((r) => isPair(r) && !keep.has(r.sourceUid)).map((r) => r.sourceUid);
      await deleteUids(store, to.id, gone);
      result.pruned += gone.length;
    }
  }
  return result;
}
