// Writes messages straight into Maildir++ folders, the fastest way to a large corpus
// (LAB-NOTES): file name with S= (size) and W= (virtual, CRLF) so Dovecot never has to
// read a file to learn its size, mtime = INTERNALDATE (what Dovecot's maildir uses),
// flags in the `:2,` suffix, keywords as letters mapped by `dovecot-keywords`, and our
// own `dovecot-uidlist` so UIDs follow date order and UIDVALIDITY is deterministic.
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type SystemFlag = '\\Seen' | '\\Answered' | '\\Flagged' | '\\Draft';

/** The keywords of the corpus, in `dovecot-keywords` order (index → letter a, b, …). */
export const KEYWORDS = ['$Forwarded', '$MDNSent', '$Junk', '$NotJunk', 'Project-Phoenix'] as const;
export type Keyword = (typeof KEYWORDS)[number];

const FLAG_LETTER: Record<SystemFlag, string> = { '\\Draft': 'D', '\\Flagged': 'F', '\\Answered': 'R', '\\Seen': 'S' };

export interface StoredMessage {
  data: Buffer;
  internalDate: Date;
  flags: SystemFlag[];
  keywords: Keyword[];
}

export interface FolderTotals {
  messages: number;
  /** Sum of RFC822.SIZE as IMAP reports it (LF stored, CRLF served). */
  bytes: number;
}

/** RFC822.SIZE of a message stored with bare LF line ends. */
export function virtualSize(data: Buffer): number {
  let lf = 0;
  for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) lf++;
  return data.length + lf;
}

function flagSuffix(m: StoredMessage): string {
  const sys = m.flags.map((f) => FLAG_LETTER[f]).sort();
  const kw = m.keywords.map((k) => String.fromCharCode(97 + KEYWORDS.indexOf(k))).sort();
  return `:2,${sys.join('')}${kw.join('')}`;
}

/** Creates an (empty) Maildir folder: cur/new/tmp, plus the Maildir++ marker for subfolders. */
export function createMaildir(dir: string, isSubfolder: boolean): void {
  for (const d of ['cur', 'new', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
  if (isSubfolder) writeFileSync(join(dir, 'maildirfolder'), '');
  writeFileSync(join(dir, 'dovecot-keywords'), KEYWORDS.map((k, i) => `${i} ${k}\n`).join(''));
}

/**
 * Writes `messages` (already in date order: UID 1 is the oldest) into `dir/cur`.
 * `uidValidity` and `guid` (32 hex) make the folder's identity reproducible.
 */
export function writeMaildirMessages(
  dir: string,
  messages: Iterable<StoredMessage>,
  uidValidity: number,
  guid: string,
  tag: string,
): FolderTotals {
  const lines: string[] = [];
  let uid = 0;
  let bytes = 0;
  for (const m of messages) {
    uid++;
    const vsize = virtualSize(m.data);
    bytes += vsize;
    const secs = Math.floor(m.internalDate.getTime() / 1000);
    const base = `${secs}.M${uid}P${tag}.crossforest,S=${m.data.length},W=${vsize}`;
    const file = join(dir, 'cur', `${base}${flagSuffix(m)}`);
    writeFileSync(file, m.data);
    utimesSync(file, m.internalDate, m.internalDate);
    lines.push(`${uid} :${base}`);
  }
  writeFileSync(join(dir, 'dovecot-uidlist'), `3 V${uidValidity} N${uid + 1} G${guid}\n${lines.map((l) => `${l}\n`).join('')}`);
  return { messages: uid, bytes };
}
