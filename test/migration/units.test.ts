// Pure logic of migration batches: name lists (hostile input), address arithmetic,
// windows, the live view, the batch status, the HTML report (escaping, inline SVG).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exampleProjectFile } from '../../src/config/example.ts';
import { parseProject } from '../../src/config/load.ts';
import { aliasOf, demote, globMatcher, hasAll, targetProxies, withProxies } from '../../src/migration/addresses.ts';
import { batchOptions } from '../../src/migration/createBatch.ts';
import { LiveStatus } from '../../src/migration/liveStatus.ts';
import { parseNameList, splitCsvLine } from '../../src/migration/nameList.ts';
import { makespan, predict, workSeconds } from '../../src/migration/plan.ts';
import { comparePrediction, humanDuration } from '../../src/migration/prediction.ts';
import type { PredictedPlan } from '../../src/migration/predictionStore.ts';
import type { BatchReport } from '../../src/migration/report.ts';
import { escapeHtml, renderBatchHtml, throughputSvg } from '../../src/migration/reportHtml.ts';
import { finalStatus } from '../../src/migration/runner.ts';
import type { MigrationSetup } from '../../src/migration/setup.ts';
import type { StepRecord } from '../../src/migration/types.ts';
import { parseWindowTime, windowState } from '../../src/migration/window.ts';

describe('name lists', () => {
  it('reads one name a line, skipping blanks and # comments, with CRLF and a BOM', () => {
    const r = parseNameList(
      '\uFEFF# Group 1\r\njdoe\r\n\r\n  jane@forest-a.test  \r\ncn=John Smith (jsmith2),ou=Atlanta,dc=forest-a,dc=test\r\n',
      false,
    );
    assert.deepEqual(r.problems, []);
    assert.deepEqual(
      r.entries.map((e) => [e.name, e.line]),
      [
        ['jdoe', 2],
        ['jane@forest-a.test', 4],
        ['cn=John Smith (jsmith2),ou=Atlanta,dc=forest-a,dc=test', 5],
      ],
    );
  });
  it('refuses control characters and absurd lengths, one problem per line', () => {
    const r = parseNameList(`ok\nbad\u0000name\n${'x'.repeat(5000)}\n\u001b[31mred\n`, false);
    assert.deepEqual(
      r.entries.map((e) => e.name),
      ['ok'],
    );
    assert.equal(r.problems.length, 3);
    assert.match(r.problems[0]!, /^line 2: control character/);
    assert.match(r.problems[1]!, /^line 3: name longer/);
  });
  it('reads a CSV with overrides and quotes; reports bad headers, cells and overrides', () => {
    const ok = parseNameList('name,targetPrimary,targetSam\n"Smith, John",john.smith@forest-b.test,jsmith-a\njdoe,,\n', true);
    assert.deepEqual(ok.problems, []);
    assert.deepEqual(ok.entries[0], {
      name: 'Smith, John',
      line: 2,
      overrides: { targetPrimary: 'john.smith@forest-b.test', targetSam: 'jsmith-a' },
    });
    assert.deepEqual(ok.entries[1]!.overrides, {});
    const bad = parseNameList('name,colour\n"open,x\na,b,c\n,x\nq,y\n', true);
    assert.match(bad.problems.join('\n'), /unknown column "colour"/);
    assert.match(bad.problems.join('\n'), /line 2: unbalanced quote/);
    assert.match(bad.problems.join('\n'), /line 3: 3 cells, the header has 2/);
    assert.match(bad.problems.join('\n'), /line 4: empty name/);
    const o = parseNameList('name,targetPrimary,targetSam\na,not-an-address,ok\nb,b@x.test,bad name!\n', true);
    assert.equal(o.entries.length, 2);
    assert.equal(o.problems.length, 2);
    assert.match(parseNameList('', true).problems[0]!, /CSV is empty/);
    assert.match(parseNameList('email\nx\n', true).problems[0]!, /needs a "name" column/);
  });
  it('splits CSV lines per RFC 4180 (csv-parse), one line at a time', () => {
    assert.deepEqual(splitCsvLine('a,"b ""c"", d",e'), { cells: ['a', 'b "c", d', 'e'] });
    assert.deepEqual(splitCsvLine('  "Smith, John" , x '), { cells: ['Smith, John', 'x'] });
    assert.deepEqual(splitCsvLine('a"b,c'), { cells: ['a"b', 'c'] });
    assert.deepEqual(splitCsvLine('"a'), { problem: 'unbalanced quote' });
    assert.match((splitCsvLine('"a"b,c') as { problem: string }).problem, /after a closing quote/);
    assert.deepEqual(splitCsvLine(''), { cells: [''] });
  });
  it('hostile CSV: a stray quote costs its own line only; quoted commas, CRLF, a BOM and # comments', () => {
    const r = parseNameList(
      '\uFEFFname,targetSam\r\n# a comment, "with quotes\r\n"Doe, Jane",jdoe2\r\n"unclosed,x\r\n\r\njsmith,"js""1"\r\n"a"b,x\r\nlast,\r\n',
      true,
    );
    assert.deepEqual(
      r.entries.map((e) => [e.name, e.line, e.overrides.targetSam]),
      [
        ['Doe, Jane', 3, 'jdoe2'],
        ['jsmith', 6, undefined],
        ['last', 8, undefined],
      ],
    );
    assert.equal(r.problems.length, 3, r.problems.join('\n'));
    assert.equal(r.problems[0], 'line 4: unbalanced quote');
    assert.match(r.problems[1]!, /^line 6: targetSam "js"1" has characters/);
    assert.match(r.problems[2]!, /^line 7: text after a closing quote/);
    assert.deepEqual(parseNameList('name\r\n"a,b"\r\n', true).entries[0], { name: 'a,b', line: 2, overrides: {} });
  });
});

describe('addresses', () => {
  it('plans the target proxies: own primary first, source primary demoted, X500, contact addresses kept, no duplicates', () => {
    const p = targetProxies({
      targetPrimary: 'jdoe@forest-b.test',
      sourceProxies: ['SMTP:jdoe@forest-a.test', 'smtp:john.doe@forest-a.test', 'X400:c=US;a= ;p=A;o=Ex;s=Doe'],
      sourceMail: 'jdoe@forest-a.test',
      sourceLegacyExchangeDn: '/o=ForestA/ou=First/cn=Recipients/cn=jdoe',
      existing: [
        'SMTP:JDOE@forest-a.test',
        'X500:/o=ForestA/ou=First/cn=Recipients/cn=jdoe',
        'smtp:old@forest-a.test',
        'SMTP:jdoe@forest-b.test',
      ],
    });
    assert.deepEqual(p, [
      'SMTP:jdoe@forest-b.test',
      'smtp:jdoe@forest-a.test',
      'smtp:john.doe@forest-a.test',
      'X400:c=US;a= ;p=A;o=Ex;s=Doe',
      'X500:/o=ForestA/ou=First/cn=Recipients/cn=jdoe',
      'smtp:old@forest-a.test',
    ]);
    assert.equal(p.filter((x) => x.startsWith('SMTP:')).length, 1);
  });
  it('helpers', () => {
    assert.equal(demote('SMTP:a@b'), 'smtp:a@b');
    assert.equal(demote('X500:/o=x'), 'X500:/o=x');
    assert.deepEqual(withProxies(['a'], ['A', 'b']), ['a', 'b']);
    assert.ok(hasAll(['SMTP:X@y'], ['smtp:x@Y']));
    assert.ok(!hasAll([], ['x']));
    const legacy = globMatcher(['*@forest-a.test', 'FORESTA\\*']);
    assert.ok(legacy('tyamada@forest-a.test') && legacy('-tyamada@FOREST-A.test') && legacy('FORESTA\\jdoe'));
    assert.ok(!legacy('tyamada@forest-b.test') && !legacy('anyone') && !legacy('x@forest-a.test.evil'));
    assert.equal(aliasOf('José.Müller@forest-a.test'), 'Jose.Muller');
    assert.equal(aliasOf('山田@x'), 'user');
    assert.equal(aliasOf('Atlanta/sales@x'), 'Atlantasales');
  });
});

describe('windows', () => {
  const now = new Date('2026-11-28T21:00:00Z');
  it('before, open, after', () => {
    assert.equal(windowState({}, now).state, 'open');
    assert.deepEqual(windowState({ windowStart: '2026-11-28T22:00:00Z' }, now), { state: 'before', msUntilChange: 3_600_000 });
    assert.equal(windowState({ windowStart: '2026-11-28T20:00:00Z', windowStop: '2026-11-28T21:00:00Z' }, now).state, 'after');
    assert.equal(windowState({ windowStop: '2026-11-28T21:30:00Z' }, now).msUntilChange, 1_800_000);
  });
  it('parses HH:MM as the next such time and ISO instants; refuses the rest', () => {
    const at = new Date(2026, 10, 28, 21, 0, 0);
    assert.equal(parseWindowTime('22:00', at), new Date(2026, 10, 28, 22, 0, 0).toISOString());
    assert.equal(parseWindowTime('04:00', at), new Date(2026, 10, 29, 4, 0, 0).toISOString());
    assert.equal(parseWindowTime('2026-11-28T22:00:00Z', at), '2026-11-28T22:00:00.000Z');
    for (const bad of ['25:00', '12:60', 'tonight', '2026-13-45T00:00:00Z', '', '1700000000'])
      assert.equal(parseWindowTime(bad, at), undefined, bad);
  });
});

describe('batch status and live view', () => {
  it('final status', () => {
    assert.equal(finalStatus(['done', 'done'], false), 'completed');
    assert.equal(finalStatus(['done', 'failed'], false), 'completed-with-errors');
    assert.equal(finalStatus(['done', 'suspended'], false), 'suspended');
    assert.equal(finalStatus(['copied', 'done'], true), 'synced');
  });
  it('folds events into per-mailbox progress, rates and an ETA', () => {
    const v = new LiveStatus([
      { login: 'a@x', state: 'queued', messages: 0, bytes: 0 },
      { login: 'b@x', state: 'done', messages: 10, bytes: 0 },
    ]);
    v.apply({ type: 'state', mailbox: 'a@x', state: 'prestaged', step: 'copy' });
    v.apply({
      type: 'progress',
      mailbox: 'a@x',
      copiedMessages: 5,
      copiedBytes: 5000,
      totalMessages: 20,
      totalBytes: 20000,
      folder: 'INBOX',
    } as never);
    v.apply({ type: 'progress', mailbox: 'a@x', copiedMessages: 8, copiedBytes: 8000, totalMessages: 20, totalBytes: 20000 } as never);
    v.apply({ type: 'wait', mailbox: 'a@x', what: 'store busy', nextPollSeconds: 1 });
    const t = v.totals();
    assert.equal(t.copied, 8);
    assert.equal(t.copiedBytes, 8000);
    assert.equal(t.done, 1);
    const lines = v.render();
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /a@x .*8\/20/);
    assert.match(lines[2]!, /1\/2 mailboxes done, 8 messages/);
  });
});

describe('HTML report', () => {
  const report: BatchReport = {
    batch: '<script>x</script>',
    status: 'completed',
    sourceOrg: 'a',
    targetOrg: 'b',
    targetStore: 'store-b',
    options: {
      retryIntervalSeconds: 1,
      mailboxReadyTimeoutSeconds: 1,
      badItemLimit: 0,
      largeItemLimit: 0,
      allowMerge: true,
      concurrency: 1,
      cutover: 'immediate',
    },
    createdAt: '2026-11-28T00:00:00Z',
    startedAt: null,
    finishedAt: null,
    generatedAt: '2026-11-28T00:00:00Z',
    totals: {
      mailboxes: 1,
      byState: { done: 1 },
      messages: 2,
      bytes: 3,
      copied: 2,
      copiedBytes: 3,
      skipped: 1,
      copyMs: 10,
      messagesPerSecond: 1,
      megabytesPerSecond: 0,
      meanFidelity: 1,
    },
    mailboxes: [
      {
        name: 'a"b',
        source: 'a@x',
        target: 'a@y',
        targetDn: 'cn=a',
        state: 'done',
        resumeState: null,
        error: null,
        messages: 2,
        bytes: 3,
        copied: 2,
        copiedBytes: 3,
        deltas: 0,
        fidelity: 1,
        verify: null,
        steps: [],
        copyMs: 10,
        worker: null,
        messagesPerSecond: 1,
        megabytesPerSecond: 0,
        skipped: [
          {
            folder: 'INBOX',
            uid: 7,
            messageId: '<m@x>',
            subject: '<img src=x onerror=alert(1)>',
            size: 9,
            kind: 'bad',
            reason: 'NO [CORRUPT]',
          },
        ],
      },
    ],
    throughput: [
      { at: '2026-11-28T00:00:00.000Z', messages: 1, bytes: 1 },
      { at: '2026-11-28T00:00:05.000Z', messages: 4, bytes: 1 },
    ],
    prediction: comparePrediction({ madeAt: '2026-11-28T00:00:00Z', status: 'failed', warning: '<b>store down</b>' }, [], {
      status: 'completed',
    }),
  };
  it('escapes everything it shows and has no script or external resource', () => {
    const html = renderBatchHtml(report, 'p&q');
    assert.ok(!html.includes('<script>') && !html.includes('<img'));
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;') && html.includes('p&amp;q') && html.includes('a&quot;b'));
    assert.ok(!/(src|href)=["']?https?:/.test(html));
    assert.match(
      html,
      /<h2>Predicted and actual duration<\/h2>[\s\S]*the capacity plan could not be made when the batch started \(&lt;b&gt;store down&lt;\/b&gt;\)/,
    );
    assert.match(html, /<svg[\s\S]*<polyline/);
  });
  it('draws an empty chart message without samples and buckets otherwise', () => {
    assert.match(throughputSvg([]), /No throughput samples/);
    const svg = throughputSvg(report.throughput);
    assert.match(svg, /points="[\d., ]+"/);
    assert.equal(escapeHtml(`<&>"'`), '&lt;&amp;&gt;&quot;&#39;');
  });
});

describe('configuration', () => {
  it('the init example carries a valid migration section; typos are refused with their key path', () => {
    const cfg = parseProject(exampleProjectFile());
    assert.equal(cfg.migration?.targetStores['store-b']?.organization, 'b');
    assert.throws(
      () => parseProject(exampleProjectFile().replace('  maxConcurrentPerSourceStore: 8', '  maxConcurrentPerSourceStor: 8')),
      /migration.*maxConcurrentPerSourceStor/s,
    );
  });
});

describe('capacity planning', () => {
  it('schedules longest first on parallel streams and counts what fits the window', () => {
    assert.equal(makespan([], 4), 0);
    assert.equal(makespan([5, 3, 3, 2, 2, 1], 2), 8);
    assert.equal(makespan([10, 1, 1], 8), 10);
    const p = predict(
      [
        { login: 'a', messages: 100, bytes: 10e6 },
        { login: 'b', messages: 1000, bytes: 1e6 },
        { login: 'c', messages: 10, bytes: 1e3 },
      ],
      { bytesPerSecond: 1e6, messagesPerSecond: 100 },
      2,
      1,
      20,
    );
    assert.deepEqual(
      p.per.map((m) => m.seconds),
      [12, 12, 2.1],
    );
    assert.equal(p.predictedSeconds, 26.1);
    assert.equal(p.fits, false);
    assert.equal(p.mailboxesThatFit, 1);
  });
});

describe('prediction against reality', () => {
  const step = (startedAt: string, finishedAt: string | null): StepRecord => ({
    mailboxId: 1,
    step: 'copy',
    startedAt,
    finishedAt,
    status: 'done',
    messages: 0,
    bytes: 0,
    detail: null,
    worker: null,
  });
  const plan = (predictedSeconds: number, windowSeconds: number | null): PredictedPlan => ({
    predictedSeconds,
    windowSeconds,
    fits: windowSeconds === null ? null : predictedSeconds <= windowSeconds,
    mailboxesThatFit: null,
    streams: 4,
    rate: { source: 'measured on 12 earlier copy passes', bytesPerSecond: 2.5e6, messagesPerSecond: 120 },
    overheadSeconds: 8,
    totals: { mailboxes: 3, messages: 17, bytes: 1.2e6 },
    mailboxes: [],
  });
  it('counts the time steps ran, overlaps once, and not the idle time between two sittings', () => {
    assert.equal(workSeconds([]), null);
    assert.equal(workSeconds([step('2026-11-28T00:00:00Z', null)]), null);
    // Two mailboxes in parallel (0–10 s and 5–20 s), then a pause until `batch complete` at 1 h, 30 s more.
    assert.equal(
      workSeconds([
        step('2026-11-28T00:00:05Z', '2026-11-28T00:00:20Z'),
        step('2026-11-28T00:00:00Z', '2026-11-28T00:00:10Z'),
        step('2026-11-28T01:00:00Z', '2026-11-28T01:00:30Z'),
      ]),
      50,
    );
  });
  it('writes durations as people read them', () => {
    assert.equal(humanDuration(12.4), '12 s');
    assert.equal(humanDuration(250), '4 min 10 s');
    assert.equal(humanDuration(7500), '2 h 05 min');
  });
  it('a finished batch: predicted, actual, ratio, window, and the basis in words', () => {
    const r = comparePrediction(
      { madeAt: '2026-11-28T22:00:00Z', status: 'made', plan: plan(100, 3600) },
      [step('2026-11-28T22:00:00Z', '2026-11-28T22:02:01Z')],
      { status: 'completed' },
    );
    assert.equal(r.actualSeconds, 121);
    assert.equal(r.ratio, 1.21);
    assert.equal(r.fittedWindow, true);
    const text = r.summary.join('\n');
    assert.match(text, /Predicted when the batch started \(2026-11-28 22:00 UTC\): 1 min 40 s for 3 mailboxes/);
    assert.match(
      text,
      /Basis: copy speed 2\.50 MB\/s and 120 messages\/s per mailbox — measured on 12 earlier copy passes; 4 mailboxes at a time/,
    );
    assert.match(text, /Window: 1 h 00 min; the prediction said the batch fits\./);
    assert.match(text, /It took 2 min 01 s of work: 21 % longer than predicted \(1\.21 × the prediction\)\./);
    assert.match(text, /It finished within its 1 h 00 min window\./);
    const fast = comparePrediction(
      { madeAt: '2026-11-28T22:00:00Z', status: 'made', plan: plan(100, 60) },
      [step('2026-11-28T22:00:00Z', '2026-11-28T22:01:30Z')],
      { status: 'completed-with-errors' },
    );
    assert.equal(fast.fittedWindow, false);
    assert.match(fast.summary.join('\n'), /10 % faster than predicted[\s\S]*It did NOT fit its 1 min 00 s window: it needed 1 min 30 s\./);
    const same = comparePrediction(
      { madeAt: '2026-11-28T22:00:00Z', status: 'made', plan: plan(100, null) },
      [step('2026-11-28T22:00:00Z', '2026-11-28T22:01:42Z')],
      { status: 'completed' },
    );
    assert.equal(same.fittedWindow, null);
    assert.match(same.summary.join('\n'), /No window was set\.[\s\S]*about as predicted \(1\.02 ×/);
  });
  it('an unfinished batch: work so far, no ratio yet; suspended by its window: did not fit', () => {
    const r = comparePrediction(
      { madeAt: '2026-11-28T22:00:00Z', status: 'made', plan: plan(100, 3600) },
      [step('2026-11-28T22:00:00Z', '2026-11-28T22:00:50Z')],
      { status: 'synced' },
    );
    assert.equal(r.ratio, null);
    assert.equal(r.fittedWindow, null);
    assert.match(r.summary.join('\n'), /Not finished \(waiting for `batch complete`\): 50 s of work so far, 50 % of the prediction\./);
    const s = comparePrediction(
      { madeAt: '2026-11-28T22:00:00Z', status: 'made', plan: plan(100, 3600) },
      [step('2026-11-28T22:00:00Z', '2026-11-28T22:00:50Z')],
      { status: 'suspended' },
    );
    assert.equal(s.fittedWindow, false);
    assert.match(s.summary.join('\n'), /It did NOT finish in its 1 h 00 min window\./);
  });
  it('says plainly when there is no prediction, and why', () => {
    const none = comparePrediction(undefined, [step('2026-11-28T22:00:00Z', '2026-11-28T22:00:10Z')], { status: 'completed' });
    assert.equal(none.status, 'none');
    assert.deepEqual(none.summary, [
      'No prediction was recorded: this batch started before crossforest recorded predictions.',
      'It took 10 s.',
    ]);
    const failed = comparePrediction({ madeAt: '2026-11-28T22:00:00Z', status: 'failed', warning: 'IMAP timeout' }, [], {
      status: 'running',
    });
    assert.equal(failed.status, 'failed');
    assert.deepEqual(failed.summary, [
      'No prediction: the capacity plan could not be made when the batch started (IMAP timeout).',
      'Nothing has run yet.',
    ]);
  });
});

describe('cutover settle: per batch, else the project default', () => {
  const setupWith = (text: string) => ({ config: parseProject(text).migration }) as unknown as MigrationSetup;
  const withDefault = (settle: number) =>
    exampleProjectFile().replace('cutover: immediate, cutoverSettleSeconds: 5 }', `cutover: immediate, cutoverSettleSeconds: ${settle} }`);
  it('a batch created without the option takes migration.defaults.cutoverSettleSeconds; with it, the option', () => {
    assert.equal(batchOptions(setupWith(withDefault(30)), {}).cutoverSettleSeconds, 30);
    assert.equal(batchOptions(setupWith(withDefault(30)), { cutoverSettleSeconds: 2 }).cutoverSettleSeconds, 2);
    assert.equal(batchOptions(setupWith(withDefault(0)), {}).cutoverSettleSeconds, 0);
  });
  it('refuses a default out of bounds or misspelt, naming the key', () => {
    assert.throws(() => parseProject(withDefault(601)), /migration\.defaults\.cutoverSettleSeconds/);
    assert.throws(
      () => parseProject(exampleProjectFile().replace('cutoverSettleSeconds: 5 }', 'cutoverSettleSecs: 5 }')),
      /cutoverSettleSecs/,
    );
    assert.throws(() => batchOptions(setupWith(withDefault(5)), { cutoverSettleSeconds: 601 }), /cutover settle must be 0 to 600 seconds/);
  });
});
