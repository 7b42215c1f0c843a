// Batch name lists (pure): a text file with one name a line (sAMAccountName, UPN, mail
// or DN; blank lines and `#` comments allowed), or a CSV whose first line is a header
// with a `name` column and optional per-user overrides. Problems come back one per line,
// with the line number, so an administrator fixes the file in one go. CSV cells are
// csv-parse's; lines, BOM, blanks and comments are ours (see splitCsvLine for why).
import { CsvError, parse } from 'csv-parse/sync';

export interface NameEntry {
  name: string;
  line: number;
  /** Per-user overrides from a CSV: targetPrimary (address in the target domain), targetSam. */
  overrides: { targetPrimary?: string; targetSam?: string };
}

export interface NameListResult {
  entries: NameEntry[];
  problems: string[];
}

const OVERRIDES = ['targetPrimary', 'targetSam'] as const;
const MAX_NAME = 1024;

/**
 * One CSV line's cells (RFC 4180 quotes, "" inside quotes, cells trimmed), or the problem
 * with its quotes. A quote never spans lines here: csv-parse given the whole file would
 * let one stray quote swallow every line after it (reported at the last line), and a name
 * holds no line break anyway, so each physical line is parsed on its own.
 */
export function splitCsvLine(line: string): { cells: string[] } | { problem: string } {
  try {
    // relax_quotes: a quote inside an unquoted cell (a"b) is a character, as it always was.
    // trim only strips around delimiters; a quoted " jdoe " is trimmed too, as it always was.
    const [cells = ['']] = parse(line, { trim: true, relax_quotes: true });
    return { cells: cells.map((c) => c.trim()) };
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    if (err.code === 'CSV_QUOTE_NOT_CLOSED') return { problem: 'unbalanced quote' };
    if (err.code === 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE' || err.code === 'CSV_INVALID_CLOSING_QUOTE')
      return { problem: 'text after a closing quote (quote the whole cell; "" is a quote inside it)' };
    return { problem: err.message.replace(/ at line \d+$/, '') };
  }
}

function checkName(name: string, line: number, problems: string[]): boolean {
  if (name.length > MAX_NAME) {
    problems.push(`line ${line}: name longer than ${MAX_NAME} characters`);
    return false;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
  if (/[\u0000-\u001f\u007f]/.test(name)) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: shown as ? in the problem
    problems.push(`line ${line}: control character in "${name.replace(/[\u0000-\u001f\u007f]/g, '?')}"`);
    return false;
  }
  return true;
}

/** Parses a name list; `csv` when the file is a CSV (by extension or a caller's choice). */
export function parseNameList(text: string, csv: boolean): NameListResult {
  const entries: NameEntry[] = [];
  const problems: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n|\r/);
  let header: string[] | undefined;
  lines.forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    if (!csv) {
      if (checkName(trimmed, line, problems)) entries.push({ name: trimmed, line, overrides: {} });
      return;
    }
    const split = splitCsvLine(raw);
    if ('problem' in split) {
      problems.push(`line ${line}: ${split.problem}`);
      return;
    }
    const { cells } = split;
    if (!header) {
      header = cells;
      if (!header.includes('name')) problems.push(`line ${line}: the CSV header needs a "name" column (optional: ${OVERRIDES.join(', ')})`);
      for (const h of header)
        if (h !== 'name' && !(OVERRIDES as readonly string[]).includes(h))
          problems.push(`line ${line}: unknown column "${h}" (known: name, ${OVERRIDES.join(', ')})`);
      return;
    }
    if (cells.length !== header.length) {
      problems.push(`line ${line}: ${cells.length} cells, the header has ${header.length}`);
      return;
    }
    const row = Object.fromEntries(header.map((h, j) => [h, cells[j] ?? '']));
    const name = row.name ?? '';
    if (!name) {
      problems.push(`line ${line}: empty name`);
      return;
    }
    if (!checkName(name, line, problems)) return;
    const overrides: NameEntry['overrides'] = {};
    if (row.targetPrimary) {
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(row.targetPrimary))
        problems.push(`line ${line}: targetPrimary "${row.targetPrimary}" is not an address`);
      else overrides.targetPrimary = row.targetPrimary;
    }
    if (row.targetSam) {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(row.targetSam))
        problems.push(`line ${line}: targetSam "${row.targetSam}" has characters an account name cannot have`);
      else overrides.targetSam = row.targetSam;
    }
    entries.push({ name, line, overrides });
  });
  if (csv && !header) problems.push('the CSV is empty (it needs a header line with a "name" column)');
  return { entries, problems };
}
