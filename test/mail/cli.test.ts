// `crossforest mailbox copy|verify` end to end through the real CLI on the lab.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createMailboxUser, type MailLab, mailLab, message, populate, removeCreatedUsers } from './fixtures.ts';

const run = promisify(execFile);
let lab: MailLab;
before(async () => {
  lab = await mailLab();
});
after(async () => {
  await removeCreatedUsers(lab);
});

const cli = (...args: string[]) =>
  run(process.execPath, ['bin/crossforest.js', '-c', lab.project.path, ...args], { maxBuffer: 16 << 20 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('crossforest mailbox (CLI, lab)', () => {
  it('copies, re-runs as a delta, verifies with a fidelity score, and writes the report', async () => {
    const source = await createMailboxUser(lab, 'a', 'cli');
    const target = await createMailboxUser(lab, 'b', 'cli');
    await populate(
      lab,
      'a',
      source,
      'INBOX',
      Array.from({ length: 7 }, () => ({ raw: message(), flags: ['\\Seen'] })),
    );
    await populate(lab, 'a', source, 'INBOX.Sent Items', [{ raw: message({ subject: 'sent' }) }]);
    const first = await cli('--json', 'mailbox', 'copy', source, target, '--from', 'a', '--to', 'b');
    assert.equal(first.code, 0, first.stderr);
    const report = JSON.parse(first.stdout);
    assert.equal(report.status, 'completed');
    assert.equal(report.totals.copied, 8);
    assert.equal(report.folderMapping.find((m: { source: string }) => m.source === 'INBOX.Sent Items').target, 'Sent');
    const again = await cli('mailbox', 'copy', source, target);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^0 messages \(0 B\) copied/m);
    const verify = await cli('--json', 'mailbox', 'verify', source, target);
    assert.equal(verify.code, 0, verify.stderr);
    const v = JSON.parse(verify.stdout);
    assert.equal(v.fidelity, 1);
    assert.equal(v.intact, 8);
    assert.deepEqual(v.differences, []);
  });

  it('names the mailbox and the fix when a mailbox does not exist, and prints no secret', async () => {
    const r = await cli('mailbox', 'copy', 'nobody-here@forest-a.test', 'nobody@forest-b.test');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot log in to (nobody-here@forest-a|nobody@forest-b)\.test/);
    assert.match(r.stderr, /→ /);
    for (const name of ['mail-a-master.pw', 'mail-b-master.pw']) {
      const { readFileSync } = await import('node:fs');
      const secret = readFileSync(`${lab.info.labDir}/secrets/${name}`, 'utf8').trim();
      assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret));
    }
    const bad = await cli('mailbox', 'copy', 'x@forest-a.test', 'y@forest-b.test', '--from', 'zz');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no organization "zz".*\n.*--from with one of: a, b/);
  });
});
