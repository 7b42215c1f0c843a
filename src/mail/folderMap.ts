// Folder mapping between two IMAP namespaces (pure). A source folder becomes a list of
// name segments (personal prefix stripped, split on the source separator), is renamed
// or mapped by SPECIAL-USE, then joined with the target's prefix and separator.
//
// Rules, in order:
// 1. INBOX is INBOX on both sides (case-insensitive, RFC 3501).
// 2. Explicit renames (config `mail.renames`, names written with `/` whatever the
//    servers use) win; a rename of a parent moves its subfolders with it.
// 3. A folder with a SPECIAL-USE attribute (\Sent, \Drafts, \Trash, \Junk, \Archive)
//    goes to the target folder with the same use, whatever either is called
//    ("Sent Items" → "Sent"); its subfolders follow.
// 4. Otherwise the segments are kept. A segment that contains the target's separator
//    gets that character replaced (escape rule, predictable and readable):
//    `/` → `∕` (U+2215 DIVISION SLASH), `.` → `․` (U+2024 ONE DOT LEADER), any other
//    separator → `_`, or `separatorEscape` from the project file. An empty segment
//    (`a..b`) becomes `_`. A non-INBOX folder that would land on INBOX becomes `INBOX_`.
// Names are Unicode here: imapflow decodes modified UTF-7 on LIST and encodes on use.
import type { MailCopyOptions } from '../config/mail.ts';

export const SPECIAL_USES = ['\\Sent', '\\Drafts', '\\Trash', '\\Junk', '\\Archive'] as const;
export type SpecialUse = (typeof SPECIAL_USES)[number];

export interface Namespace {
  prefix: string;
  delimiter: string;
}

export interface SourceFolder {
  /** Full path as the server lists it, decoded to Unicode (INBOX.Sent Items). */
  path: string;
  /** The folder's own separator from LIST (may be empty for a flat server). */
  delimiter: string;
  specialUse?: string | undefined;
}

export interface FolderMapping {
  source: string;
  target: string;
  /** Source name shown to people and matched by globs: segments joined by `/`. */
  display: string;
  /** pinned: given by the caller (copyMailbox's pinnedFolders), not by these rules. */
  reason: 'inbox' | 'rename' | 'special-use' | 'name' | 'pinned';
}

export interface MapOptions {
  include: readonly string[];
  exclude: readonly string[];
  renames: readonly { from: string; to: string }[];
  separatorEscape?: string | undefined;
}

export function mapOptionsFrom(o: MailCopyOptions): MapOptions {
  return { include: o.include, exclude: o.exclude, renames: o.renames, separatorEscape: o.separatorEscape };
}

const isInbox = (p: string): boolean => p.toUpperCase() === 'INBOX';

/** Segments of a source path below the personal prefix; [] for INBOX. */
export function sourceSegments(path: string, ns: Namespace, delimiter = ns.delimiter): string[] {
  if (isInbox(path)) return [];
  let rest = path;
  if (ns.prefix && path.toUpperCase().startsWith(ns.prefix.toUpperCase())) rest = path.slice(ns.prefix.length);
  if (!delimiter) return [rest];
  return rest.split(delimiter);
}

/** Replaces the target separator inside one segment (rule 4). */
export function escapeSegment(segment: string, targetDelimiter: string, separatorEscape?: string): string {
  if (segment === '') return '_';
  if (!targetDelimiter || !segment.includes(targetDelimiter)) return segment;
  const repl = separatorEscape ?? (targetDelimiter === '/' ? '\u2215' : targetDelimiter === '.' ? '\u2024' : '_');
  return segment.split(targetDelimiter).join(repl);
}

export function joinTarget(segments: readonly string[], ns: Namespace): string {
  if (segments.length === 0) return 'INBOX';
  const path = `${ns.prefix}${segments.join(ns.delimiter)}`;
  return isInbox(path) ? 'INBOX_' : path;
}

/** Glob over `/`-joined names: `*` any run inside a segment, `**` anything, `?` one character. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'iu');
}

export function isIncluded(display: string, o: Pick<MapOptions, 'include' | 'exclude'>): boolean {
  const name = display === '' ? 'INBOX' : display;
  if (o.exclude.some((g) => globToRegExp(g).test(name))) return false;
  return o.include.length === 0 || o.include.some((g) => globToRegExp(g).test(name)) || (name === 'INBOX' && o.include.includes('**'));
}

const splitConfigName = (n: string): string[] => n.split('/').filter((s) => s !== '');

/**
 * Maps every source folder to its target path. `targetSpecial` names the target's
 * folder for each special use (from its LIST); folders excluded by the globs are left out.
 */
export function mapFolders(
  folders: readonly SourceFolder[],
  sourceNs: Namespace,
  targetNs: Namespace,
  targetSpecial: Partial<Record<string, string>>,
  o: MapOptions,
): { mappings: FolderMapping[]; warnings: string[] } {
  const warnings: string[] = [];
  // Source special-use folders as segment lists, so subfolders can follow their parent.
  const special: { segs: string[]; target: string[] }[] = [];
  for (const f of folders) {
    const use = f.specialUse;
    if (!use || !(SPECIAL_USES as readonly string[]).includes(use) || isInbox(f.path)) continue;
    const t = targetSpecial[use];
    if (!t) continue;
    special.push({ segs: sourceSegments(f.path, sourceNs, f.delimiter || sourceNs.delimiter), target: sourceSegments(t, targetNs) });
  }
  const renames = o.renames.map((r) => ({ from: splitConfigName(r.from), to: splitConfigName(r.to) }));
  const startsWith = (segs: string[], pre: string[]): boolean =>
    pre.length > 0 && pre.length <= segs.length && pre.every((p, i) => p.toLowerCase() === (segs[i] as string).toLowerCase());

  const mappings: FolderMapping[] = [];
  const byTarget = new Map<string, string>();
  for (const f of folders) {
    const segs = sourceSegments(f.path, sourceNs, f.delimiter || sourceNs.delimiter);
    const display = segs.join('/');
    if (!isIncluded(display, o)) continue;
    let target: string;
    let reason: FolderMapping['reason'];
    const rename = renames.filter((r) => startsWith(segs, r.from)).sort((a, b) => b.from.length - a.from.length)[0];
    const sp = special.filter((s) => startsWith(segs, s.segs)).sort((a, b) => b.segs.length - a.segs.length)[0];
    const esc = (s: string[]): string[] => s.map((x) => escapeSegment(x, targetNs.delimiter, o.separatorEscape));
    if (segs.length === 0) {
      target = 'INBOX';
      reason = 'inbox';
    } else if (rename) {
      // The rename's target segments are the administrator's words: only the rest is escaped.
      target = joinTarget(
        [...rename.to.map((x) => escapeSegment(x, targetNs.delimiter, o.separatorEscape)), ...esc(segs.slice(rename.from.length))],
        targetNs,
      );
      reason = 'rename';
    } else if (sp) {
      target = joinTarget([...sp.target, ...esc(segs.slice(sp.segs.length))], targetNs);
      reason = 'special-use';
    } else {
      target = joinTarget(esc(segs), targetNs);
      reason = 'name';
    }
    const key = target.toLowerCase();
    const other = byTarget.get(key);
    if (other !== undefined)
      warnings.push(`source folders "${other}" and "${f.path}" both map to "${target}": their messages are merged there`);
    else byTarget.set(key, f.path);
    mappings.push({ source: f.path, target, display: display || 'INBOX', reason });
  }
  return { mappings, warnings };
}
