// Results are tables on a terminal and JSON with --json; progress goes to stderr.
import Table from 'cli-table3';

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | boolean | undefined | null;
  align?: 'left' | 'right';
}

/**
 * The width a table must fit: the terminal's own; in a pipe or a log, $COLUMNS when set, else none
 * (Infinity) — a script that greps or cuts a table must see each row whole on one line, as it
 * would from `ps -ww` or kubectl, not hard-wrapped at some guessed width.
 */
export function tableWidth(): number {
  if (process.stdout.isTTY && process.stdout.columns) return process.stdout.columns;
  const columns = Number(process.env.COLUMNS);
  return Number.isInteger(columns) && columns > 0 ? columns : Number.POSITIVE_INFINITY;
}

/**
 * A rule under the header only (cli-table3's compact style: no line between rows, so a table is as
 * tall as its data), fitted to `width`: when the natural widths do not fit, the widest columns
 * are narrowed (never below the next widest, nor 8 columns) and their cells wrap.
 */
export function renderTable<T>(rows: T[], columns: Column<T>[], width = tableWidth()): string {
  const cells = rows.map((row) => columns.map((c) => formatCell(c.value(row))));
  const colWidths = fitColumns(
    columns.map((c, i) => Math.max(longestLine(c.header), ...cells.map((r) => longestLine(r[i] ?? ''))) + 2),
    width,
  );
  const table = new Table({
    head: columns.map((c) => c.header),
    colAligns: columns.map((c) => c.align ?? 'left'),
    colWidths,
    wordWrap: true,
    // Hard-wraps a word longer than the column (a URL, a DN) instead of cutting it with an ellipsis.
    wrapOnWordBoundary: false,
    style: { compact: true, head: process.stdout.isTTY ? ['cyan'] : [], border: process.stdout.isTTY ? ['grey'] : [] },
  });
  for (const r of cells) table.push(r);
  return table.toString();
}

function longestLine(text: string): number {
  return Math.max(0, ...text.split('\n').map((l) => l.length));
}

/** Column widths (padding included) whose table, borders included, fits `width` where it can. */
export function fitColumns(natural: number[], width: number): number[] {
  const widths = [...natural];
  const MIN = 8;
  const total = (): number => widths.reduce((a, b) => a + b, 0) + widths.length + 1;
  while (total() > width) {
    const widest = Math.max(...widths);
    if (widest <= MIN) break;
    const next = Math.max(MIN, ...widths.filter((w) => w < widest));
    const atWidest = widths.filter((w) => w === widest).length;
    // Narrow every column of the widest width together, by the excess shared out, down to the next widest.
    const cut = Math.min(widest - next, Math.ceil((total() - width) / atWidest));
    for (let i = 0; i < widths.length; i++) if (widths[i] === widest) widths[i] = widest - Math.max(1, cut);
  }
  return widths;
}

function formatCell(v: string | number | boolean | undefined | null): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(1);
  return v;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
}

export function printTable<T>(rows: T[], columns: Column<T>[]): void {
  process.stdout.write(`${renderTable(rows, columns)}\n`);
}

/** A progress line on stderr (never stdout, which carries results). */
export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
