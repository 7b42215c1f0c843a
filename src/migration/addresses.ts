// Address arithmetic of pre-stage and cutover (pure): which proxy addresses each side
// must carry. Proxy addresses are compared case-insensitively except for the prefix
// case, which marks the primary (SMTP: primary, smtp: secondary).

export const lower = (s: string): string => s.toLowerCase();

/** Adds `add` to `list` unless an equal address (any case) is there; keeps order. */
export function withProxies(list: readonly string[], add: readonly string[]): string[] {
  const out = [...list];
  const seen = new Set(out.map(lower));
  for (const a of add) {
    if (seen.has(lower(a))) continue;
    seen.add(lower(a));
    out.push(a);
  }
  return out;
}

/** A primary SMTP address demoted to a secondary one (`SMTP:x` → `smtp:x`). */
export const demote = (p: string): string => (p.startsWith('SMTP:') ? `smtp:${p.slice(5)}` : p);

/**
 * The target user's proxy addresses: its own primary first, then every address of the
 * source (the source primary demoted), X500 of the source legacyExchangeDN, and whatever
 * the object already had (the converted contact's addresses are kept, its primary demoted).
 */
export function targetProxies(o: {
  targetPrimary: string;
  sourceProxies: readonly string[];
  sourceMail: string;
  sourceLegacyExchangeDn: string | null;
  existing: readonly string[];
}): string[] {
  const primary = `SMTP:${o.targetPrimary}`;
  const existing = o.existing.filter((p) => lower(p) !== lower(primary)).map(demote);
  return withProxies(
    [primary],
    [
      ...o.sourceProxies.map(demote),
      `smtp:${o.sourceMail}`,
      ...(o.sourceLegacyExchangeDn ? [`X500:${o.sourceLegacyExchangeDn}`] : []),
      ...existing,
    ],
  );
}

/** True when every address of `need` is in `have` (any case). */
export function hasAll(have: readonly string[], need: readonly string[]): boolean {
  const h = new Set(have.map(lower));
  return need.every((n) => h.has(lower(n)));
}

/** The SMTP addresses (without prefix) among proxy addresses. */
export const smtpOf = (proxies: readonly string[]): string[] => proxies.filter((p) => /^smtp:/i.test(p)).map((p) => p.slice(5));

/** Glob (only `*`) to RegExp, case-insensitive. */
export function globMatcher(globs: readonly string[]): (id: string) => boolean {
  const res = globs.map((g) => new RegExp(`^${g.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i'));
  return (id) => res.some((r) => r.test(id.replace(/^-/, '')));
}

/** The local part of an address, safe as an account name (letters, digits, . _ -). */
export function aliasOf(address: string): string {
  const local = address.split('@')[0] ?? address;
  return (
    local
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^A-Za-z0-9._-]/g, '')
      .slice(0, 64) || 'user'
  );
}
