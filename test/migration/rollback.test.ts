// `batch rollback` without loss, on the lab's real servers: a mailbox moved to done (the
// default immediate cutover) gets new mail and a flag change in its target mailbox; the
// rollback copies both back (nothing the move put there comes back twice), the source user
// logs in and receives again, the target user loses its mailbox and routes to the source;
// a later start moves it again, without duplicates. Also: a mailbox never cut over is
// refused with the reason, a second rollback is refused clearly, a rollback killed half-way
// converges when run again, and the folders others share with a delegate are not copied
// back into the delegate's mailbox.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { POSTFIX_LAB } from '../../lab/postfix/postfix.ts';
import { orgMailStores } from '../../src/config/organization.ts';
import { openMailSession } from '../../src/mail/connection.ts';
import { rollbackMailbox } from '../../src/migration/batchOps.ts';
import { batchByName, mailboxesOf, stepsOf } from '../../src/migration/batchStore.ts';
import { createBatch } from '../../src/migration/createBatch.ts';
import { runBatch } from '../../src/migration/runner.ts';
import type { RunEvent } from '../../src/migration/types.ts';
import {
  canLogin,
  cli,
  delegate,
  entry,
  inboxCopies,
  type MigLab,
  messageCount,
  migLab,
  namesFile,
  removeAll,
  sendMessage,
  session,
  sourceUser,
  waitForMessage,
} from './fixtures.ts';

const B_MX = POSTFIX_LAB.b.smtpPort;

/** Subjects per personal folder (other users' folders left out), with the flags of each message. */
async function contents(l: MigLab, org: 'a' | 'b', login: string): Promise<Record<string, string[]>> {
  const c = await session(l, org, login);
  try {
    const out: Record<string, string[]> = {};
    for (const f of await c.list()) {
      if (f.path.startsWith('shared') || f.flags.has('\\Noselect')) continue;
      await c.mailboxOpen(f.path, { readOnly: true });
      const items: string[] = [];
      for await (const m of c.fetch('1:*', { envelope: true, flags: true }, { uid: true }))
        items.push(`${m.envelope?.subject ?? ''}${m.flags?.has('\\Flagged') ? ' [flagged]' : ''}`);
      if (items.length) out[f.path] = items.sort();
    }
    return out;
  } finally {
    await c.logout();
  }
}

describe('batch rollback without loss (lab)', () => {
  let l: MigLab;
  before(async () => {
    l = await migLab();
  });
  after(async () => {
    await removeAll(l);
  });
  const mailbox = async (batch: string, i = 0) => (await mailboxesOf(l.store, (await batchByName(l.store, batch))!.id))[i]!;

  it('rolls back a mailbox at done: new mail and flag changes in the target are copied back once, routing and login are back, the target is cleared; a new start moves it again', async () => {
    const u = await sourceUser(l, 'rbk', 4);
    await createBatch(l.setup, l.store, {
      name: 'rb',
      from: { file: namesFile(l, [u.sam]) },
      targetStore: 'store-b',
      options: { cutoverSettleSeconds: 1 },
    });
    const original = await contents(l, 'a', u.upn);
    assert.deepEqual(original, {
      INBOX: ['rbk 0', 'rbk 1', 'rbk 2', 'rbk 3'],
      'INBOX.Projects': ['rbk project 2', 'rbk project [flagged]'],
    });
    const moved = await runBatch(l.setup, l.store, 'rb');
    assert.equal(moved.status, 'completed', (await mailboxesOf(l.store, moved.batch.id)).map((m) => m.error).join('\n'));
    const m = await mailbox('rb');
    const b = m.plan.targetLogin;

    // Since cutover: mail delivered to the new mailbox, and a flag set there on a moved message.
    const fresh = await sendMessage(B_MX, m.plan.targetPrimary, 'after cutover, in B');
    assert.equal(await waitForMessage(l, 'b', b, fresh), 1);
    const c = await session(l, 'b', b);
    try {
      await c.mailboxOpen('INBOX');
      const uids = (await c.search({ subject: 'rbk 0' }, { uid: true })) || [];
      assert.equal(uids.length, 1);
      await c.messageFlagsAdd(uids, ['\\Flagged'], { uid: true });
    } finally {
      await c.logout();
    }

    const events: RunEvent[] = [];
    const r = await rollbackMailbox(l.setup, l.store, u.upn, { emit: (e) => events.push(e) });
    assert.equal(r.state, 'queued');
    assert.equal(r.outcome.copiedBack, 1, JSON.stringify(r.outcome));
    assert.ok(r.outcome.flagsUpdated >= 1, JSON.stringify(r.outcome));
    assert.ok(
      events.some((e) => e.type === 'wait' && e.what.startsWith('rollback:')),
      'the settle before the final copy back',
    );

    // The source mailbox: every original message exactly once, the new one, the flag change.
    assert.deepEqual(await contents(l, 'a', u.upn), {
      INBOX: ['after cutover, in B', 'rbk 0 [flagged]', 'rbk 1', 'rbk 2', 'rbk 3'],
      'INBOX.Projects': ['rbk project 2', 'rbk project [flagged]'],
    });
    // The source user logs in with its own password; its directory entry serves and no longer routes away.
    const own = await openMailSession(orgMailStores(l.project.config.organizations.a!, 'a')[0]!, u.upn, {
      baseDir: l.project.baseDir,
      keyPath: 'a',
      ownLogin: { user: u.upn, password: u.password },
    });
    await own.logout();
    const a = await entry(l, 'a', u.dn);
    assert.equal(a?.homeMDB?.length, 1);
    assert.equal(a?.targetAddress, undefined);
    // The target user: no mailbox, routed to the source; its object stays.
    const t = await entry(l, 'b', m.plan.targetDn);
    assert.ok(t, 'the target user is kept');
    assert.equal(t.homeMDB, undefined);
    assert.deepEqual(t.targetAddress, [`SMTP:${u.mail}`]);
    assert.equal(await canLogin(l, 'b', b), false);
    // Mail sent now, to the old and to the new address, lands in the source.
    const toOld = await sendMessage(B_MX, u.mail, 'after rollback, to the old address');
    const toNew = await sendMessage(B_MX, m.plan.targetPrimary, 'after rollback, to the new address');
    assert.equal(await waitForMessage(l, 'a', u.upn, toOld), 1);
    assert.equal(await waitForMessage(l, 'a', u.upn, toNew), 1);
    // Recorded: a rollback step with the messages copied back (batch show, the report).
    const step = (await stepsOf(l.store, m.batchId)).filter((s) => s.step === 'rollback');
    assert.deepEqual(
      step.map((s) => [s.status, s.messages]),
      [['done', 1]],
    );

    // A second rollback is refused, saying where the mailbox stands.
    await assert.rejects(rollbackMailbox(l.setup, l.store, u.upn), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CF_ERR_ROLLBACK');
      assert.match(err.message, new RegExp(`${u.upn} has no cutover to roll back \\(rb: queued\\)`));
      return true;
    });

    // Moved again: only what is new in the source goes over; nothing is there twice.
    const again = await runBatch(l.setup, l.store, 'rb');
    assert.equal(again.status, 'completed', (await mailbox('rb')).error ?? '');
    assert.deepEqual(await contents(l, 'b', b), {
      INBOX: [
        'after cutover, in B',
        'after rollback, to the new address',
        'after rollback, to the old address',
        'rbk 0 [flagged]',
        'rbk 1',
        'rbk 2',
        'rbk 3',
      ],
      Projects: ['rbk project 2', 'rbk project [flagged]'],
    });
    assert.equal(await canLogin(l, 'a', u.upn), false);
    assert.equal((await mailbox('rb')).state, 'done');
  });

  it('refuses a mailbox never cut over, with the reason, and changes nothing', async () => {
    const u = await sourceUser(l, 'rbn', 1);
    await createBatch(l.setup, l.store, {
      name: 'nc',
      from: { file: namesFile(l, [u.sam]) },
      targetStore: 'store-b',
      options: { cutover: 'manual' },
    });
    assert.equal((await runBatch(l.setup, l.store, 'nc')).status, 'synced');
    const m = await mailbox('nc');
    const before = [await entry(l, 'a', u.dn), await entry(l, 'b', m.plan.targetDn)];
    await assert.rejects(rollbackMailbox(l.setup, l.store, u.upn), (err: Error & { code?: string; hint?: string }) => {
      assert.equal(err.code, 'CF_ERR_ROLLBACK');
      assert.match(err.message, new RegExp(`${u.upn} has no cutover to roll back \\(nc: copied\\)`));
      assert.match(err.hint ?? '', /a rollback starts from a cutover/);
      return true;
    });
    assert.deepEqual([await entry(l, 'a', u.dn), await entry(l, 'b', m.plan.targetDn)], before);
    assert.equal((await mailbox('nc')).state, 'copied');
    await assert.rejects(rollbackMailbox(l.setup, l.store, 'nobody-here@forest-a.test'), /has no cutover to roll back \(in no batch\)/);
  });

  it('a source store that does not serve is refused with nothing changed; killed anywhere, a rollback run again converges', async () => {
    const u = await sourceUser(l, 'rbc', 2);
    await createBatch(l.setup, l.store, {
      name: 'rc',
      from: { file: namesFile(l, [u.sam]) },
      targetStore: 'store-b',
      options: { cutoverSettleSeconds: 0, mailboxReadyTimeoutSeconds: 2 },
    });
    assert.equal((await cli(l, ['batch', 'start', 'rc'])).code, 0);
    const m = await mailbox('rc');
    const fresh = await sendMessage(B_MX, m.plan.targetPrimary, 'after cutover, before the crashes');
    assert.equal(await waitForMessage(l, 'b', m.plan.targetLogin, fresh), 1);

    // The source store does not answer (a project pointing at a closed port): refused, the source user as it was.
    const before = await entry(l, 'a', u.dn);
    const a = structuredClone(l.setup.source);
    for (const st of a.mailStores ?? [a.mailStore!]) st.port = 9;
    await assert.rejects(rollbackMailbox({ ...l.setup, source: a }, l.store, u.upn), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CF_ERR_ROLLBACK');
      assert.match(err.message, /source store did not serve .* within 2 s after its mailbox attributes were restored .*nothing changed/);
      return true;
    });
    assert.deepEqual(await entry(l, 'a', u.dn), before);
    assert.equal((await mailbox('rc')).state, 'done');
    // Killed after the first copy back (routing still to the target), then after the target lost its mailbox.
    for (const point of ['rollback:copied', 'rollback:target']) {
      const killed = await cli(l, ['batch', 'rollback', u.upn], { CROSSFOREST_FAILPOINT: point });
      assert.equal(killed.signal, 'SIGKILL', `${point}: ${killed.err}`);
    }
    assert.equal((await entry(l, 'b', m.plan.targetDn))?.homeMDB, undefined);
    const done = await cli(l, ['batch', 'rollback', u.upn]);
    assert.equal(done.code, 0, done.err);
    assert.match(done.out, /cutover rolled back \(batch rc\); 0 messages \(.*\) copied back .* state queued/);
    assert.equal(await inboxCopies(l, 'a', u.upn, fresh), 1, 'copied back once, over three runs');
    assert.equal(await messageCount(l, 'a', u.upn), 5);
    assert.deepEqual((await entry(l, 'b', m.plan.targetDn))?.targetAddress, [`SMTP:${u.mail}`]);
    assert.equal((await entry(l, 'a', u.dn))?.targetAddress, undefined);
    assert.equal((await mailbox('rc')).state, 'queued');
    const steps = (await stepsOf(l.store, m.batchId)).filter((s) => s.step === 'rollback').map((s) => s.status);
    assert.deepEqual(steps, ['failed', 'failed', 'failed', 'done'], 'the refused and the killed runs are recorded');
  });

  it("copies none of the folders others share with a delegate back into the delegate's mailbox", async () => {
    const owner = await sourceUser(l, 'rbo', 3);
    const dlg = await sourceUser(l, 'rbd', 1);
    await delegate(l, owner.upn, 'INBOX', dlg.upn);
    await createBatch(l.setup, l.store, {
      name: 'dl',
      from: { file: namesFile(l, [owner.sam, dlg.sam]) },
      targetStore: 'store-b',
      options: { cutoverSettleSeconds: 0 },
    });
    assert.equal((await runBatch(l.setup, l.store, 'dl')).status, 'completed');
    const rows = await mailboxesOf(l.store, (await batchByName(l.store, 'dl'))!.id);
    const dlgB = rows.find((x) => x.sourceLogin === dlg.upn)!.plan.targetLogin;
    const ownerB = rows.find((x) => x.sourceLogin === owner.upn)!.plan.targetLogin;
    // In B the delegate's listing shows the owner's shared folders (the ACL translated by the move).
    const c = await session(l, 'b', dlgB);
    try {
      const listed = (await c.list()).map((f) => f.path);
      assert.ok(listed.includes(`shared/${ownerB}`), JSON.stringify(listed));
    } finally {
      await c.logout();
    }
    const r = await rollbackMailbox(l.setup, l.store, dlg.upn);
    assert.equal(r.outcome.copiedBack, 0, JSON.stringify(r.outcome));
    assert.equal(await messageCount(l, 'a', dlg.upn), 3, 'its own 3 messages, none of the owner');
    const a = await session(l, 'a', dlg.upn);
    try {
      const made = (await a.list()).map((f) => f.path).filter((p) => /shared/i.test(p));
      assert.deepEqual(made, [], 'no folder made of the shared namespace');
    } finally {
      await a.logout();
    }
    // The owner stays moved.
    assert.equal(await canLogin(l, 'b', ownerB), true);
  });
});
