// Prediction against reality on the lab: a small batch records its capacity plan when it
// first starts (nothing measured yet in a fresh state store: the assumed rate), and its
// batch.json and HTML report carry the predicted and the actual duration; a second batch
// predicts from the first one's measured passes, never from its own, and keeps the
// prediction it made at its start; a plan that cannot be made is recorded as such and
// the batch goes on.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { batchByName, measuredPasses, stepsOf } from '../../src/migration/batchStore.ts';
import { createBatch } from '../../src/migration/createBatch.ts';
import { capacityPlan, workSeconds } from '../../src/migration/plan.ts';
import { type PredictionReport, predictAtFirstStart } from '../../src/migration/prediction.ts';
import { predictionOf } from '../../src/migration/predictionStore.ts';
import { runBatch } from '../../src/migration/runner.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { type MigLab, migLab, namesFile, removeAll, sourceUser } from './fixtures.ts';

const labs: MigLab[] = [];
after(async () => {
  for (const l of labs) await removeAll(l);
});

const batchJson = (l: MigLab, name: string): { prediction: PredictionReport; startedAt: string; finishedAt: string } =>
  JSON.parse(readFileSync(join(l.project.dir, 'reports', name, 'batch.json'), 'utf8'));

describe('prediction against reality (lab)', () => {
  it('records the plan at the first start; batch.json and the HTML report show predicted and actual duration', async () => {
    const l = await migLab();
    labs.push(l);
    const users = [await sourceUser(l, 'pr1', 4), await sourceUser(l, 'pr2', 2)];
    const now = Date.now();
    await createBatch(l.setup, l.store, {
      name: 'p1',
      from: {
        file: namesFile(
          l,
          users.map((u) => u.sam),
        ),
      },
      targetStore: 'store-b',
      options: {
        windowStart: new Date(now - 1000).toISOString(),
        windowStop: new Date(now + 3_600_000).toISOString(),
        cutoverSettleSeconds: 1,
      },
    });
    const r = await runBatch(l.setup, l.store, 'p1');
    assert.equal(r.status, 'completed');

    const j = batchJson(l, 'p1');
    const p = j.prediction;
    assert.equal(p.status, 'made');
    // A fresh state store: nothing measured, so the plan says it assumed a rate.
    assert.match(p.predicted!.rate.source, /^assumed 5 MB\/s per mailbox/);
    assert.equal(p.predicted!.totals.mailboxes, 2);
    assert.equal(p.predicted!.totals.messages, 4 + 2 + (2 + 2), 'sizes read from the source store before anything ran');
    assert.ok(p.predicted!.predictedSeconds > 0);
    assert.ok(Math.abs(p.predicted!.windowSeconds! - 3600) < 5, `window ${p.predicted!.windowSeconds}`);
    assert.equal(p.predicted!.fits, true);
    // The prediction was made before any step of the batch ran.
    const steps = await stepsOf(l.store, (await batchByName(l.store, 'p1'))!.id);
    assert.ok(p.madeAt! <= steps.map((s) => s.startedAt).sort()[0]!);
    // Reality: the batch's work time, and the ratio between the two.
    assert.equal(p.finished, true);
    assert.equal(p.actualSeconds, workSeconds(steps));
    assert.ok(p.actualSeconds! > 1, 'at least the cutover settle');
    assert.equal(p.ratio, Math.round((p.actualSeconds! / p.predicted!.predictedSeconds) * 100) / 100);
    assert.equal(p.fittedWindow, true);
    assert.match(
      p.summary.join('\n'),
      /It took .* of work: .* \(\d+\.\d\d × the prediction\)\.\nIt finished within its 1 h 00 min window\./,
    );

    const html = readFileSync(r.reportHtml, 'utf8');
    const section = html.slice(html.indexOf('<h2>Predicted and actual duration</h2>'), html.indexOf('<h2>Throughput over time</h2>'));
    assert.match(section, /<td>predicted duration<\/td><td>\d+ (s|min)/);
    assert.match(
      section,
      /<td>basis<\/td><td>5\.00 MB\/s per mailbox — assumed 5 MB\/s per mailbox[^<]*; 4 at a time; window 1 h 00 min<\/td>/,
    );
    assert.match(section, /<td>actual duration \(work\)<\/td><td>\d+ s<\/td>/);
    assert.match(section, new RegExp(`<td>actual ÷ predicted</td><td>${p.ratio!.toFixed(2)}</td>`));
    assert.match(section, /<td>fitted the window<\/td><td>yes<\/td>/);
    assert.match(section, /<p>Predicted when the batch started \(/);

    // A second batch predicts from the first one's passes; its own never count, and its start's prediction stays.
    const third = await sourceUser(l, 'pr3', 3);
    await createBatch(l.setup, l.store, {
      name: 'p2',
      from: { file: namesFile(l, [third.sam]) },
      targetStore: 'store-b',
      options: { cutoverSettleSeconds: 1 },
    });
    const before = (await measuredPasses(l.store)).length;
    assert.ok(before > 0);
    assert.equal((await runBatch(l.setup, l.store, 'p2')).status, 'completed');
    const p2 = await predictionOf(l.store, (await batchByName(l.store, 'p2'))!.id);
    assert.ok(p2?.status === 'made');
    assert.equal(p2.plan.rate.source, `measured on ${before} earlier copy passes`);
    assert.equal(p2.plan.windowSeconds, null);
    assert.ok((await measuredPasses(l.store)).length > before, 'p2 measured passes of its own');
    assert.equal(
      (await capacityPlan(l.setup, l.store, { subject: 'p2', excludeOwnPasses: true })).rate.source,
      `measured on ${before} earlier copy passes`,
    );
    await runBatch(l.setup, l.store, 'p2');
    assert.deepEqual(
      await predictionOf(l.store, (await batchByName(l.store, 'p2'))!.id),
      p2,
      'a later run does not replace the first prediction',
    );
    assert.match(batchJson(l, 'p2').prediction.summary.join('\n'), /No window was set\./);
  });

  it('a plan that cannot be made is recorded as such, and the batch still runs', async () => {
    const l = await migLab();
    labs.push(l);
    const u = await sourceUser(l, 'prf', 2);
    await createBatch(l.setup, l.store, {
      name: 'pf',
      from: { file: namesFile(l, [u.sam]) },
      targetStore: 'store-b',
      options: { cutoverSettleSeconds: 0 },
    });
    const batch = (await batchByName(l.store, 'pf'))!;
    // The plan needs the batch's target store from the project; this setup has lost it.
    const broken = { ...l.setup, config: { ...l.setup.config, targetStores: {} } };
    const p = await predictAtFirstStart(broken, l.store, batch, silentLogger);
    assert.equal(p?.status, 'failed');
    const r = await runBatch(l.setup, l.store, 'pf');
    assert.equal(r.status, 'completed');
    const j = batchJson(l, 'pf').prediction;
    assert.equal(j.status, 'failed');
    assert.match(j.summary[0]!, /^No prediction: the capacity plan could not be made when the batch started \(.*store-b/);
    assert.match(j.summary[1]!, /^It took \d+ s\.$/);
    assert.match(
      readFileSync(r.reportHtml, 'utf8'),
      /<td>actual duration \(work\)<\/td><td>\d+ s<\/td>[\s\S]*No prediction: the capacity plan could not be made/,
    );
  });
});
