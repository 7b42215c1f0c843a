// The batch's verify reads every byte (issue 15): a message whose body is damaged on the
// target between copy and cutover, its size unchanged, fails the mailbox's verify with the
// folder, the UIDs and both SHA-256s named, and the mailbox is not reported done. Live: the
// lab's directories and Dovecots, a batch with manual cutover (both state engines).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { requestComplete } from '../../src/migration/batchOps.ts';
import { batchByName, mailboxesOf } from '../../src/migration/batchStore.ts';
import { createBatch } from '../../src/migration/createBatch.ts';
import { runBatch } from '../../src/migration/runner.ts';
import { type MigLab, migLab, namesFile, removeAll, session, sourceUser } from './fixtures.ts';

const labs: MigLab[] = [];
after(async () => {
  for (const l of labs) await removeAll(l);
});

describe('batch verify compares every byte (lab)', () => {
  it('a same-size body damage on the target fails the mailbox at verify, naming folder, UIDs and hashes', async () => {
    const l = await migLab();
    labs.push(l);
    const u = await sourceUser(l, 'vb', 3);
    await createBatch(l.setup, l.store, {
      name: 'vb',
      from: { file: namesFile(l, [u.sam]) },
      targetStore: 'store-b',
      options: { cutover: 'manual' },
    });
    const first = await runBatch(l.setup, l.store, 'vb');
    assert.deepEqual(first.states, { copied: 1 });
    const [row] = await mailboxesOf(l.store, (await batchByName(l.store, 'vb'))!.id);
    const target = row!.plan.targetLogin;

    // On the target: one INBOX message replaced by a copy with one body byte changed (IMAP cannot rewrite in place).
    const c = await session(l, 'b', target);
    const box = await c.mailboxOpen('INBOX');
    assert.ok(box.exists > 0);
    const uid = (await c.search({ all: true }, { uid: true })) || [];
    const m = await c.fetchOne(String(uid[0]), { uid: true, source: true, flags: true, internalDate: true }, { uid: true });
    if (m === false || !m.source) throw new Error('the target message could not be read');
    const damaged = Buffer.from(m.source);
    const at = damaged.indexOf('\r\n\r\n') + 6;
    damaged[at] = damaged[at] === 0x78 ? 0x79 : 0x78;
    await c.append('INBOX', damaged, [...(m.flags ?? [])], m.internalDate);
    await c.messageDelete(String(m.uid), { uid: true });
    await c.logout();

    await requestComplete(l.store, 'vb');
    const done = await runBatch(l.setup, l.store, 'vb');
    assert.notEqual(done.status, 'completed');
    const [after] = await mailboxesOf(l.store, (await batchByName(l.store, 'vb'))!.id);
    assert.notEqual(after!.state, 'done');
    assert.ok(after!.fidelity !== null && after!.fidelity < 1, `fidelity ${after!.fidelity}`);
    const problems = after!.verify?.problems ?? [];
    assert.ok(
      problems.some(
        (p) =>
          /^INBOX UID \d+ content: the bytes differ \(target INBOX UID \d+;/.test(p) &&
          /source SHA-256 [0-9a-f]{64}, target [0-9a-f]{64}/.test(p),
      ),
      JSON.stringify(problems),
    );
  });
});
