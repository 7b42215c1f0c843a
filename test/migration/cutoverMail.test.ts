// No mail stranded around cutover (lab: both Postfix routing by their directories, both
// Dovecots). Before cutover, mail sent in forest B to a user's old A address (and to the
// new B address) reaches the A mailbox the user still reads, not the pre-staged B one.
// During cutover, once routing flipped, mail to the old address goes to the B mailbox,
// and what reached A before the flip is carried over by the final delta: nothing is left
// only in the disconnected A mailbox. Also after a kill -9 between the flip and the final
// delta, and a rollback of a cutover stopped half-way restores A's login and routing.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { STORES } from '../../lab/mailstore/stores.ts';
import { POSTFIX_LAB } from '../../lab/postfix/postfix.ts';
import { requestComplete } from '../../src/migration/batchOps.ts';
import { batchByName, mailboxesOf } from '../../src/migration/batchStore.ts';
import { createBatch } from '../../src/migration/createBatch.ts';
import { runBatch } from '../../src/migration/runner.ts';
import type { RunEvent } from '../../src/migration/types.ts';
import { openProjectState } from '../../src/state/store.ts';
import {
  canLogin,
  cli,
  entry,
  inboxCopies,
  type MigLab,
  migLab,
  namesFile,
  removeAll,
  sendMessage,
  sourceUser,
  waitForMessage,
} from './fixtures.ts';

const A_MX = POSTFIX_LAB.a.smtpPort;
const B_MX = POSTFIX_LAB.b.smtpPort;

const labs: MigLab[] = [];
after(async () => {
  for (const l of labs) await removeAll(l);
});

/** The batch's only mailbox as the state store has it now (another process may have written it). */
async function mailboxIn(l: MigLab, batch: string) {
  const st = await openProjectState(l.project);
  try {
    return (await mailboxesOf(st, (await batchByName(st, batch))!.id))[0]!;
  } finally {
    await st.close();
  }
}

describe('mail routing around cutover (lab)', () => {
  it('before cutover mail sent in B to the old address reaches the A mailbox; mail sent during cutover ends in B; none is left only in A', async () => {
    const l = await migLab();
    labs.push(l);
    const u = await sourceUser(l, 'rte', 2);
    await createBatch(l.setup, l.store, {
      name: 'route',
      from: { file: namesFile(l, [u.sam]) },
      targetStore: 'store-b',
      options: { cutover: 'manual', cutoverSettleSeconds: 3 },
    });
    assert.equal((await runBatch(l.setup, l.store, 'route')).status, 'synced');
    const m = (await mailboxesOf(l.store, (await batchByName(l.store, 'route'))!.id))[0]!;
    const b = m.plan.targetLogin;

    // Pre-staged: B's user has a mailbox and targetAddress → A; the targetAddress wins.
    const toOld = await sendMessage(B_MX, u.mail, 'before cutover, via B, to the old address');
    const toNew = await sendMessage(B_MX, m.plan.targetPrimary, 'before cutover, via B, to the new address');
    assert.equal(await waitForMessage(l, 'a', u.upn, toOld), 1, 'old address → the A mailbox the user reads');
    assert.equal(await waitForMessage(l, 'a', u.upn, toNew), 1, 'new address → still the A mailbox until cutover');
    assert.equal(await inboxCopies(l, 'b', b, toOld), 0, 'not in the pre-staged B mailbox');
    assert.equal(await inboxCopies(l, 'b', b, toNew), 0);

    // Cutover; while it settles (routing flipped, final delta not yet run) a partner writes to the old address through A's MX.
    await requestComplete(l.store, 'route');
    let during:
      | Promise<{ id: string; stage: { a: string[] | undefined; aHome: string[] | undefined; b: string[] | undefined } }>
      | undefined;
    const emit = (e: RunEvent): void => {
      if (e.type !== 'wait' || !e.what.startsWith('cutover:') || during) return;
      during = (async () => {
        const [a, bb] = [await entry(l, 'a', u.dn), await entry(l, 'b', m.plan.targetDn)];
        return {
          id: await sendMessage(A_MX, u.mail, 'during cutover, via A, to the old address'),
          stage: { a: a?.targetAddress, aHome: a?.homeMDB, b: bb?.targetAddress },
        };
      })();
    };
    const r = await runBatch(l.setup, l.store, 'route', { emit });
    assert.equal(r.status, 'completed', (await mailboxesOf(l.store, (await batchByName(l.store, 'route'))!.id))[0]!.error ?? '');
    assert.ok(during, 'the cutover announced its settle');
    const { id: mid, stage } = await during;
    // Seen from the directory during the settle: (a) and (b) done, (f) not yet.
    assert.deepEqual(stage.a, [`SMTP:${m.plan.targetPrimary}`]);
    assert.equal(stage.aHome?.length, 1, 'A still served the mailbox for the final delta');
    assert.equal(stage.b, undefined);

    assert.equal(await waitForMessage(l, 'b', b, mid), 1, 'mail sent during cutover is in the B mailbox, once');
    for (const id of [toOld, toNew])
      assert.equal(await inboxCopies(l, 'b', b, id), 1, 'what A received before cutover was carried over, once');
    assert.equal(await canLogin(l, 'a', u.upn), false);
  });

  it('killed between the routing flip and the final delta: new mail goes to B, mail already in A is carried over on resume', async () => {
    const l = await migLab();
    labs.push(l);
    const u = await sourceUser(l, 'rtk', 1);
    assert.equal(
      (await cli(l, ['batch', 'create', 'k', '--from', namesFile(l, [u.sam]), '--target-store', 'store-b', '--cutover-settle', '1'])).code,
      0,
    );
    const killed = await cli(l, ['batch', 'start', 'k'], { CROSSFOREST_FAILPOINT: 'cutover:routed' });
    assert.equal(killed.signal, 'SIGKILL', killed.err);
    const m = await mailboxIn(l, 'k');
    assert.equal(m.state, 'copied');
    // Routing flipped, A still has its mailbox.
    assert.deepEqual((await entry(l, 'a', u.dn))?.targetAddress, [`SMTP:${m.plan.targetPrimary}`]);
    assert.equal((await entry(l, 'a', u.dn))?.homeMDB?.length, 1);
    assert.equal((await entry(l, 'b', m.plan.targetDn))?.targetAddress, undefined);

    // A partner's mail through A's MX now goes to B; mail the transport had already resolved to A lands in A (LMTP).
    const viaMx = await sendMessage(A_MX, u.mail, 'after the flip, via A');
    const inFlight = await sendMessage(STORES.a.lmtpPort, u.upn, 'in flight to the old mailbox', { lmtp: true });
    assert.equal(await waitForMessage(l, 'b', m.plan.targetLogin, viaMx), 1);
    assert.equal(await inboxCopies(l, 'a', u.upn, inFlight), 1);
    assert.equal(await inboxCopies(l, 'b', m.plan.targetLogin, inFlight), 0);

    const resumed = await cli(l, ['batch', 'resume', 'k']);
    assert.equal(resumed.code, 0, resumed.err + resumed.out);
    assert.equal((await mailboxIn(l, 'k')).state, 'done');
    assert.equal(await inboxCopies(l, 'b', m.plan.targetLogin, inFlight), 1, 'the final delta after the crash carried it over');
    assert.equal(await inboxCopies(l, 'b', m.plan.targetLogin, viaMx), 1);
  });

  it('a cutover killed after the final delta rolls back: A logs in and receives again, then the batch completes', async () => {
    const l = await migLab();
    labs.push(l);
    const u = await sourceUser(l, 'rtr', 1);
    assert.equal(
      (await cli(l, ['batch', 'create', 'r', '--from', namesFile(l, [u.sam]), '--target-store', 'store-b', '--cutover-settle', '0'])).code,
      0,
    );
    assert.equal((await cli(l, ['batch', 'start', 'r'], { CROSSFOREST_FAILPOINT: 'cutover:compared' })).signal, 'SIGKILL');
    const m = await mailboxIn(l, 'r');
    const rb = await cli(l, ['batch', 'rollback', u.upn]);
    assert.equal(rb.code, 0, rb.err);
    const a = await entry(l, 'a', u.dn);
    assert.equal(a?.targetAddress, undefined);
    assert.equal(a?.homeMDB?.length, 1);
    assert.deepEqual((await entry(l, 'b', m.plan.targetDn))?.targetAddress, [`SMTP:${u.mail}`]);
    assert.equal(await canLogin(l, 'a', u.upn), true);
    const back = await sendMessage(B_MX, u.mail, 'after rollback, via B');
    assert.equal(await waitForMessage(l, 'a', u.upn, back), 1, 'routing points at A again');

    const resumed = await cli(l, ['batch', 'resume', 'r']);
    assert.equal(resumed.code, 0, resumed.err + resumed.out);
    assert.equal((await mailboxIn(l, 'r')).state, 'done');
    assert.equal(await inboxCopies(l, 'b', m.plan.targetLogin, back), 1);
  });
});
