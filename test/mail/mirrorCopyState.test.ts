// The copy state written for the opposite direction (rollback's copy back): pairs swapped,
// each side's UIDVALIDITY, the folder mapping reversed, merged folders mapped back once;
// with prune, pairs of mail deleted since are dropped; run again, the same. On the tests'
// state engine (SQLite, or PostgreSQL with CROSSFOREST_TEST_STATE=postgres).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  deleteUids,
  folderState,
  folderStates,
  recordUids,
  resetUidMap,
  setTargetUidValidity,
  type UidRow,
  uidRows,
} from '../../src/mail/copyState.ts';
import { mirrorCopyState } from '../../src/mail/mirrorCopyState.ts';
import type { StateStore } from '../../src/state/store.ts';
import { openTestStore } from '../helpers/state.ts';

const row = (sourceUid: number, targetUid: number | null, state: UidRow['state'] = 'copied', flags = ''): UidRow => ({
  sourceUid,
  targetUid,
  state,
  fingerprint: `fp-${sourceUid}`,
  flags,
  size: 100 + sourceUid,
  reason: state === 'bad' ? 'refused' : null,
});

const pairs = async (s: StateStore, src: string, tgt: string, folder: string) => {
  const f = (await folderStates(s, src, tgt)).find((x) => x.sourceFolder === folder);
  assert.ok(f, `folder ${folder} of ${src} → ${tgt}`);
  return { f, rows: (await uidRows(s, f.id)).map((r) => [r.sourceUid, r.targetUid, r.state, r.flags]) };
};

/** A folder of a copy as copyFolder leaves it: both UIDVALIDITYs, the rows. */
async function folder(s: StateStore, src: string, tgt: string, from: string, to: string, uv: [string, string], rows: UidRow[]) {
  const f = await folderState(s, src, tgt, from, to);
  await resetUidMap(s, f.id, uv[0], to);
  await setTargetUidValidity(s, f.id, uv[1]);
  await recordUids(s, f.id, rows, 50);
  return f.id;
}

describe('mirrorCopyState', () => {
  let s: StateStore;
  before(async () => {
    s = await openTestStore(mkdtempSync(join(tmpdir(), 'cf-mirror-')), 'state.sqlite');
  });
  after(async () => {
    await s.close();
  });

  it('seeds the reverse direction, then writes its pairs back forward (pruning what was deleted)', async () => {
    const fwd = { sourceMailbox: 'u@a.test', targetMailbox: 'u@b.test' };
    await folder(
      s,
      fwd.sourceMailbox,
      fwd.targetMailbox,
      'INBOX',
      'INBOX',
      ['100', '200'],
      [row(1, 11, 'copied', '\\Seen'), row(2, 12, 'matched', '?'), row(3, null, 'bad')],
    );
    await folder(s, fwd.sourceMailbox, fwd.targetMailbox, 'INBOX.Sent', 'Sent', ['101', '201'], [row(1, 1)]);
    await folder(s, fwd.sourceMailbox, fwd.targetMailbox, 'INBOX.Sent Items', 'Sent', ['102', '201'], [row(5, 2)]);
    // A folder never selected has no UIDVALIDITY: nothing to mirror.
    await folderState(s, fwd.sourceMailbox, fwd.targetMailbox, 'INBOX.Empty', 'Empty');

    const seeded = await mirrorCopyState(s, fwd, { prune: false });
    assert.deepEqual(
      [...seeded.folders],
      [
        ['INBOX', 'INBOX'],
        ['Sent', 'INBOX.Sent'],
      ],
    );
    assert.equal(seeded.pairs, 3);
    const inbox = await pairs(s, 'u@b.test', 'u@a.test', 'INBOX');
    assert.deepEqual(inbox.rows, [
      [11, 1, 'copied', '\\Seen'],
      [12, 2, 'matched', '?'],
    ]);
    assert.equal(inbox.f.sourceUidValidity, '200');
    assert.equal(inbox.f.targetUidValidity, '100');
    assert.equal(inbox.f.completedAt, null);
    assert.equal(inbox.f.targetUidNext, null, 'a copy back with anything new looks on the source by fingerprint first');
    // "Sent" maps back to the first of the folders merged into it; the other's message is known, not mapped.
    assert.deepEqual((await pairs(s, 'u@b.test', 'u@a.test', 'Sent')).rows, [
      [1, 1, 'copied', ''],
      [2, null, 'matched', ''],
    ]);

    // The copy back: a new message (13 → 4), flags changed on 11, message 12 deleted on the target.
    const rid = inbox.f.id;
    await recordUids(s, rid, [row(13, 4), { ...row(11, 1), flags: '\\Flagged \\Seen' }]);
    await deleteUids(s, rid, [12]);
    const back = await mirrorCopyState(s, { sourceMailbox: 'u@b.test', targetMailbox: 'u@a.test' }, { prune: true });
    assert.equal(back.pruned, 1);
    const fwdInbox = await pairs(s, fwd.sourceMailbox, fwd.targetMailbox, 'INBOX');
    assert.deepEqual(fwdInbox.rows, [
      [1, 11, 'copied', '\\Flagged \\Seen'],
      [3, null, 'bad', ''],
      [4, 13, 'copied', ''],
    ]);
    assert.equal(fwdInbox.f.sourceUidValidity, '100');
    assert.equal(fwdInbox.f.targetUidValidity, '200');
    // The merged folder the reverse did not map back to keeps its own pairs.
    assert.deepEqual((await pairs(s, fwd.sourceMailbox, fwd.targetMailbox, 'INBOX.Sent Items')).rows, [[5, 2, 'copied', '']]);

    // Run again (a re-run after a crash): the same.
    const again = await mirrorCopyState(s, { sourceMailbox: 'u@b.test', targetMailbox: 'u@a.test' }, { prune: true });
    assert.equal(again.pruned, 0);
    assert.deepEqual((await pairs(s, fwd.sourceMailbox, fwd.targetMailbox, 'INBOX')).rows, fwdInbox.rows);
    // Seeding again keeps the copy back's own pairs (an interrupted copy back keeps its work).
    await mirrorCopyState(s, fwd, { prune: false });
    assert.deepEqual((await pairs(s, 'u@b.test', 'u@a.test', 'INBOX')).rows, [
      [11, 1, 'copied', '\\Flagged \\Seen'],
      [13, 4, 'copied', ''],
    ]);
  });

  it('forgets the mirrored map when a side has a new UIDVALIDITY', async () => {
    const fwd = { sourceMailbox: 'v@a.test', targetMailbox: 'v@b.test' };
    const id = await folder(s, fwd.sourceMailbox, fwd.targetMailbox, 'INBOX', 'INBOX', ['1', '2'], [row(1, 1)]);
    await mirrorCopyState(s, fwd, { prune: false });
    await recordUids(s, (await pairs(s, 'v@b.test', 'v@a.test', 'INBOX')).f.id, [row(9, 9)]);
    // The target folder was recreated: the forward copy rebuilt its map under the new UIDVALIDITY.
    await resetUidMap(s, id, '1', 'INBOX');
    await setTargetUidValidity(s, id, '3');
    await recordUids(s, id, [row(1, 5)]);
    await mirrorCopyState(s, fwd, { prune: false });
    const r = await pairs(s, 'v@b.test', 'v@a.test', 'INBOX');
    assert.deepEqual(r.rows, [[5, 1, 'copied', '']]);
    assert.equal(r.f.sourceUidValidity, '3');
  });
});
