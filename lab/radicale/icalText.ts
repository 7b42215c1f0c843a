// Content lines for iCalendar (RFC 5545) and vCard (RFC 6350 / 2426) text, written by
// hand for the lab's calendars and address books: CRLF line ends, lines folded at 75
// octets (never inside a UTF-8 sequence), TEXT values escaped, parameter values quoted
// when they hold `:;,`. Dates are "wall clock" strings computed with UTC arithmetic, so
// the same numbers serve a UTC time (…Z), a floating or TZID time and a DATE.

export const CRLF = '\r\n';
/** Octets per physical line, CRLF excluded (RFC 5545 §3.1, RFC 6350 §3.2). */
export const FOLD_OCTETS = 75;

function octets(codePoint: number): number {
  return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
}

/** One logical content line folded into physical lines of at most 75 octets. */
export function fold(line: string): string {
  let out = '';
  let bytes = 0;
  for (const ch of line) {
    const n = octets(ch.codePointAt(0) ?? 0);
    if (bytes + n > FOLD_OCTETS) {
      out += `${CRLF} `;
      bytes = 1;
    }
    out += ch;
    bytes += n;
  }
  return out;
}

/** A TEXT value (RFC 5545 §3.3.11): backslash, `;`, `,` and newlines escaped. */
export function text(value: string): string {
  return value.replace(/[\\;,]/g, (c) => `\\${c}`).replace(/\r?\n/g, '\\n');
}

/** A parameter value: quoted when it holds `:`, `;` or `,` (a DQUOTE cannot be written at all). */
export function param(value: string): string {
  const v = value.replace(/"/g, "'");
  return /[:;,]/.test(v) ? `"${v}"` : v;
}

/** Parameter values by name; a list is written as comma-separated values (`TYPE=work,voice`). */
export type Params = Record<string, string | readonly string[] | undefined>;

/** `NAME;P1=v1;P2=v2:value`, folded. `value` is written as given (escape TEXT with text()). */
export function line(name: string, value: string, params: Params = {}): string {
  let head = name;
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined) head += `;${k}=${typeof v === 'string' ? param(v) : v.map(param).join(',')}`;
  }
  return fold(`${head}:${value}`);
}

/** Lines joined with CRLF, with the final CRLF. */
export function lines(all: readonly string[]): string {
  return `${all.join(CRLF)}${CRLF}`;
}

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** `YYYYMMDD` of the UTC date of `t`. */
export function dateValue(t: number): string {
  const d = new Date(t);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
}

/** `YYYYMMDDTHHMMSS` of `t` read as UTC (append Z for UTC, or use with a TZID as wall-clock time). */
export function localValue(t: number): string {
  const d = new Date(t);
  return `${dateValue(t)}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
}

export function utcValue(t: number): string {
  return `${localValue(t)}Z`;
}

/** Monday 00:00 UTC of the week holding `t`. */
export function mondayOf(t: number): number {
  const day = Math.floor(t / DAY_MS) * DAY_MS;
  // 1970-01-01 was a Thursday: (days + 3) % 7 is 0 on Mondays.
  return day - ((Math.floor(t / DAY_MS) + 3) % 7) * DAY_MS;
}

/** RFC 4122-shaped lower-case UUID from 16 bytes. */
export function uuidOf(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
