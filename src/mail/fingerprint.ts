// Content fingerprints: how the same message is recognized on two servers without any
// state (merge into a non-empty target, a changed UIDVALIDITY, an APPEND whose UID was
// never recorded because the process died). Message-ID + size + SHA-1 of the header
// block; without a Message-ID, SHA-1 of the whole message. Two different messages that
// share a Message-ID differ in size or header, so both are kept; exact copies are
// matched as a multiset (two identical source messages need two target copies).
import { createHash, type Hash } from 'node:crypto';
import { decodeEncodedWords } from '../util/encodedWords.ts';

const MAX_HEADER = 256 * 1024;

/** The header block: bytes up to and including the first empty line (or all, capped). */
export function headerBlock(message: Buffer): Buffer {
  const crlf = message.indexOf('\r\n\r\n');
  const lf = message.indexOf('\n\n');
  const ends = [crlf >= 0 ? crlf + 4 : -1, lf >= 0 ? lf + 2 : -1].filter((i) => i >= 0);
  const end = ends.length ? Math.min(...ends) : message.length;
  return message.subarray(0, Math.min(end, MAX_HEADER));
}

/** One header field's unfolded value (first occurrence), or undefined. Tolerates junk. */
export function headerField(header: Buffer | string, name: string): string | undefined {
  const text = typeof header === 'string' ? header : header.toString('latin1');
  const lines = text.split(/\r?\n/);
  const want = `${name.toLowerCase()}:`;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '') break;
    if (!line.toLowerCase().startsWith(want)) continue;
    let value = line.slice(want.length);
    while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1] as string)) value += ` ${(lines[++i] as string).trim()}`;
    return value.trim();
  }
  return undefined;
}

/** The Message-ID as `<id>` (angle brackets kept, case kept), or undefined when absent/empty. */
export function messageIdOf(header: Buffer | string): string | undefined {
  const raw = headerField(header, 'message-id');
  if (!raw) return undefined;
  const m = /<[^<>\s]*>/.exec(raw);
  const id = (m ? m[0] : raw.split(/\s+/)[0]) ?? '';
  return id === '' || id === '<>' ? undefined : id.slice(0, 998);
}

/** Subject for reports (first 500 characters): RFC 2047 words decoded, raw 8-bit read as UTF-8. */
export function subjectOf(header: Buffer): string | undefined {
  const raw = headerField(header.toString('utf8'), 'subject');
  return raw === undefined ? undefined : decodeEncodedWords(raw).slice(0, 500);
}

/**
 * The fingerprint from the header block (BODY[HEADER]) and RFC822.SIZE alone, for a message
 * with a Message-ID; undefined without one (then only the whole message can decide).
 */
export function headerFingerprint(header: Buffer, size: number): string | undefined {
  const mid = messageIdOf(header);
  if (!mid) return undefined;
  const hh = createHash('sha1').update(header).digest('hex');
  return `m:${createHash('sha1').update(`${mid}\0${size}\0${hh}`).digest('hex')}`;
}

/** The fingerprint of a whole message (both sides compute it the same way). */
export function fingerprintOf(message: Buffer): string {
  const h = new FingerprintHasher();
  h.update(message);
  return h.digest();
}

/**
 * The same fingerprint computed while the bytes stream past (the copy never holds a message),
 * and the SHA-256 of the message's full bytes (its content hash: what verify compares).
 */
export class FingerprintHasher {
  private header: Buffer[] = [];
  private headerLen = 0;
  private headerDone = false;
  private size = 0;
  private readonly body: Hash = createHash('sha1');
  /** The SHA-1 of the whole message is the fingerprint only without a Message-ID: known once the header is read. */
  private bodyNeeded = true;
  private readonly full: Hash = createHash('sha256');

  update(chunk: Buffer): void {
    this.size += chunk.length;
    this.full.update(chunk);
    if (this.bodyNeeded) this.body.update(chunk);
    if (!this.headerDone) {
      this.header.push(chunk);
      this.headerLen += chunk.length;
      const joined = Buffer.concat(this.header);
      const block = headerBlock(joined);
      if (block.length < joined.length || this.headerLen >= MAX_HEADER) {
        this.header = [block];
        this.headerDone = true;
        this.bodyNeeded = messageIdOf(block) === undefined;
      } else this.header = [joined];
    }
  }

  /** The header block seen so far (for Message-ID and Subject in reports). */
  headerBytes(): Buffer {
    return headerBlock(Buffer.concat(this.header));
  }

  digest(): string {
    const header = this.headerBytes();
    return headerFingerprint(header, this.size) ?? `b:${this.body.digest('hex')}`;
  }

  /** SHA-256 of every byte seen, hex. */
  contentDigest(): string {
    return this.full.digest('hex');
  }
}

/** Multiset matching: pairs each wanted fingerprint with one available, returning the pairs. */
export function matchFingerprints<A, B>(
  wanted: readonly { key: A; fp: string }[],
  available: readonly { key: B; fp: string }[],
): { from: A; to: B }[] {
  const pool = new Map<string, B[]>();
  for (const a of available) {
    const l = pool.get(a.fp);
    if (l) l.push(a.key);
    else pool.set(a.fp, [a.key]);
  }
  const out: { from: A; to: B }[] = [];
  for (const w of wanted) {
    const l = pool.get(w.fp);
    const to = l?.shift();
    if (to !== undefined) out.push({ from: w.key, to });
  }
  return out;
}
