// Faults: bad and large items reported (and the limit enforced), a server dropping every
// connection mid-copy, kill -9 mid-copy then a re-run, two copies at once on one target.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chownSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyMailbox } from '../../src/mail/copyMailbox.ts';
import type { CopyReport } from '../../src/mail/types.ts';
import { openState, type StateStore } from '../../src/state/store.ts';
import { testStateLocation } from '../helpers/state.ts';
import {
  contentKey,
  copyInput,
  createMailboxUser,
  freshStore,
  kick,
  type MailLab,
  mailLab,
  message,
  populate,
  readFolder,
  removeCreatedUsers,
  session,
} from './fixtures.ts';

let lab: MailLab;
const stores: StateStore[] = [];
const store = async (given?: StateStore): Promise<StateStore> => {
  const s = given ?? (await freshStore());
  stores.push(s);
  return s;
};
before(async () => {
  lab = await mailLab();
});
after(async () => {
  for (const s of stores) await s.close();
  await removeCreatedUsers(lab);
});

async function assertSame(source: string, target: string, folders: [string, string][]): Promise<void> {
  const [a, b] = await Promise.all([session(lab, 'a', source), session(lab, 'b', target)]);
  try {
    for (const [s, t] of folders) assert.deepEqual(contentKey(await readFolder(b, t)), contentKey(await readFolder(a, s)), `${s} → ${t}`);
  } finally {
    await Promise.all([a.logout(), b.logout()]);
  }
}

/** A mailbox big enough that a throttled copy is still running when we interfere. */
async function bigSource(tag: string, n: number): Promise<string> {
  const source = await createMailboxUser(lab, 'a', tag);
  await populate(
    lab,
    'a',
    source,
    'INBOX',
    Array.from({ length: n }, (_, i) => ({ raw: message({ size: 3000 }), flags: i % 3 ? ['\\Seen'] : [] })),
  );
  await populate(
    lab,
    'a',
    source,
    'INBOX.Archive 2019',
    Array.from({ length: n / 4 }, () => ({ raw: message({ size: 1500 }), flags: ['\\Seen', '$Forwarded'] })),
  );
  return source;
}
const BIG_FOLDERS: [string, string][] = [
  ['INBOX', 'INBOX'],
  ['INBOX.Archive 2019', 'Archive 2019'],
];

describe('mailbox copy faults (lab)', () => {
  it('reports a malformed (zero-byte) and an oversize message without failing, and fails once badItemLimit is passed', async () => {
    const source = await createMailboxUser(lab, 'a', 'bad');
    await populate(lab, 'a', source, 'INBOX', [
      ...Array.from({ length: 5 }, () => ({ raw: message() })),
      { raw: message({ size: 40_000, subject: 'too big' }) },
    ]);
    // A zero-byte file in the source Maildir: Dovecot serves it, and refuses to store it.
    const cur = join(lab.info.labDir, 'mail-a', source.toLowerCase(), 'Maildir', 'cur');
    const file = join(cur, `${Math.floor(Date.now() / 1000)}.M1P1.cftest,S=0:2,S`);
    writeFileSync(file, '');
    chownSync(file, 8, 8); // the lab's mail_uid
    const target = await createMailboxUser(lab, 'b', 'bad');
    const opts = { maxMessageBytes: 20_000, largeItemLimit: 1, badItemLimit: 1 };
    const st = await store();
    const report = await copyMailbox(copyInput(lab, st, source, target, opts));
    assert.equal(report.status, 'completed');
    assert.equal(report.totals.copied, 5);
    const large = report.skipped.find((s) => s.kind === 'large');
    const bad = report.skipped.find((s) => s.kind === 'bad');
    assert.ok(large && bad, JSON.stringify(report.skipped));
    assert.equal(large.folder, 'INBOX');
    assert.equal(large.subject, 'too big');
    assert.match(large.messageId ?? '', /^<t\d+\./);
    assert.ok(large.size > 20_000);
    assert.match(bad.reason, /zero byte/i, 'the server’s own words');
    assert.equal(bad.size, 0);
    const b = await session(lab, 'b', target);
    assert.equal((await readFolder(b, 'INBOX')).length, 5);
    await b.logout();
    // A re-run tries the skipped items again and lists them again; nothing else moves.
    const again = await copyMailbox(copyInput(lab, st, source, target, opts));
    assert.equal(again.totals.copied, 0);
    assert.deepEqual(again.skipped.map((x) => x.kind).sort(), ['bad', 'large']);
    // Allowing bigger messages lets the large one through on the next run.
    const bigger = await copyMailbox(copyInput(lab, st, source, target, { ...opts, maxMessageBytes: 100_000 }));
    assert.equal(bigger.totals.copied, 1);
    assert.deepEqual(
      bigger.skipped.map((x) => x.kind),
      ['bad'],
    );

    const target2 = await createMailboxUser(lab, 'b', 'bad');
    await assert.rejects(
      copyMailbox(copyInput(lab, await store(), source, target2, { ...opts, badItemLimit: 0 })),
      (err: Error & { code?: string; report?: CopyReport }) => {
        assert.equal(err.code, 'CF_ERR_MAIL_ITEM_LIMIT');
        assert.match(err.message, /badItemLimit/);
        assert.equal(err.report?.status, 'failed');
        assert.ok(err.report?.skipped.some((s) => s.kind === 'bad' && s.folder === 'INBOX'));
        return true;
      },
    );
  });

  it('survives the server dropping every connection mid-copy (retry with back-off, resume)', async () => {
    const source = await bigSource('kick', 600);
    const target = await createMailboxUser(lab, 'b', 'kick');
    let kicked = false;
    const kicks: Promise<void>[] = [];
    const report = await copyMailbox({
      ...copyInput(lab, await store(), source, target, { maxMessagesPerSecond: 400, concurrency: 2 }),
      onProgress: (p) => {
        if (!kicked && p.copiedMessages >= 150) {
          kicked = true;
          kicks.push(kick(lab, 'b', target), kick(lab, 'a', source));
        }
      },
    });
    await Promise.all(kicks);
    assert.ok(kicked);
    assert.equal(report.status, 'completed');
    assert.ok(report.retries >= 1, `retried (${report.retries})`);
    await assertSame(source, target, BIG_FOLDERS);
  });

  it('kill -9 mid-copy, then a re-run: nothing missing, nothing twice', async () => {
    const source = await bigSource('kill', 600);
    const target = await createMailboxUser(lab, 'b', 'kill');
    const state = testStateLocation(mkdtempSync(join(tmpdir(), 'cf-kill-')), 'state.sqlite');
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/mail/copyChild.ts', source, target, JSON.stringify(state), '300'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const n = Math.max(0, ...[...buf.matchAll(/copied (\d+)/g)].map((m) => Number(m[1])));
        if (n >= 200) {
          child.kill('SIGKILL');
          resolve();
        }
        if (buf.includes('done')) reject(new Error('the copy finished before it could be killed'));
      });
      child.on('exit', () => resolve());
      child.on('error', reject);
    });
    await new Promise((r) => child.once('exit', r).once('close', r));
    const st = await store(await openState(state, '/'));
    const report = await copyMailbox(copyInput(lab, st, source, target));
    assert.equal(report.status, 'completed');
    await assertSame(source, target, BIG_FOLDERS).catch((err: Error) => {
      throw new Error(`${err.message.slice(0, 300)}\nre-run folders: ${JSON.stringify(report.folders)}`);
    });
  });

  it('two copies started at once on one target: one is refused, no duplicate', async () => {
    const source = await bigSource('twice', 200);
    const target = await createMailboxUser(lab, 'b', 'twice');
    const st = await store();
    const results = await Promise.allSettled([
      copyMailbox(copyInput(lab, st, source, target)),
      copyMailbox(copyInput(lab, st, source, target)),
    ]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(ok.length, 1);
    assert.equal(refused.length, 1);
    assert.equal((refused[0]?.reason as { code?: string } | undefined)?.code, 'CF_ERR_MAIL_LOCKED');
    await assertSame(source, target, BIG_FOLDERS);
  });
});

describe('mailbox copy memory (lab)', () => {
  it('streams large messages: peak memory does not grow with the message size', async () => {
    const childRss = async (source: string): Promise<number> => {
      const target = await createMailboxUser(lab, 'b', 'mem');
      const state = testStateLocation(mkdtempSync(join(tmpdir(), 'cf-mem-')), 'state.sqlite');
      // A 1 MB young generation keeps V8's garbage slack out of the figure: what is left
      // is what the copy holds.
      const child = spawn(
        process.execPath,
        ['--max-semi-space-size=1', '--import', 'tsx', 'test/mail/copyChild.ts', source, target, JSON.stringify(state), '0'],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await new Promise((r) => child.once('close', r));
      const m = /maxrss (\d+)/.exec(out);
      assert.ok(m && out.includes('done'), out.slice(-300));
      return Number(m[1]) / 1024;
    };
    // Two message sizes are compared: streamed, 10 MB and 45 MB cost the same; read whole,
    // the bigger one would cost 35 MB more (or twice that).
    const mailboxWith = async (size: number): Promise<string> => {
      const u = await createMailboxUser(lab, 'a', 'mem');
      await populate(lab, 'a', u, 'INBOX', [{ raw: message({ size, subject: 'large' }) }]);
      return u;
    };
    const ten = await childRss(await mailboxWith(10_000_000));
    const fortyFive = await childRss(await mailboxWith(45_000_000));
    assert.ok(
      fortyFive - ten < 15,
      `peak RSS ${fortyFive.toFixed(0)} MiB copying a 45 MB message vs ${ten.toFixed(0)} MiB for a 10 MB one`,
    );
  });
});
