// Verification of a calendar copy: every object of every source collection is on the target,
// found by UID, with the same content by canonical comparison (canonical.ts). Objects the
// target has besides (its own meetings) are not differences. Calendar items and vCards are
// counted apart, so the mailbox's report shows them beside its mail.
import { canonical, uidOf } from './canonical.ts';
import type { DavServer } from './dav.ts';
import type { CalendarVerifyReport, CollectionInfo } from './types.ts';

export async function verifyCalendars(input: {
  source: DavServer;
  target: DavServer;
  sourceLogin: string;
  targetLogin: string;
}): Promise<CalendarVerifyReport> {
  const sourceCols = await input.source.collections(await input.source.homeOf(input.sourceLogin));
  const targetCols = new Map((await input.target.collections(await input.target.homeOf(input.targetLogin))).map((c) => [c.name, c]));
  const collections: CalendarVerifyReport['collections'] = [];
  for (const c of sourceCols) {
    const src = await input.source.everything(c.url, c.kind);
    const there = targetCols.get(c.name);
    const tgt = there ? await input.target.everything(there.url, there.kind) : [];
    const byUid = new Map(tgt.map((o) => [uidOf(o.data) ?? o.url, canonical(o.data)]));
    const missing: string[] = [];
    const different: string[] = [];
    for (const o of src) {
      const uid = uidOf(o.data) ?? o.url;
      if (!byUid.has(uid)) missing.push(uid);
      else if (byUid.get(uid) !== canonical(o.data)) different.push(uid);
    }
    collections.push({
      name: c.name,
      kind: c.kind,
      source: src.length,
      intact: src.length - missing.length - different.length,
      missing,
      different,
    });
  }
  const sum = (kind: CollectionInfo['kind']) => {
    const mine = collections.filter((c) => c.kind === kind);
    return { source: mine.reduce((a, c) => a + c.source, 0), intact: mine.reduce((a, c) => a + c.intact, 0) };
  };
  const calendarItems = sum('calendar');
  const contactItems = sum('addressbook');
  return {
    sourceLogin: input.sourceLogin,
    targetLogin: input.targetLogin,
    collections,
    calendarItems,
    contactItems,
    ok: collections.every((c) => c.missing.length === 0 && c.different.length === 0),
  };
}
