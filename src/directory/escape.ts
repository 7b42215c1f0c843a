// RFC 4515 filter values and RFC 4514 DN values: every value that comes from a directory
// or a project file is escaped before it is put into a filter or a DN, so that a mail
// address such as `Atlanta/sales*@x` or a cn such as `O'Brien, Renée (Sales)` can never
// widen a search or name another entry.

/** Escapes a value for use inside an LDAP filter assertion (RFC 4515 §3). */
export function escapeFilterValue(value: string): string {
  // NUL, `(`, `)`, `*` and `\` must be escaped; we escape nothing else so filters stay readable.
  return value.replace(/[\0()*\\]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * A filter with its interpolated values escaped: ldapFilter`(mail=${addr})`.
 * Only the interpolations are escaped; the template text is trusted.
 */
export function ldapFilter(parts: TemplateStringsArray, ...values: (string | number)[]): string {
  let out = parts[0] ?? '';
  values.forEach((v, i) => {
    out += escapeFilterValue(String(v)) + (parts[i + 1] ?? '');
  });
  return out;
}

/**
 * Escapes an attribute value for use in a DN (RFC 4514 §2.4).
 * Backslash is written as `\5c` rather than `\\`: ldapts splits a new DN for modifyDN at
 * the first comma not preceded by a backslash, and `\\,` would fool it.
 */
export function escapeDnValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    const code = c.charCodeAt(0);
    if (c === '\\') out += '\\5c';
    else if (code === 0) out += '\\00';
    else if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).padStart(2, '0')}`;
    else if (',+"<>;='.includes(c)) out += `\\${c}`;
    else if ((i === 0 && (c === ' ' || c === '#')) || (i === value.length - 1 && c === ' ')) out += `\\${c}`;
    else out += c;
  }
  return out;
}

export interface Rdn {
  attribute: string;
  value: string;
}

/** Splits a DN string into its RDNs (multi-valued RDNs keep their `+` parts joined), unescaping values. */
export function parseDn(dn: string): Rdn[] {
  const rdns: Rdn[] = [];
  let i = 0;
  const n = dn.length;
  while (i < n) {
    while (i < n && dn[i] === ' ') i++;
    if (i >= n) break;
    const eq = dn.indexOf('=', i);
    if (eq < 0) throw new SyntaxError(`not a DN (no "=" after position ${i}): ${dn}`);
    const attribute = dn.slice(i, eq).trim();
    if (!/^[A-Za-z][A-Za-z0-9-]*$|^\d+(\.\d+)*$/.test(attribute)) throw new SyntaxError(`not a DN (bad attribute "${attribute}"): ${dn}`);
    i = eq + 1;
    while (i < n && dn[i] === ' ') i++; // spaces around "=" (RFC 2253 servers write them); an escaped "\ " stays
    const bytes: number[] = [];
    let trailingSpaces = 0;
    while (i < n && dn[i] !== ',' && dn[i] !== ';') {
      const c = dn[i] as string;
      if (c === '\\') {
        const hex = dn.slice(i + 1, i + 3);
        if (/^[0-9a-fA-F]{2}$/.test(hex)) {
          bytes.push(Number.parseInt(hex, 16));
          i += 3;
        } else if (i + 1 < n) {
          const ch = String.fromCodePoint(dn.codePointAt(i + 1) as number);
          bytes.push(...Buffer.from(ch, 'utf8'));
          i += 1 + ch.length;
        } else throw new SyntaxError(`not a DN (dangling "\\"): ${dn}`);
        trailingSpaces = 0;
      } else {
        // By code point: a character outside the BMP is two UTF-16 units.
        const ch = String.fromCodePoint(dn.codePointAt(i) as number);
        bytes.push(...Buffer.from(ch, 'utf8'));
        trailingSpaces = c === ' ' ? trailingSpaces + 1 : 0;
        i += ch.length;
      }
    }
    const raw = bytes.slice(0, bytes.length - trailingSpaces);
    rdns.push({ attribute, value: Buffer.from(raw).toString('utf8') });
    i++; // skip the separator
  }
  return rdns;
}

/** Builds a DN from RDNs, escaping each value. */
export function formatDn(rdns: Rdn[]): string {
  return rdns.map((r) => `${r.attribute}=${escapeDnValue(r.value)}`).join(',');
}

/** One spelling per DN, for comparing and indexing: attribute names and values lowercased, escapes canonical. */
export function normalizeDn(dn: string): string {
  // Fast path (most DNs): without escapes or quotes every comma separates RDNs. It gives
  // the same spelling as the full parse below, at a fraction of the cost.
  if (!dn.includes('\\') && !dn.includes('"') && !dn.includes(';')) {
    const parts = dn.split(',');
    let out = '';
    for (const part of parts) {
      const eq = part.indexOf('=');
      if (eq <= 0) return slowNormalizeDn(dn);
      const attr = part.slice(0, eq).trim().toLowerCase();
      const value = part
        .slice(eq + 1)
        .trim()
        .toLowerCase();
      out += `${out ? ',' : ''}${attr}=${escapeDnValue(value)}`;
    }
    return out;
  }
  return slowNormalizeDn(dn);
}

function slowNormalizeDn(dn: string): string {
  try {
    return formatDn(parseDn(dn).map((r) => ({ attribute: r.attribute.toLowerCase(), value: r.value.toLowerCase() })));
  } catch {
    return dn.trim().toLowerCase();
  }
}

/** `cn=x,ou=y,dc=z` → `ou=y,dc=z`. */
export function parentDn(dn: string): string {
  return formatDn(parseDn(dn).slice(1));
}

const normalizedBases = new Map<string, string>();

/** Is `dn` equal to or below `base`? (case-insensitive, escape-insensitive) */
export function isWithin(dn: string, base: string): boolean {
  let b = normalizedBases.get(base);
  if (b === undefined) {
    b = normalizeDn(base);
    if (normalizedBases.size < 10_000) normalizedBases.set(base, b); // containers: a handful
  }
  const d = normalizeDn(dn);
  return d === b || d.endsWith(`,${b}`);
}
