// Migration batch bench on the lab: N fresh forest-A mailboxes of M messages go through
// the whole pipeline (pre-stage, copy, cutover with final delta and comparison, clean-up,
// verify, report); the same mailboxes are also copied by the copy engine alone into fresh
// targets, in the same run, so the pipeline's overhead is a ratio, not a guess.
//   node --import tsx bench/migration.ts [mailboxes=8] [messages=300] [concurrency=4]
// Never fails on timing; everything it creates is removed at the end.
import pLimit from 'p-limit';
import { copyMailbox } from '../src/mail/copyMailbox.ts';
import { projectCopyEndpoints } from '../src/mail/endpoint.ts';
import { batchByName, mailboxesOf, stepsOf } from '../src/migration/batchStore.ts';
import { createBatch } from '../src/migration/createBatch.ts';
import { runBatch } from '../src/migration/runner.ts';
import { removeUsers } from '../test/mail/fixtures.ts';
import { migLab, namesFile, removeAll, sourceUser } from '../test/migration/fixtures.ts';
import { ensureCorpus, freshTarget } from './peers/labUsers.ts';

// Arguments: mailboxes, messages each, concurrency, cutover settle seconds (default: the batch default, 5).
const [n = 8, m = 300, conc = 4, settle] = process.argv.slice(2).map(Number);
const lab = await migLab((t) => t.replace('maxConcurrentMailboxes: 4', `maxConcurrentMailboxes: ${conc}`));
const targets: string[] = [];
try {
  const users = [];
  for (let i = 0; i < n; i++) users.push(await sourceUser(lab, `bench${i}`, 0));
  let messages = 0;
  let bytes = 0;
  for (const u of users) {
    const c = await ensureCorpus(lab as never, u.upn, m, 6000);
    messages += c.messages;
    bytes += c.bytes;
  }
  process.stderr.write(`${n} mailboxes, ${messages} messages, ${(bytes / 1e6).toFixed(1)} MB; concurrency ${conc}\n`);

  // Peer: the copy engine alone, same mailboxes, same concurrency, fresh targets. A
  // first untimed copy warms both stores (the first run after start is slower, LAB-NOTES).
  const limit = pLimit(conc);
  const warm = await freshTarget(lab.info, 'mb');
  targets.push(warm.split('@')[0] as string);
  await copyMailbox({
    ...projectCopyEndpoints(lab.project, users[0]!.upn, warm, {}),
    sourceMailbox: users[0]!.upn,
    targetMailbox: warm,
    store: lab.store,
  });
  const t0 = Date.now();
  await Promise.all(
    users.map((u) =>
      limit(async () => {
        const target = await freshTarget(lab.info, 'mb');
        targets.push(target.split('@')[0] as string);
        await copyMailbox({
          ...projectCopyEndpoints(lab.project, u.upn, target, {}),
          sourceMailbox: u.upn,
          targetMailbox: target,
          store: lab.store,
        });
      }),
    ),
  );
  const engineS = (Date.now() - t0) / 1000;

  await createBatch(lab.setup, lab.store, {
    name: 'bench',
    from: {
      file: namesFile(
        lab,
        users.map((u) => u.sam),
      ),
    },
    targetStore: 'store-b',
    options: { concurrency: conc, ...(settle === undefined ? {} : { cutoverSettleSeconds: settle }) },
  });
  const t1 = Date.now();
  const r = await runBatch(lab.setup, lab.store, 'bench');
  const pipelineS = (Date.now() - t1) / 1000;
  const b = (await batchByName(lab.store, 'bench'))!;
  const perStep: Record<string, number[]> = {};
  for (const s of await stepsOf(lab.store, b.id)) {
    if (!s.finishedAt) continue;
    perStep[s.step] ??= [];
    perStep[s.step]!.push(Date.parse(s.finishedAt) - Date.parse(s.startedAt));
  }
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
  const out = {
    mailboxes: n,
    messages,
    megabytes: +(bytes / 1e6).toFixed(1),
    concurrency: conc,
    status: r.status,
    engineAlone: {
      seconds: engineS,
      messagesPerSecond: +(messages / engineS).toFixed(0),
      mbPerSecond: +(bytes / 1e6 / engineS).toFixed(1),
    },
    pipeline: {
      seconds: pipelineS,
      messagesPerSecond: +(messages / pipelineS).toFixed(0),
      mbPerSecond: +(bytes / 1e6 / pipelineS).toFixed(1),
    },
    pipelineOverEngine: +(pipelineS / engineS).toFixed(2),
    medianStepMs: Object.fromEntries(Object.entries(perStep).map(([k, v]) => [k, median(v)])),
    allDone: (await mailboxesOf(lab.store, b.id)).every((x) => x.state === 'done'),
    report: r.reportHtml,
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
} finally {
  await removeUsers(lab as never, 'b', targets).catch(() => {});
  await removeAll(lab);
}
