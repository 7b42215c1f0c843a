// `mailbox verify`: an independent comparison of source and target, folder by folder,
// that reads both servers and ignores the copy state entirely: counts, sizes, content
// fingerprints (multiset), flags/keywords and internal dates. Fidelity = the fraction
// of source messages found intact (same fingerprint, flags and date) on the target.
// Full (the default, options.verify): each message is also read back whole on both sides,
// streamed through SHA-256, so a body damaged at the same size is caught ('content'); quick
// stops at the header fingerprint.
import { createHash } from 'node:crypto';
import type { ImapFlow } from 'imapflow';
import type { MailCopyOptions } from '../config/mail.ts';
import { type Logger, silentLogger } from '../util/logger.ts';
import { MailStoreError } from './errors.ts';
import { fingerprintOf, headerBlock, headerFingerprint, messageIdOf, subjectOf } from './fingerprint.ts';
import { flagKey, mapFlags } from './flags.ts';
import { mapFolders, mapOptionsFrom } from './folderMap.ts';
import { examine, fetchBodies } from './rawFetch.ts';
import type { MailEndpoint } from './types.ts';
import { type RawWire, unbindWire } from './wire.ts';

export interface VerifyDifference {
  folder: string;
  kind: 'missing' | 'extra' | 'content' | 'flags' | 'date' | 'folder-missing';
  /** The message's UID on the target, where one was paired with it. */
  targetUid?: number;
  uid?: number;
  messageId?: string | undefined;
  subject?: string | undefined;
  detail: string;
}

export interface VerifyFolder {
  source: string;
  target: string;
  sourceMessages: number;
  targetMessages: number;
  sourceBytes: number;
  targetBytes: number;
  intact: number;
}

export interface VerifyReport {
  sourceMailbox: string;
  targetMailbox: string;
  folders: VerifyFolder[];
  differences: VerifyDifference[];
  sourceMessages: number;
  intact: number;
  /** intact / sourceMessages (1 when the source is empty). */
  fidelity: number;
}

interface Item {
  uid: number;
  fp: string;
  flags: string;
  date: number;
  size: number;
  header: Buffer;
  /** SHA-256 of the full bytes (full verify only). */
  content?: string;
}

/** Internal dates are the same when their instants are within a second (IMAP date-times have no finer grain). */
export function sameInternalDate(a: number, b: number): boolean {
  return Math.abs(a - b) < 1000;
}

/** What differs between two flag sets (flagKey strings): `+` on the target only, `-` missing there. */
function flagDifference(source: string, target: string): string {
  const s = new Set(source.split(' ').filter(Boolean));
  const t = new Set(target.split(' ').filter(Boolean));
  const missing = [...s].filter((f) => !t.has(f)).map((f) => `-${f}`);
  const extra = [...t].filter((f) => !s.has(f)).map((f) => `+${f}`);
  return [...missing, ...extra].join(' ');
}

/**
 * The SHA-256 of every message of `path`, keyed by UID: `UID FETCH 1:* (BODY.PEEK[])` on a
 * raw wire, each literal hashed as it streams (a 50 MB message is never held).
 */
async function contentHashes(wire: RawWire, path: string): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const { exists } = await examine(wire, path);
  if (exists === 0) return out;
  const end = await fetchBodies(wire, '1:*', async (body) => {
    const h = createHash('sha256');
    await body.pipe((c) => void h.update(c));
    out.set(body.uid, h.digest('hex'));
  });
  if (!end.ok)
    throw new MailStoreError(
      end.transient ? 'CF_ERR_IMAP_TRANSIENT' : 'CF_ERR_IMAP',
      `cannot read ${path} on ${wire.address}: ${end.text}`,
      {
        object: path,
        imapResponse: end.text,
      },
    );
  return out;
}

async function readFolder(c: ImapFlow, path: string): Promise<Item[]> {
  await c.mailboxOpen(path, { readOnly: true });
  const items: Item[] = [];
  const needBody: Item[] = [];
  for await (const m of c.fetch('1:*', { uid: true, flags: true, size: true, internalDate: true, headers: true }, { uid: true })) {
    const header = headerBlock(m.headers ?? Buffer.alloc(0));
    const flags = mapFlags(m.flags ?? [], { permanent: undefined, keywordMap: {} }).flags;
    const item = {
      uid: m.uid,
      fp: headerFingerprint(header, m.size ?? 0) ?? '',
      flags: flagKey(flags),
      date: m.internalDate ? new Date(m.internalDate).getTime() : 0,
      size: m.size ?? 0,
      header,
    };
    items.push(item);
    if (!item.fp) needBody.push(item);
  }
  for (const it of needBody) {
    const m = await c.fetchOne(String(it.uid), { uid: true, source: true }, { uid: true });
    it.fp = m !== false && m.source ? fingerprintOf(m.source) : `missing:${it.uid}`;
  }
  return items;
}

export async function verifyMailbox(input: {
  source: MailEndpoint;
  target: MailEndpoint;
  sourceMailbox: string;
  targetMailbox: string;
  options: MailCopyOptions;
  /** Overrides options.verify: `quick` compares header fingerprints only. */
  depth?: 'full' | 'quick';
  logger?: Logger;
}): Promise<VerifyReport> {
  const log = (input.logger ?? silentLogger).child({ scope: 'mail-verify', source: input.sourceMailbox });
  const full = (input.depth ?? input.options.verify ?? 'full') === 'full';
  const [src, tgt] = await Promise.all([input.source.open(), input.target.open()]);
  // Full: one more session per side, handed over as a raw wire for the bodies.
  let wires: { src: RawWire; tgt: RawWire } | undefined;
  const folders: VerifyFolder[] = [];
  const differences: VerifyDifference[] = [];
  try {
    const [sl, tl] = await Promise.all([src.list(), tgt.list()]);
    const special: Record<string, string> = {};
    for (const l of tl) if (l.specialUse && l.specialUseSource === 'extension') special[l.specialUse] ??= l.path;
    const { mappings } = mapFolders(
      sl
        .filter((l) => !l.flags.has('\\Noselect') && !l.flags.has('\\NonExistent'))
        .map((l) => ({ path: l.path, delimiter: l.delimiter, specialUse: l.specialUseSource === 'extension' ? l.specialUse : undefined })),
      { prefix: src.namespace?.prefix ?? '', delimiter: src.namespace?.delimiter ?? '/' },
      { prefix: tgt.namespace?.prefix ?? '', delimiter: tgt.namespace?.delimiter ?? '/' },
      special,
      mapOptionsFrom(input.options),
    );
    const have = new Set(tl.map((l) => l.path.toLowerCase()));
    if (full) {
      const [a, b] = await Promise.allSettled([input.source.open(), input.target.open()]);
      if (a.status === 'rejected' || b.status === 'rejected') {
        if (a.status === 'fulfilled') a.value.close();
        if (b.status === 'fulfilled') b.value.close();
        throw a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason;
      }
      wires = {
        src: unbindWire(a.value, input.source.address, input.source.timeoutMs),
        tgt: unbindWire(b.value, input.target.address, input.target.timeoutMs),
      };
    }
    for (const m of mappings) {
      const s = await readFolder(src, m.source);
      if (!have.has(m.target.toLowerCase())) {
        differences.push({
          folder: m.source,
          kind: 'folder-missing',
          detail: `target folder ${m.target} does not exist (${s.length} messages)`,
        });
        folders.push({
          source: m.source,
          target: m.target,
          sourceMessages: s.length,
          targetMessages: 0,
          sourceBytes: s.reduce((a, x) => a + x.size, 0),
          targetBytes: 0,
          intact: 0,
        });
        continue;
      }
      const t = await readFolder(tgt, m.target);
      if (wires) {
        const w = wires;
        const [sh, th] = await Promise.all([contentHashes(w.src, m.source), contentHashes(w.tgt, m.target)]);
        for (const x of s) x.content = sh.get(x.uid);
        for (const y of t) y.content = th.get(y.uid);
      }
      const pool = new Map<string, Item[]>();
      for (const x of t) pool.set(x.fp, [...(pool.get(x.fp) ?? []), x]);
      let intact = 0;
      for (const x of s) {
        const cands = pool.get(x.fp) ?? [];
        // Prefer a candidate that is also intact in content, flags and date (duplicates of one message).
        const i = Math.max(
          0,
          cands.findIndex((c) => c.content === x.content && c.flags === x.flags && sameInternalDate(c.date, x.date)),
        );
        const y = cands.splice(i, 1)[0];
        const who = { folder: m.source, uid: x.uid, messageId: messageIdOf(x.header), subject: subjectOf(x.header) };
        if (!y) {
          differences.push({ ...who, kind: 'missing', detail: `not on the target (${x.size} bytes)` });
          continue;
        }
        let ok = true;
        const at = `target ${m.target} UID ${y.uid}`;
        if (x.content !== y.content) {
          ok = false;
          differences.push({
            ...who,
            targetUid: y.uid,
            kind: 'content',
            detail: `the bytes differ (${at}; same Message-ID, size and header): source SHA-256 ${x.content ?? 'unread'}, target ${y.content ?? 'unread'}`,
          });
        }
        if (y.flags !== x.flags) {
          ok = false;
          differences.push({
            ...who,
            targetUid: y.uid,
            kind: 'flags',
            detail: `flags/keywords differ on ${at} (${flagDifference(x.flags, y.flags)}): source "${x.flags}", target "${y.flags}"`,
          });
        }
        if (!sameInternalDate(y.date, x.date)) {
          ok = false;
          differences.push({
            ...who,
            targetUid: y.uid,
            kind: 'date',
            detail: `internal date differs on ${at}: source ${new Date(x.date).toISOString()}, target ${new Date(y.date).toISOString()}`,
          });
        }
        if (ok) intact++;
      }
      for (const rest of pool.values())
        for (const y of rest)
          differences.push({
            folder: m.source,
            uid: y.uid,
            messageId: messageIdOf(y.header),
            subject: subjectOf(y.header),
            kind: 'extra',
            detail: `on the target (${m.target} UID ${y.uid}) only`,
          });
      folders.push({
        source: m.source,
        target: m.target,
        sourceMessages: s.length,
        targetMessages: t.length,
        sourceBytes: s.reduce((a, x) => a + x.size, 0),
        targetBytes: t.reduce((a, x) => a + x.size, 0),
        intact,
      });
      log.debug({ folder: m.source, intact, of: s.length }, 'folder verified');
    }
  } finally {
    wires?.src.close();
    wires?.tgt.close();
    await Promise.allSettled([src.logout(), tgt.logout()]);
  }
  const sourceMessages = folders.reduce((a, f) => a + f.sourceMessages, 0);
  const intact = folders.reduce((a, f) => a + f.intact, 0);
  return {
    sourceMailbox: input.sourceMailbox,
    targetMailbox: input.targetMailbox,
    folders,
    differences,
    sourceMessages,
    intact,
    fidelity: sourceMessages === 0 ? 1 : intact / sourceMessages,
  };
}
