// GAL sync benchmark: a first full cycle (full import of both forests, full sync, export
// of every contact, confirming import) and a delta cycle after N changes, on two slapd
// instances of our own (the lab's config and sample generator, on ports +10000, in a
// folder of our own) so that the shared lab is not reloaded. Figures only: nothing here
// is asserted. Usage:
//   node --import tsx bench/sync.ts [--size 10000] [--changes 100] [--engine sqlite|postgres|both] [--keep] [--json]
// --engine both (the default) runs the cycles once per state engine, side by side; the
// PostgreSQL one needs the lab's cluster (`crossforest lab up`).
// --keep leaves the two bench slapds running afterwards (to look at what was written).
// Measured (2 cores; lab slapd with equality indexes only; export streamed, window 8):
//   10,000/forest: full cycle 23.7 s (import 3.7k/s, sync 3.0k/s, export 1.3k adds/s,
//     confirming import 2.5k/s), delta cycle after 100 changes 0.2 s, peak RSS 255 MB.
//   100,000/forest: full cycle 331 s (export 0.8–1.0k adds/s, sync 2.2k/s), delta cycle
//     after 100 changes 0.4 s, peak RSS 273 MB (948 MB when export held every pending object).
// Both engines (--engine both, 10,000/forest, 2 shared cores, issue 12): SQLite full cycle
//   68.3 s (66.0 s before, the same within noise), delta 0.5 s; PostgreSQL (lab cluster) full
//   cycle 174 s (was 441 s: full-sync 102 s, was 219 s; full-import 9 s, was 34.5 s;
//   confirming delta-import 11.4 s, was 57 s), delta 0.8 s. PostgreSQL pays a round trip per
//   statement: the hot loop reads a batch with one query and writes with multi-row INSERTs;
//   what remains is a few statements per object.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Attribute, Change, Client } from 'ldapts';
import { parse, stringify } from 'yaml';
import { loadForest, startSlapd, stopSlapd, writeSlapdConfig } from '../lab/directory/slapd.ts';
import { FORESTS, type ForestId, type ForestInfo } from '../lab/forests.ts';
import { defaultLabDir } from '../lab/paths.ts';
import { readSecret } from '../lab/secrets.ts';
import { labCertificatePaths } from '../lab/tls.ts';
import { exampleProjectFile } from '../src/config/example.ts';
import { loadProject } from '../src/config/load.ts';
import { searchEntries } from '../src/directory/import.ts';
import { openProjectState } from '../src/state/store.ts';
import { createEngine } from '../src/sync/engine.ts';
import { runProfile } from '../src/sync/profiles.ts';
import type { RunRecord } from '../src/sync/runHistory.ts';
import { silentLogger } from '../src/util/logger.ts';
import { type BenchEngine, benchState, parseEngines } from './peers/stateEngines.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '10000' },
    changes: { type: 'string', default: '100' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    engine: { type: 'string', default: 'both' },
  },
});
const size = Number(args.size);
const changes = Number(args.changes);
const engines = parseEngines(args.engine as string);
const labDir = defaultLabDir();
const benchDir = process.env.CROSSFOREST_BENCH_DIR ?? join(tmpdir(), `crossforest-bench-sync-${size}`);
const say = (line: string) => process.stderr.write(`${line}\n`);

function benchForest(id: ForestId): ForestInfo {
  const f = FORESTS[id];
  const ldapPort = f.ldapPort + 10_000;
  const ldapsPort = f.ldapsPort + 10_000;
  return { ...f, ldapPort, ldapsPort, ldapUrl: `ldap://127.0.0.1:${ldapPort}`, ldapsUrl: `ldaps://127.0.0.1:${ldapsPort}` };
}

async function bringUp(id: ForestId): Promise<ForestInfo> {
  const forest = benchForest(id);
  const admin = readSecret(labDir, `forest-${id}-admin.pw`);
  const paths = await writeSlapdConfig(benchDir, forest, labCertificatePaths(labDir), admin);
  // Always a fresh load (slapadd: seconds), so the full cycle really provisions every contact.
  await stopSlapd(paths, forest, silentLogger);
  const t = Date.now();
  await loadForest(
    paths,
    forest,
    {
      forest: id,
      size,
      seed: 'crossforest',
      usersPassword: readSecret(labDir, 'users.pw'),
      galsyncPassword: readSecret(labDir, `forest-${id}-galsync.pw`),
    },
    silentLogger,
  );
  say(`loaded bench forest ${id} (${size} users) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  await startSlapd(paths, forest, silentLogger);
  return forest;
}

function stepRows(run: RunRecord) {
  return run.steps.map((s) => ({
    step: `${s.step}${s.agent ? ` ${s.agent}` : ''}`,
    seconds: (Date.parse(s.endedAt) - Date.parse(s.startedAt)) / 1000,
    objects: s.step.endsWith('-sync')
      ? Math.round(s.rate * ((Date.parse(s.endedAt) - Date.parse(s.startedAt)) / 1000))
      : s.counts.imported + s.counts.exportAdds + s.counts.exportUpdates + s.counts.exportDeletes + s.counts.exportRenames,
    perSecond: Math.round(s.rate),
  }));
}

let forests = { a: await bringUp('a'), b: await bringUp('b') };

/** One engine: a fresh state store, the full cycle, N changes in forest A, the delta cycle. */
async function cycle(engineName: BenchEngine, round: number) {
  const work = join(benchDir, `run-${engineName}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const state = benchState(engineName, work, labDir);
  try {
    const doc = parse(
      exampleProjectFile().replaceAll('.lab/', `${labDir}/`).replaceAll('examples/rules', join(ROOT, 'examples/rules')),
    ) as {
      organizations: Record<ForestId, { directory: { url: string; caFile?: string } }>;
      state: unknown;
    };
    for (const id of ['a', 'b'] as const) doc.organizations[id].directory.url = forests[id].ldapUrl;
    doc.state = state.config;
    writeFileSync(join(work, 'crossforest.yaml'), stringify(doc));
    const project = loadProject(join(work, 'crossforest.yaml'));
    const engine = await createEngine(project);
    const store = await openProjectState(project);
    const started = Date.now();
    const full = await runProfile(engine, store, 'full-cycle', { allowDeletes: 1_000_000 });
    const fullSeconds = (Date.now() - started) / 1000;
    const rssAfterFull = process.resourceUsage().maxRSS;

    // N changes in forest A: new telephone numbers, made by the admin.
    const a = new Client({ url: forests.a.ldapUrl, timeout: 60_000 });
    await a.bind(forests.a.adminDn, readSecret(labDir, 'forest-a-admin.pw'));
    const victims: string[] = [];
    for await (const e of searchEntries(a, {
      bases: [forests.a.sitesDn],
      filter: '(&(objectClass=user)(mail=*)(!(msExchHideFromAddressLists=TRUE)))',
      attributes: ['1.1'],
      pageSize: changes,
    })) {
      victims.push(e.dn);
      if (victims.length >= changes) break;
    }
    const stamp = (Date.now() + round) % 10_000;
    for (const [i, dn] of victims.entries()) {
      await a.modify(
        dn,
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'telephoneNumber', values: [`+1 404 555 ${stamp} ${i}`] }),
        }),
      );
    }
    await a.unbind();
    const t2 = Date.now();
    const delta = await runProfile(engine, store, 'delta-cycle');
    const deltaSeconds = (Date.now() - t2) / 1000;
    await store.close();
    return {
      engine: engineName,
      size,
      changes: victims.length,
      fullCycle: { seconds: fullSeconds, status: full.status, counts: full.counts, steps: stepRows(full) },
      deltaCycle: { seconds: deltaSeconds, status: delta.status, counts: delta.counts, steps: stepRows(delta) },
      peakRssMB: { afterFullCycle: Math.round(rssAfterFull / 1024), end: Math.round(process.resourceUsage().maxRSS / 1024) },
    };
  } finally {
    state.drop();
  }
}

const results = [];
for (const [i, e] of engines.entries()) {
  // Every engine starts from the same freshly loaded forests: its full cycle adds every contact.
  if (i > 0) forests = { a: await bringUp('a'), b: await bringUp('b') };
  say(`${e}: full and delta cycle…`);
  results.push(await cycle(e, i));
}
if (!args.keep)
  for (const id of ['a', 'b'] as const)
    await stopSlapd(
      await writeSlapdConfig(benchDir, forests[id], labCertificatePaths(labDir), readSecret(labDir, `forest-${id}-admin.pw`)),
      forests[id],
      silentLogger,
    );
const base = results[0];
const ratios = results.map((r) => ({
  engine: r.engine,
  fullCycleRatio: base ? r.fullCycle.seconds / base.fullCycle.seconds : 1,
  deltaCycleRatio: base ? r.deltaCycle.seconds / base.deltaCycle.seconds : 1,
}));
if (args.json) process.stdout.write(`${JSON.stringify({ results, ratios }, null, 2)}\n`);
else {
  process.stdout.write(`GAL sync, ${size} users per forest (bench slapds on ${forests.a.ldapPort}/${forests.b.ldapPort})\n`);
  for (const result of results) {
    process.stdout.write(`\nstate on ${result.engine}\n`);
    for (const [name, c] of [
      ['full cycle', result.fullCycle],
      ['delta cycle', result.deltaCycle],
    ] as const) {
      process.stdout.write(
        `${name}: ${c.seconds.toFixed(1)} s (${c.status}) — exports: ${c.counts.exportAdds ?? 0} adds, ${c.counts.exportUpdates ?? 0} updates, ${c.counts.exportDeletes ?? 0} deletes; errors ${c.counts.errors ?? 0}\n`,
      );
      for (const s of c.steps)
        process.stdout.write(
          `  ${s.step.padEnd(16)} ${s.seconds.toFixed(2).padStart(7)} s ${String(s.objects).padStart(7)} objects ${String(s.perSecond).padStart(7)} /s\n`,
        );
    }
    process.stdout.write(`peak RSS: ${result.peakRssMB.afterFullCycle} MB after the full cycle, ${result.peakRssMB.end} MB at the end\n`);
  }
  if (results.length > 1) {
    process.stdout.write('\nside by side (time as a ratio to the first engine; lower is faster)\n');
    for (const [i, r] of results.entries())
      process.stdout.write(
        `  ${r.engine.padEnd(9)} full ${r.fullCycle.seconds.toFixed(1).padStart(6)} s ×${(ratios[i]?.fullCycleRatio ?? 1).toFixed(2)}   delta ${r.deltaCycle.seconds.toFixed(2).padStart(6)} s ×${(ratios[i]?.deltaCycleRatio ?? 1).toFixed(2)}\n`,
      );
  }
}
