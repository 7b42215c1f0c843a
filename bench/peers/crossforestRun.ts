// crossforest as the migration pipeline will run it: one process copying a batch of
// mailboxes through the library (copyMailbox), `concurrency` mailboxes at a time.
//   node --import tsx bench/peers/crossforestRun.ts <project.yaml> <concurrency> <source>=<target>…
// Prints one JSON line: engine seconds (without process start-up) and per-mailbox results.
import pLimit from 'p-limit';
import { loadProject } from '../../src/config/load.ts';
import { copyMailbox } from '../../src/mail/copyMailbox.ts';
import { projectCopyEndpoints } from '../../src/mail/endpoint.ts';
import { openProjectState } from '../../src/state/store.ts';

const [projectFile, concurrency, ...pairs] = process.argv.slice(2) as [string, string, ...string[]];
const t0 = Date.now();
// Where the memory is at the process's peak (sampled): heap, Buffers (external), or neither.
let peak = process.memoryUsage();
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  if (m.rss > peak.rss) peak = m;
}, 50);
sampler.unref();
const project = loadProject(projectFile);
const store = await openProjectState(project);
const limit = pLimit(Number(concurrency));
let failed = 0;
const results = await Promise.all(
  pairs.map((p) =>
    limit(async () => {
      const [source, target] = p.split('=') as [string, string];
      try {
        const r = await copyMailbox({
          ...projectCopyEndpoints(project, source, target, {}),
          sourceMailbox: source,
          targetMailbox: target,
          store,
        });
        return { source, copied: r.totals.copied, ms: r.durationMs };
      } catch (err) {
        failed++;
        return { source, error: (err as Error).message };
      }
    }),
  ),
);
await store.close();
const mb = (n: number): number => Math.round(n / 1e5) / 10;
const memory = {
  rss: mb(peak.rss),
  heapTotal: mb(peak.heapTotal),
  heapUsed: mb(peak.heapUsed),
  external: mb(peak.external),
  arrayBuffers: mb(peak.arrayBuffers),
};
process.stdout.write(`${JSON.stringify({ engineSeconds: (Date.now() - t0) / 1000, results, memory })}\n`);
process.exitCode = failed ? 1 : 0;
