// User notices on the lab: the before-notice (sent through forest B's submission port to
// the old forest-A address) arrives in the user's A INBOX, the after-notice in the new B
// INBOX, placeholders filled; re-runs send nothing twice; an unreachable SMTP is a warning
// on the mailbox, the move still completes, and the next run sends what is still due.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import { batchByName, mailboxesOf } from '../../src/migration/batchStore.ts';
import { createBatch } from '../../src/migration/createBatch.ts';
import { noticeLines, resendNotices } from '../../src/migration/noticeOps.ts';
import { markSending, noticeOf, noticesOfBatch } from '../../src/migration/noticeStore.ts';
import { type NoticeContext, sendNotices } from '../../src/migration/notices.ts';
import { runBatch } from '../../src/migration/runner.ts';
import { newLeaseHolder } from '../../src/state/store.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { cli, galContact, type MigLab, migLab, namesFile, removeAll, session, sourceUser } from './fixtures.ts';

/** The example's commented notices block, enabled (`port` overrides the lab's 5872). */
const enableNotices =
  (port = 5872) =>
  (t: string): string =>
    t
      .replace(/^ {2}# notices:.*$/m, '  notices:')
      .replace(/^ {2}# {3}smtp:.*$/m, `    smtp: { host: 127.0.0.1, port: ${port}, tls: none }`)
      .replace(/^ {2}# {3}from:/m, '    from:')
      .replace(
        /^ {2}# {3}after:.*$/m,
        '    after: { subject: "Moved: {displayName} is now {targetAddress}", body: "Hello {displayName}, batch {batch} ({workgroup}) moved {sourceAddress} to {targetAddress}." }',
      );

const labs: MigLab[] = [];
after(async () => {
  for (const l of labs) await removeAll(l);
});

/** The messages carrying `messageId` in the INBOX (read as master), polled until `want` arrived. */
async function inbox(l: MigLab, org: 'a' | 'b', login: string, messageId: string, want = 1): Promise<{ subject: string; body: string }[]> {
  for (let i = 0; ; i++) {
    const c = await session(l, org, login);
    try {
      await c.mailboxOpen('INBOX', { readOnly: true });
      const uids = (await c.search({ header: { 'message-id': messageId } }, { uid: true })) || [];
      if (uids.length >= want || i >= 60) {
        const out: { subject: string; body: string }[] = [];
        for (const uid of uids) {
          const m = await c.fetchOne(String(uid), { envelope: true, source: true }, { uid: true });
          if (m !== false && m.source) out.push({ subject: m.envelope?.subject ?? '', body: (await simpleParser(m.source)).text ?? '' });
        }
        return out;
      }
    } finally {
      await c.logout();
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

const ctxOf = async (l: MigLab, name: string): Promise<NoticeContext> => ({
  setup: l.setup,
  store: l.store,
  batch: (await batchByName(l.store, name))!,
  logger: silentLogger,
});

describe('user notices (lab)', () => {
  let l: MigLab;
  before(async () => {
    l = await migLab(enableNotices());
    labs.push(l);
  });

  it('before-notice in the A INBOX, after-notice in the B INBOX, placeholders filled, nothing sent twice', async () => {
    const u1 = await sourceUser(l, 'ntc', 1);
    const u2 = await sourceUser(l, 'ntd', 1);
    await galContact(l, u1); // B routes u1's old address by the contact; u2's by domain
    await createBatch(l.setup, l.store, {
      name: 'notices',
      from: { file: namesFile(l, [u1.sam, u2.sam]) },
      targetStore: 'store-b',
      options: { workgroup: 'Sales' },
    });

    // The runner's first act, on its own, so the A INBOX can be read while A still serves it.
    const sent = await sendNotices(await ctxOf(l, 'notices'), 'before');
    assert.deepEqual(
      sent.map((s) => s.status),
      ['sent', 'sent'],
    );
    const rows = await mailboxesOf(l.store, (await batchByName(l.store, 'notices'))!.id);
    for (const [u, m] of [u1, u2].map((u) => [u, rows.find((x) => x.sourceLogin === u.upn)!] as const)) {
      const row = (await noticeOf(l.store, m.id, 'before'))!;
      assert.equal(row.recipient, u.mail);
      const got = await inbox(l, 'a', u.upn, row.messageId);
      assert.equal(got.length, 1, `before-notice in ${u.upn}'s A INBOX`);
      assert.equal(got[0]!.subject, `Your mailbox moves to ${m.plan.targetPrimary} (as soon as possible)`);
      assert.match(got[0]!.body, /For the first week please choose recipients from the Global Address List/);
      assert.match(got[0]!.body, new RegExp(`Hello Test ${u.sam.slice(4, 7)}`));
      assert.match(got[0]!.body, /workgroup Sales/);
      assert.doesNotMatch(got[0]!.body, /\{(displayName|sourceAddress|targetAddress|batch|workgroup|window)\}/);
    }

    const r = await runBatch(l.setup, l.store, 'notices');
    assert.equal(r.status, 'completed');
    const batchId = (await batchByName(l.store, 'notices'))!.id;
    for (const m of await mailboxesOf(l.store, batchId)) {
      const b = (await noticeOf(l.store, m.id, 'before'))!;
      assert.equal(b.attempts, 1, 'the run did not send the before-notice again');
      const a = (await noticeOf(l.store, m.id, 'after'))!;
      assert.equal(a.status, 'sent');
      assert.equal(a.recipient, m.plan.targetPrimary);
      const got = await inbox(l, 'b', m.plan.targetLogin, a.messageId);
      assert.equal(got.length, 1, `after-notice in ${m.plan.targetLogin}'s B INBOX`);
      assert.equal(got[0]!.subject, `Moved: ${m.plan.display.displayName?.[0]} is now ${m.plan.targetPrimary}`);
      assert.match(got[0]!.body, new RegExp(`batch notices \\(Sales\\) moved ${m.sourceMail.replace('.', '\\.')}`));
    }

    // Re-run (resume of a finished batch): nothing due, nothing sent.
    await runBatch(l.setup, l.store, 'notices');
    assert.deepEqual(
      (await noticesOfBatch(l.store, batchId)).map((n) => [n.kind, n.status, n.attempts]),
      [
        ['after', 'sent', 1],
        ['before', 'sent', 1],
        ['after', 'sent', 1],
        ['before', 'sent', 1],
      ],
    );
    const m0 = (await mailboxesOf(l.store, batchId))[0]!;
    assert.equal(
      (await inbox(l, 'b', m0.plan.targetLogin, (await noticeOf(l.store, m0.id, 'after'))!.messageId)).length,
      1,
      'still one after-notice',
    );

    // A run killed inside the SMTP transaction: the notice is reported, never sent again.
    await markSending(l.store, m0.id, 'after', m0.plan.targetPrimary, (await noticeOf(l.store, m0.id, 'after'))!.messageId);
    const again = await sendNotices(await ctxOf(l, 'notices'), 'after');
    assert.deepEqual(
      again.map((o) => o.status),
      ['unknown'],
    );
    assert.match(again[0]!.warning!, /not sent again/);
    assert.deepEqual(await sendNotices(await ctxOf(l, 'notices'), 'after'), []);
  });

  it('an unreachable SMTP is a warning: the mailbox reaches done, the next run sends the after-notice', async () => {
    const l2 = await migLab(enableNotices(1));
    labs.push(l2);
    const u = await sourceUser(l2, 'ntu', 1);
    await createBatch(l2.setup, l2.store, { name: 'nosmtp', from: { file: namesFile(l2, [u.sam]) }, targetStore: 'store-b', options: {} });
    const r = await runBatch(l2.setup, l2.store, 'nosmtp');
    assert.equal(r.status, 'completed');
    const m = (await mailboxesOf(l2.store, (await batchByName(l2.store, 'nosmtp'))!.id))[0]!;
    assert.equal(m.state, 'done');
    for (const kind of ['before', 'after'] as const) {
      const n = (await noticeOf(l2.store, m.id, kind))!;
      assert.equal(n.status, 'failed');
      assert.match(n.warning!, /127\.0\.0\.1:1 failed \(retried on the next run\).*ECONNREFUSED/s);
    }
    // The warnings are in the batch report (JSON and HTML).
    const json = JSON.parse(readFileSync(r.reportHtml.replace(/batch\.html$/, 'batch.json'), 'utf8')) as {
      notices: { kind: string; status: string; warning: string }[];
    };
    assert.deepEqual(
      json.notices.map((n) => [n.kind, n.status]),
      [
        ['after', 'failed'],
        ['before', 'failed'],
      ],
    );
    assert.match(readFileSync(r.reportHtml, 'utf8'), /<h2>User notices<\/h2>[\s\S]*ECONNREFUSED/);
    // The SMTP is back: the after-notice goes out; the before-notice is too late and says so.
    l2.setup.config.notices!.smtp.port = 5872;
    await runBatch(l2.setup, l2.store, 'nosmtp');
    assert.equal((await noticeOf(l2.store, m.id, 'before'))!.status, 'missed');
    assert.match((await noticeOf(l2.store, m.id, 'before'))!.warning!, /cut over first \(last attempt: .*ECONNREFUSED/s);
    const a = (await noticeOf(l2.store, m.id, 'after'))!;
    assert.equal(a.status, 'sent');
    assert.equal(a.attempts, 2);
    assert.equal((await inbox(l2, 'b', m.plan.targetLogin, a.messageId)).length, 1);
    // The operator resends the missed before-notice: it goes to the new address (the user
    // reads the B mailbox now), once; a second resend sends nothing.
    const b = (await batchByName(l2.store, 'nosmtp'))!;
    await assert.rejects(
      resendNotices(l2.setup, l2.store, b, { mailbox: 'nobody', logger: silentLogger }),
      /nobody is not a mailbox of batch nosmtp/,
    );
    const first = await resendNotices(l2.setup, l2.store, b, { mailbox: m.sourceLogin, logger: silentLogger });
    assert.deepEqual(
      first.map((o) => [o.kind, o.status]),
      [['before', 'sent']],
    );
    const late = (await noticeOf(l2.store, m.id, 'before'))!;
    assert.equal(late.status, 'sent');
    assert.equal(late.recipient, m.plan.targetPrimary);
    const got = await inbox(l2, 'b', m.plan.targetLogin, late.messageId);
    assert.equal(got.length, 1);
    assert.deepEqual(await resendNotices(l2.setup, l2.store, b, { logger: silentLogger }), []);
    assert.equal((await inbox(l2, 'b', m.plan.targetLogin, late.messageId)).length, 1, 'not sent twice');
    assert.deepEqual(
      (await noticeLines(l2.store, b)).map((n) => [n.mailbox, n.kind, n.status]),
      [
        [m.sourceLogin, 'after', 'sent'],
        [m.sourceLogin, 'before', 'sent'],
      ],
    );
  });

  it('batch notices --resend (real process): a before-notice that failed on an unreachable SMTP goes out once SMTP is back, to the A INBOX before cutover; a second resend sends nothing', async () => {
    const l3 = await migLab(enableNotices(1));
    labs.push(l3);
    const u = await sourceUser(l3, 'ntr', 1);
    await createBatch(l3.setup, l3.store, {
      name: 'resend',
      from: { file: namesFile(l3, [u.sam]) },
      targetStore: 'store-b',
      options: { cutover: 'manual' },
    });
    assert.equal((await runBatch(l3.setup, l3.store, 'resend')).status, 'synced');
    const m = (await mailboxesOf(l3.store, (await batchByName(l3.store, 'resend'))!.id))[0]!;
    assert.equal(m.state, 'copied');
    assert.equal((await noticeOf(l3.store, m.id, 'before'))!.status, 'failed');

    // The table and --json show the failed notice with its warning.
    const table = await cli(l3, ['batch', 'notices', 'resend']);
    assert.equal(table.code, 0, table.err);
    // In a pipe (no terminal, no $COLUMNS) a table row is never wrapped: one line per row.
    const rows = table.out
      .split('\n')
      .filter((x) => x.startsWith('│'))
      .map((line) =>
        line
          .split('│')
          .slice(1, -1)
          .map((c) => c.trim()),
      );
    assert.deepEqual(rows[0], ['mailbox', 'notice', 'status', 'to', 'attempts', 'sent', 'warning']);
    assert.deepEqual(rows[1]!.slice(0, 5), [u.upn, 'before', 'failed', u.mail, '1']);
    assert.match(rows[1]!.at(-1)!, /ECONNREFUSED/);
    const listed = JSON.parse((await cli(l3, ['--json', 'batch', 'notices', 'resend'])).out) as {
      mailbox: string;
      kind: string;
      status: string;
      recipient: string;
      attempts: number;
      sentAt: string | null;
      warning: string;
    }[];
    assert.deepEqual(
      listed.map((n) => [n.mailbox, n.kind, n.status, n.recipient, n.attempts, n.sentAt]),
      [[u.upn, 'before', 'failed', u.mail, 1, null]],
    );
    assert.match(listed[0]!.warning, /127\.0\.0\.1:1 failed.*ECONNREFUSED/s);

    // SMTP still unreachable: the resend fails again, says so (exit 1), and keeps the row failed.
    const still = await cli(l3, ['batch', 'notices', 'resend', '--resend']);
    assert.equal(still.code, 1);
    assert.match(still.out, /before: failed \(before-notice to .*ECONNREFUSED/);
    assert.equal((await noticeOf(l3.store, m.id, 'before'))!.attempts, 2);

    // Submission is reachable again (Postfix B, 127.0.0.1:5872).
    writeFileSync(l3.project.path, readFileSync(l3.project.path, 'utf8').replace('port: 1, tls: none', 'port: 5872, tls: none'));

    // While the batch is being run elsewhere (its lease held), a resend is refused and sends nothing.
    const lease = 'migration-batch:resend';
    const holder = newLeaseHolder();
    assert.ok(await l3.store.takeLease(lease, holder, 60_000));
    const busy = await cli(l3, ['batch', 'notices', 'resend', '--resend']);
    await l3.store.releaseLease(lease, holder);
    assert.equal(busy.code, 1);
    assert.match(busy.err, /batch resend is being run by/);
    assert.equal((await noticeOf(l3.store, m.id, 'before'))!.status, 'failed');
    assert.equal((await noticeOf(l3.store, m.id, 'before'))!.attempts, 2);

    const first = await cli(l3, ['batch', 'notices', 'resend', '--resend', '--mailbox', u.upn, '--kind', 'before']);
    assert.equal(first.code, 0, first.err);
    assert.equal(first.out, `${u.upn} before: sent\n`);
    // Not cut over yet: the user still reads the A mailbox, and the old address routes there.
    const row = (await noticeOf(l3.store, m.id, 'before'))!;
    assert.deepEqual([row.status, row.recipient, row.attempts], ['sent', u.mail, 3]);
    assert.ok(row.sentAt);
    const got = await inbox(l3, 'a', u.upn, row.messageId);
    assert.equal(got.length, 1, 'the before-notice is in the A INBOX');
    assert.equal(got[0]!.subject, `Your mailbox moves to ${m.plan.targetPrimary} (as soon as possible)`);

    const second = await cli(l3, ['batch', 'notices', 'resend', '--resend']);
    assert.equal(second.code, 0, second.err);
    assert.equal(second.out, 'nothing to resend\n');
    assert.equal((await noticeOf(l3.store, m.id, 'before'))!.attempts, 3);
    await new Promise((r) => setTimeout(r, 2000)); // anything a second send had queued would be delivered by now
    assert.equal((await inbox(l3, 'a', u.upn, row.messageId)).length, 1, 'not sent twice');
  });
});
