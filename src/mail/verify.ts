// `mailbox verify`: an independent comparison of source and target, folder by folder,
// that reads both servers and ignores the copy state entirely: counts, sizes, content
// fingerprints (multiset), flags/keywords and internal dates. Fidelity = the fraction
// of source messages found intact (same fingerprint, flags and date) on the target.
import type { ImapFlow } from 'imapflow';
import type { MailCopyOptions } from '../config/mail.ts';
import { type Logger, silentLogger } from '../util/logger.ts';
import { fingerprintOf, headerBlock, headerFingerprint, messageIdOf, subjectOf } from './fingerprint.ts';
import { flagKey, mapFlags } from './flags.ts';
import { mapFolders, mapOptionsFrom } from './folderMap.ts';
import type { MailEndpoint } from './types.ts';

export interface VerifyDifference {
  folder: string;
  kind: 'missing' | 'extra' | 'flags' | 'date' | 'folder-missing';
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
  logger?: Logger;
}): Promise<VerifyReport> {
  const log = (input.logger ?? silentLogger).child({ scope: 'mail-verify', source: input.sourceMailbox });
  const [src, tgt] = await Promise.all([input.source.open(), input.target.open()]);
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
      const pool = new Map<string, Item[]>();
      for (const x of t) pool.set(x.fp, [...(pool.get(x.fp) ?? []), x]);
      let intact = 0;
      for (const x of s) {
        const cands = pool.get(x.fp) ?? [];
        // Prefer a candidate that is also intact in flags and date (duplicates of one message).
        const i = Math.max(
          0,
          cands.findIndex((c) => c.flags === x.flags && Math.abs(c.date - x.date) < 1000),
        );
        const y = cands.splice(i, 1)[0];
        const who = { folder: m.source, uid: x.uid, messageId: messageIdOf(x.header), subject: subjectOf(x.header) };
        if (!y) {
          differences.push({ ...who, kind: 'missing', detail: `not on the target (${x.size} bytes)` });
          continue;
        }
        let ok = true;
        if (y.flags !== x.flags) {
          ok = false;
          differences.push({ ...who, kind: 'flags', detail: `source "${x.flags}", target "${y.flags}"` });
        }
        if (Math.abs(y.date - x.date) >= 1000) {
          ok = false;
          differences.push({
            ...who,
            kind: 'date',
            detail: `source ${new Date(x.date).toISOString()}, target ${new Date(y.date).toISOString()}`,
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
