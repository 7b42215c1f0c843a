// Minimal RFC 2849 LDIF writer: values that are not "safe strings" (non-ASCII,
// leading space/colon/<, trailing space, control characters) and all binary values
// are base64-encoded, so non-ASCII names and objectGUID bytes survive slapadd.

export type LdifValue = string | Buffer | number | boolean;

export interface LdifEntry {
  dn: string;
  /** Attribute name → one value or several; undefined/null/empty arrays are skipped. */
  attrs: Record<string, LdifValue | readonly LdifValue[] | null | undefined>;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: RFC 2849 SAFE-STRING is defined by byte ranges, control bytes included
const SAFE = /^[\x01-\x09\x0b\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*$/;

function line(name: string, value: LdifValue): string {
  if (Buffer.isBuffer(value)) return `${name}:: ${value.toString('base64')}\n`;
  const s = typeof value === 'boolean' ? (value ? 'TRUE' : 'FALSE') : String(value);
  if (s === '') return `${name}:\n`;
  if (SAFE.test(s) && !s.endsWith(' ')) return `${name}: ${s}\n`;
  return `${name}:: ${Buffer.from(s, 'utf8').toString('base64')}\n`;
}

export function toLdif(entry: LdifEntry): string {
  let out = line('dn', entry.dn);
  for (const [name, v] of Object.entries(entry.attrs)) {
    if (v === undefined || v === null) continue;
    const values = Array.isArray(v) ? (v as readonly LdifValue[]) : [v as LdifValue];
    for (const value of values) out += line(name, value);
  }
  return `${out}\n`;
}

/** Joins entries into chunks of about `chunkBytes` so a stream writes in few, big pieces. */
export function* ldifChunks(entries: Iterable<LdifEntry>, chunkBytes = 256 * 1024): Generator<string> {
  let buf = '';
  for (const e of entries) {
    buf += toLdif(e);
    if (buf.length >= chunkBytes) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}
