// The batch reports (`reports/<batch>/batch.html`, `<mailbox>.json`) served to operators.
// Only names of one safe segment each are accepted, the resolved real path must lie inside
// the real reports folder (so neither `../` nor a symbolic link leads out), and only
// regular .html/.json files are listed or sent.
import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { extname, join, relative, resolve, sep } from 'node:path';

const SEGMENT = /^[A-Za-z0-9@_+-][A-Za-z0-9@._+-]{0,199}$/;
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.json': 'application/json; charset=utf-8' };

export interface ReportFile {
  path: string;
  contentType: string;
}

export class ReportFiles {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** The file for `<batch>/<file>`, or null when the name is unsafe, outside, or not a report. */
  resolve(batch: string, file: string): ReportFile | null {
    if (!isSafeSegment(batch) || !isSafeSegment(file)) return null;
    const type = TYPES[extname(file).toLowerCase()];
    if (!type) return null;
    try {
      const realRoot = realpathSync(this.root);
      const real = realpathSync(join(this.root, batch, file));
      const rel = relative(realRoot, real);
      if (rel === '' || rel.startsWith('..') || rel.startsWith(sep) || !statSync(real).isFile()) return null;
      return { path: real, contentType: type };
    } catch {
      return null;
    }
  }

  /** The report files of a batch, batch.html first. */
  list(batch: string): string[] {
    if (!isSafeSegment(batch)) return [];
    const dir = join(this.root, batch);
    try {
      if (!lstatSync(dir).isDirectory()) return [];
      const names = readdirSync(dir).filter((n) => isSafeSegment(n) && TYPES[extname(n).toLowerCase()] && this.resolve(batch, n));
      return names.sort((x, y) => rank(x) - rank(y) || x.localeCompare(y));
    } catch {
      return [];
    }
  }

  /** `<batch>/<file>` when an absolute path (a batch's report_path) is a report under the root. */
  locate(absolutePath: string): { batch: string; file: string } | null {
    const rel = relative(this.root, resolve(absolutePath)).split(sep);
    if (rel.length !== 2) return null;
    const [batch, file] = rel as [string, string];
    return this.resolve(batch, file) ? { batch, file } : null;
  }
}

export function isSafeSegment(s: string): boolean {
  return SEGMENT.test(s) && !s.includes('..');
}

const rank = (n: string): number => (n === 'batch.html' ? 0 : n === 'batch.json' ? 1 : n.endsWith('.html') ? 2 : 3);
