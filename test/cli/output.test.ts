// CLI tables: a rule under the header only, and a table that fits the terminal (or $COLUMNS) by wrapping
// its widest column instead of running off the terminal or cutting values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitColumns, renderTable } from '../../src/cli/output.ts';

const BORDER = /^[┌├└]/;

test('no separator between rows: one rule under the header, whatever the row count', () => {
  const rows = Array.from({ length: 5 }, (_, i) => ({ name: `user${i}`, n: i * 1000 }));
  const lines = renderTable(rows, [
    { header: 'name', value: (r) => r.name },
    { header: 'messages', value: (r) => r.n, align: 'right' },
  ]).split('\n');
  assert.equal(lines.filter((l) => BORDER.test(l)).length, 3, 'top, under the header, bottom');
  assert.equal(lines.length, 3 + 1 + rows.length);
  assert.ok(lines[1]?.includes('name') && lines[2]?.startsWith('├'));
  assert.match(lines[7] ?? '', /4,000/);
});

test('a table wider than 100 columns wraps its widest column and keeps every character', () => {
  const dn = 'CN=Someone With A Long Name,OU=Migrated Users,OU=Europe,OU=Accounts,DC=forest-a,DC=example,DC=test';
  const rows = [{ who: 'jmuller@forest-a.test', dn, state: 'done' }];
  const out = renderTable(
    rows,
    [
      { header: 'who', value: (r) => r.who },
      { header: 'dn', value: (r) => r.dn },
      { header: 'state', value: (r) => r.state },
    ],
    100,
  );
  const lines = out.split('\n');
  for (const l of lines) assert.ok(l.length <= 100, `line of ${l.length} columns: ${l}`);
  assert.ok(lines.length > 5, 'the dn wrapped onto more lines');
  // Every character of the wrapped cell is still there, in order.
  const dnColumn = lines
    .slice(3, -1)
    .map((l) => (l.split('│')[2] ?? '').replaceAll(' ', ''))
    .join('');
  assert.equal(dnColumn, dn.replaceAll(' ', ''));
  assert.match(lines[3] ?? '', /jmuller@forest-a\.test/);
});

test('fitColumns narrows the widest columns first, never below the next widest', () => {
  assert.deepEqual(fitColumns([10, 20, 30], 100), [10, 20, 30]);
  const w = fitColumns([10, 60, 70], 100);
  assert.ok(w.reduce((a, b) => a + b, 0) + w.length + 1 <= 100, `${w}`);
  assert.equal(w[0], 10);
  assert.ok(Math.abs((w[1] ?? 0) - (w[2] ?? 0)) <= 1, `the two wide columns share the cut: ${w}`);
  assert.deepEqual(fitColumns([8, 8], 5), [8, 8], 'nothing below the minimum');
});

test('in a pipe a table is not wrapped unless $COLUMNS says how wide', () => {
  const long = 'x'.repeat(150);
  const cols = [{ header: 'value', value: (r: { v: string }) => r.v }];
  const saved = process.env.COLUMNS;
  try {
    delete process.env.COLUMNS;
    const whole = renderTable([{ v: long }], cols).split('\n');
    assert.ok(process.stdout.isTTY || whole.some((l) => l.includes(long)), 'the row stays on one line');
    process.env.COLUMNS = '60';
    if (!process.stdout.isTTY) for (const l of renderTable([{ v: long }], cols).split('\n')) assert.ok(l.length <= 60);
  } finally {
    if (saved === undefined) delete process.env.COLUMNS;
    else process.env.COLUMNS = saved;
  }
});
