// `crossforest plan --estate` as an administrator runs it (real processes, no lab): a project
// written by `crossforest init` in a folder of its own, a generated estate of 3,000 mailboxes
// on 10 servers in 3 sites, the JSON result checked against the inventory it was generated
// from, the table capped with a "…" row, and the errors for neither or both subjects.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { generateEstate, SEED_ESTATE } from '../../src/migration/estate.ts';
import type { EstateRun } from '../../src/migration/estatePlan.ts';

const run = promisify(execFile);
let dir: string;
let config: string;

const cli = (...args: string[]) =>
  run(process.execPath, ['bin/crossforest.js', '-c', config, ...args], { maxBuffer: 64 << 20 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cf-estate-cli-'));
  config = join(dir, 'crossforest.yaml');
  const init = await cli('init');
  assert.equal(init.code, 0, init.stderr);
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('crossforest plan --estate (CLI, no lab)', () => {
  it('plans a generated estate as JSON: every mailbox scheduled once or reported too large, totals equal to the inventory', async () => {
    const r = await cli('--json', 'plan', '--estate', 'generate', '--mailboxes', '3000', '--servers', '10', '--sites', '3');
    const result = JSON.parse(r.stdout) as EstateRun;
    const { plan } = result;
    assert.equal(r.code, plan.goal.fits ? 0 : 1, r.stderr);
    assert.ok(plan.windows > 0);
    assert.equal(plan.windowSummaries.length, plan.windows);
    assert.equal(plan.days, Math.ceil(plan.windows / 4));
    assert.deepEqual(plan.goal, { perWindow: 600, perDay: 2400, fits: plan.goal.fits });
    assert.match(result.rates.source, /^assumed: nothing measured yet/, 'a fresh project has measured nothing');

    // The same inventory the command generated (the generator is deterministic).
    const inventory = generateEstate({ ...SEED_ESTATE, mailboxes: 3000, servers: 10, sites: 3 });
    const placed = [...plan.windowSummaries.flatMap((w) => w.logins), ...plan.tooLarge.map((t) => t.login)];
    assert.equal(placed.length, 3000, 'no mailbox twice');
    assert.deepEqual(new Set(placed), new Set(inventory.mailboxes.map((m) => m.login)), 'every mailbox once');
    const bytes = inventory.mailboxes.reduce((a, m) => a + m.bytes, 0);
    assert.deepEqual([result.estate.mailboxes, result.estate.servers, result.estate.sites, result.estate.bytes], [3000, 10, 3, bytes]);
    assert.equal(result.totals.scheduled.mailboxes + result.totals.tooLarge.mailboxes, 3000);
    assert.equal(result.totals.scheduled.bytes + result.totals.tooLarge.bytes, bytes);
    assert.equal(
      plan.windowSummaries.reduce((a, w) => a + w.bytes, 0),
      result.totals.scheduled.bytes,
    );
    for (const w of plan.windowSummaries) assert.ok(w.boundingServers.every((s) => /^mbx-\d{3}$/.test(s)));
  });

  it('prints the window table capped to the first 10 and the last, the summary, and every window with --all', async () => {
    // A slow given rate makes many windows: 1 MB/s per stream, 1-hour windows.
    const args = [
      'plan',
      '--estate',
      'generate',
      '--mailboxes',
      '3000',
      '--servers',
      '10',
      '--sites',
      '3',
      '--rate',
      '1',
      '--window-hours',
      '1',
    ];
    const capped = await cli(...args);
    assert.ok(capped.code === 0 || capped.code === 1, capped.stderr);
    const windows = Number(/^windows needed: ([\d,]+) of 1 h, 4 a day/m.exec(capped.stdout)?.[1]?.replace(/,/g, ''));
    assert.ok(windows > 12, capped.stdout);
    assert.match(capped.stdout, /│\s+…\s+│\s+│\s+\([\d,]+ windows\)/);
    assert.match(capped.stdout, /^rates: 1 MB\/s per stream \(given: --rate 1\)/m);
    assert.match(capped.stdout, /^per window: [\d,]+ on average .* vs the goal of 600: (fits|does NOT fit)$/m);
    assert.match(capped.stdout, /^per day: [\d,]+ vs the goal of 2,400: (fits|does NOT fit)$/m);
    assert.match(capped.stdout, /^scheduled: [\d,]+ mailboxes, .*; cannot move in one window: [\d,]+ mailboxes/m);
    assert.match(capped.stdout, /^verdict: (fits|does NOT fit)/m);
    const all = await cli(...args, '--all');
    assert.doesNotMatch(all.stdout, /│\s+…\s+│/);
    assert.match(all.stdout, new RegExp(`│\\s+${windows.toLocaleString('en-US')} │`));
  });

  it('needs a batch, a file or --estate, and refuses both', async () => {
    const none = await cli('plan');
    assert.equal(none.code, 1);
    assert.match(
      none.stderr,
      /plan needs a batch, a names file, or --estate\n {2}→ crossforest plan <batch-or-file>, or crossforest plan --estate generate/,
    );
    const both = await cli('plan', 'group1', '--estate', 'generate');
    assert.equal(both.code, 1);
    assert.match(both.stderr, /plan takes a batch or file, or --estate, not both \("group1"\)/);
    const stray = await cli('plan', 'group1', '--mailboxes', '5');
    assert.equal(stray.code, 1);
    assert.match(stray.stderr, /only --estate takes --mailboxes, not a batch or file/);
  });
});
