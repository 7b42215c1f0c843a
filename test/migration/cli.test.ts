// The batch commands as an administrator runs them (real processes): create (and a
// refusal with one line per problem and exit code 1), start with --json lines, show,
// list, report, plan, and a rollback that is refused with the reason; show sets the
// duration predicted at the start against the actual one.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { cli, type MigLab, migLab, namesFile, removeAll, sourceUser } from './fixtures.ts';

const cf = (l: MigLab, args: string[]) => cli(l, args);

let l: MigLab;
after(async () => {
  if (l) await removeAll(l);
});

describe('batch CLI (lab, real processes)', () => {
  it('create, refuse, start --json, show, list, report, plan, rollback refused', async () => {
    l = await migLab();
    const u = await sourceUser(l, 'cli', 3);
    const bad = await cf(l, ['batch', 'create', 'bad', '--from', namesFile(l, [u.sam, 'ghost-user', u.sam]), '--target-store', 'store-b']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /batch bad refused, nothing was created:\n {2}✗ line 2: "ghost-user": unknown.*\n {2}✗ line 3: .*duplicated/);
    const typo = await cf(l, ['batch', 'create', 'x', '--from', namesFile(l, [u.sam]), '--target-store', 'store-z']);
    assert.equal(typo.code, 1);
    assert.match(typo.err, /unknown target store "store-z"\n {2}→ one of: store-b/);
    const win = await cf(l, [
      'batch',
      'create',
      'x',
      '--from',
      namesFile(l, [u.sam]),
      '--target-store',
      'store-b',
      '--window-stop',
      'tonight',
    ]);
    assert.match(win.err, /--window-stop "tonight" is neither HH:MM nor an ISO time/);
    const settle = await cf(l, [
      'batch',
      'create',
      'x',
      '--from',
      namesFile(l, [u.sam]),
      '--target-store',
      'store-b',
      '--cutover-settle',
      '-1',
    ]);
    assert.equal(settle.code, 1);
    assert.match(settle.err, /the cutover settle must be 0 to 600 seconds, not "-1"/);

    const created = await cf(l, [
      'batch',
      'create',
      'c1',
      '--from',
      namesFile(l, [u.upn]),
      '--target-store',
      'store-b',
      '--concurrency',
      '2',
      '--workgroup',
      'finance',
    ]);
    assert.equal(created.code, 0, created.err);
    assert.match(created.out, /batch c1 created with 1 mailboxes/);
    const started = await cf(l, ['--json', 'batch', 'start', 'c1']);
    assert.equal(started.code, 0, started.err);
    const lines = started.out
      .trim()
      .split('\n')
      .map((x) => JSON.parse(x));
    assert.ok(lines.some((e) => e.type === 'progress' && e.copiedMessages > 0));
    assert.deepEqual(
      lines
        .filter((e) => e.type === 'state' && e.step && e.state !== 'failed')
        .map((e) => e.state)
        .filter((s, i, a) => a.indexOf(s) === i),
      ['queued', 'prestaged', 'copied', 'cutover', 'cleaned', 'verified', 'done'],
    );
    const result = lines.at(-1);
    assert.equal(result.type, 'result');
    assert.equal(result.status, 'completed');
    assert.ok(existsSync(result.report));

    const show = await cf(l, ['batch', 'show', 'c1']);
    assert.match(show.out, /done/);
    assert.match(show.out, /100\.0 %/);
    assert.match(show.out, /predicted and actual duration:\n {2}Predicted when the batch started \(.*\): \d+ s for 1 mailboxes/);
    assert.match(show.out, /\n {2}It took \d+ s of work: .*× the prediction\)\./);
    const shown = JSON.parse((await cf(l, ['--json', 'batch', 'show', 'c1'])).out);
    assert.equal(shown.prediction.status, 'made');
    assert.ok(shown.prediction.predicted.predictedSeconds > 0 && shown.prediction.actualSeconds > 0);
    const list = JSON.parse((await cf(l, ['--json', 'batch', 'list'])).out);
    assert.equal(list[0].name, 'c1');
    assert.equal(list[0].done, 1);
    assert.equal(list[0].options.workgroup, 'finance');
    assert.match((await cf(l, ['batch', 'report', 'c1'])).out, /report: .*reports\/c1\/batch\.html/);
    // Notices are not configured in this project: none listed, and a resend says what to add.
    assert.deepEqual(JSON.parse((await cf(l, ['--json', 'batch', 'notices', 'c1'])).out), []);
    const resend = await cf(l, ['batch', 'notices', 'c1', '--resend']);
    assert.equal(resend.code, 1);
    assert.match(resend.err, /user notices are not configured[\s\S]*migration\.notices/);
    assert.match(
      (await cf(l, ['batch', 'notices', 'c1', '--kind', 'during', '--resend'])).err,
      /--kind must be before or after, not "during"/,
    );
    const plan = await cf(l, ['plan', 'c1', '--window-hours', '1']);
    assert.equal(plan.code, 0, plan.err);
    assert.match(plan.out, /measured on \d+ earlier copy passes/);
    assert.match(plan.out, /window 1h00m00s: fits/);
    // A rollback of a login no batch holds is refused with the reason (rollback.test.ts rolls a mailbox at done back).
    const rb = await cf(l, ['batch', 'rollback', `nobody-${u.sam}@forest-a.test`]);
    assert.equal(rb.code, 1);
    assert.match(rb.err, /has no cutover to roll back \(in no batch\)\n {2}→ a rollback starts from a cutover/);
    const again = await cf(l, ['batch', 'create', 'c2', '--from', namesFile(l, [u.sam]), '--target-store', 'store-b']);
    assert.match(again.err, /already in batch c1 \(done\)/);
  });
});
