// Flags and keywords across servers. System flags always go; a keyword goes only if the
// target's PERMANENTFLAGS allows it (`\*` = any new keyword, else the listed ones) and it
// is a valid atom; `keywordMap` may rename it first. A refused keyword is dropped and
// reported, never sent (a refused flag would fail the APPEND, and the message with it).
const SYSTEM = new Map(
  ['\\seen', '\\answered', '\\flagged', '\\deleted', '\\draft'].map((f) => [f, `\\${f[1]?.toUpperCase()}${f.slice(2)}`]),
);
// RFC 3501 atom-specials plus `\` (only system flags may start with it) and `]`.
// biome-ignore lint/suspicious/noControlCharactersInRegex: CTL characters are atom-specials (RFC 3501)
const BAD_ATOM = /[(){ %*"\\\]\x00-\x1f\x7f-\uffff]/;

export interface FlagPolicy {
  /** The target folder's PERMANENTFLAGS; undefined when the server did not say (all allowed). */
  permanent: ReadonlySet<string> | undefined;
  keywordMap: Readonly<Record<string, string>>;
}

/** Target flags for a source flag set (sorted, deduplicated) and the keywords refused. */
export function mapFlags(source: Iterable<string>, p: FlagPolicy): { flags: string[]; refused: string[] } {
  const out = new Set<string>();
  const refused: string[] = [];
  const perm = p.permanent ? new Set([...p.permanent].map((f) => f.toLowerCase())) : undefined;
  for (const f of source) {
    const sys = SYSTEM.get(f.toLowerCase());
    if (sys) {
      out.add(sys);
      continue;
    }
    if (f.startsWith('\\')) continue; // \Recent and unknown system flags cannot be set
    const kw = p.keywordMap[f] ?? f;
    const allowed = !BAD_ATOM.test(kw) && kw.length > 0 && (!perm || perm.has('\\*') || perm.has(kw.toLowerCase()));
    if (allowed) out.add(kw);
    else refused.push(f);
  }
  return { flags: [...out].sort(), refused };
}

export const flagKey = (flags: readonly string[]): string => [...flags].sort().join(' ');
