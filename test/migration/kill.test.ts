// Crash safety: a real `crossforest batch start` process is killed with SIGKILL at each
// pipeline step (after the step's effect, before its bookkeeping: the worst moment, via
// CROSSFOREST_FAILPOINT), then `crossforest batch resume` must end correctly: every
// mailbox done, nothing copied twice, directory objects as they must be.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pLimit from 'p-limit';
import { batchByName, mailboxesOf } from '../../src/migration/batchStore.ts';
import { openProjectState } from '../../src/state/store.ts';
import { cli, entry, type MigLab, messageCount, migLab, namesFile, removeAll, sourceUser } from './fixtures.ts';

const POINTS = [
  'prestage:user',
  'prestage:enabled',
  'copy:copy',
  'copy:delta',
  'cutover:target',
  'cutover:routed',
  'cutover:compared',
  'cutover:source',
  'cleanup:removed',
  'verify:checked',
  'report:written',
];

const labs: MigLab[] = [];
after(async () => {
  for (const l of labs) await removeAll(l);
});

describe('kill -9 at each pipeline step, then resume (lab, real processes)', () => {
  it('ends correctly after a kill at every step', async () => {
    const limit = pLimit(3);
    await Promise.all(
      POINTS.map((point) =>
        limit(async () => {
          const l = await migLab();
          labs.push(l);
          const u = await sourceUser(l, `k${POINTS.indexOf(point)}`, 3);
          const file = namesFile(l, [u.sam]);
          // complete-after in the past: a delta pass, then cutover at once (so copy:delta is reached).
          const mode = point === 'copy:delta' ? ['--cutover', 'manual'] : [];
          const created = await cli(l, ['batch', 'create', 'k', '--from', file, '--target-store', 'store-b', ...mode]);
          assert.equal(created.code, 0, created.err);
          const killed = await cli(l, ['batch', 'start', 'k'], { CROSSFOREST_FAILPOINT: point });
          assert.equal(killed.signal, 'SIGKILL', `${point}: expected a kill; ${killed.err}`);
          const resumed = await cli(l, point === 'copy:delta' ? ['batch', 'complete', 'k'] : ['batch', 'resume', 'k']);
          assert.equal(resumed.code, 0, `${point}: ${resumed.err}${resumed.out}`);
          const st = await openProjectState(l.project);
          try {
            const m = (await mailboxesOf(st, (await batchByName(st, 'k'))!.id))[0]!;
            assert.equal(m.state, 'done', `${point}: ${m.error}`);
            assert.equal(m.fidelity, 1, point);
            // Nothing twice, nothing lost: 3 INBOX + 2 Projects on the target.
            assert.equal(await messageCount(l, 'b', m.plan.targetLogin), 5, point);
            const a = await entry(l, 'a', u.dn);
            const b = await entry(l, 'b', m.plan.targetDn);
            assert.equal(a?.homeMDB, undefined, point);
            assert.deepEqual(a?.targetAddress, [`SMTP:${m.plan.targetPrimary}`], point);
            assert.equal(b?.targetAddress, undefined, point);
            assert.equal(b?.homeMDB?.length, 1, point);
            assert.equal(a?.proxyAddresses?.filter((x) => x.startsWith('X500:/o=ForestB')).length, 1, `${point}: one X500 of B on A`);
          } finally {
            await st.close();
          }
        }),
      ),
    );
  });
});
