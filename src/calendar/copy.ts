// Copies a user's calendars, task lists and address books from the source organization's
// CalDAV/CardDAV server to the target's: every collection is created on the target with its
// name, display name, colour, description and components; every object is written unchanged
// (the text as the source stores it), keyed by UID (an object the target already holds under
// another name is written over, not doubled). A later pass copies only what changed: by
// sync-collection (RFC 6578) from the last token where the source offers it, else by
// comparing ETags. Deletions on the source are reported, and applied on the target only with
// deleteOnTarget (the mail copy's policy). Objects the target refuses are skipped items with
// the server's words, held against the bad item limit.
import pLimit from 'p-limit';
import type { StateStore } from '../state/store.ts';
import type { Logger } from '../util/logger.ts';
import { collectionState, forgetObjects, type ObjectState, objectStates, recordObjects, recordSyncToken } from './calendarState.ts';
import { uidOf } from './canonical.ts';
import type { DavServer } from './dav.ts';
import { CalendarCopyError } from './errors.ts';
import type { CalendarCopyReport, CollectionCopyReport, CollectionInfo } from './types.ts';

export interface CalendarCopyInput {
  source: DavServer;
  target: DavServer;
  sourceLogin: string;
  targetLogin: string;
  store: StateStore;
  deleteOnTarget: boolean;
  /** Objects the target may refuse before the copy fails (the mailbox's bad item limit). */
  badItemLimit: number;
  logger: Logger;
  /** Per collection, as it finishes. */
  progress?: (c: CollectionCopyReport) => void;
}

const fileName = (url: string): string => url.replace(/\/$/, '').split('/').pop() ?? '';

/** uid → url of what a target collection holds already (a merge into a collection that existed). */
async function targetIndex(target: DavServer, c: CollectionInfo, url: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const o of await target.everything(url, c.kind)) {
    const uid = uidOf(o.data);
    if (uid) out.set(uid, o.url);
  }
  return out;
}

async function copyCollection(
  input: CalendarCopyInput,
  c: CollectionInfo,
  targetUrl: string,
  created: boolean,
): Promise<CollectionCopyReport> {
  const { source, target, store } = input;
  const state = await collectionState(store, input, c.url, targetUrl, c.kind);
  const known = await objectStates(store, state.id);
  let changed: string[];
  let deleted: string[];
  let method: CollectionCopyReport['method'];
  // The token read with the collection list, before the objects: a change made meanwhile is seen again next time, never lost.
  let token: string | null = c.syncToken ?? null;
  // The collection's token as listed is the one stored: nothing changed since (RFC 6578), no REPORT needed.
  const unchanged = known.size > 0 && state.syncToken !== null && c.syncToken !== undefined && c.syncToken === state.syncToken;
  const delta = unchanged
    ? { changed: [], deleted: [], token: state.syncToken as string }
    : known.size > 0 && state.syncToken
      ? await source.changesSince(c.url, state.syncToken)
      : undefined;
  let total: number;
  if (delta) {
    method = 'sync-collection';
    changed = delta.changed;
    deleted = delta.deleted.filter((u) => known.has(u));
    token = delta.token;
    total = known.size + changed.filter((u) => !known.has(u)).length - deleted.length;
  } else {
    const etags = await source.etags(c.url);
    method = known.size ? 'etags' : 'full';
    changed = [...etags].filter(([u, e]) => known.get(u)?.sourceEtag !== e || !e).map(([u]) => u);
    deleted = [...known.keys()].filter((u) => !etags.has(u));
    total = etags.size;
  }
  const index = !created && known.size === 0 ? await targetIndex(target, c, targetUrl) : new Map<string, string>();
  const report: CollectionCopyReport = {
    name: c.name,
    kind: c.kind,
    created,
    objects: total,
    copied: 0,
    updated: 0,
    unchanged: Math.max(0, total - changed.length),
    deletedOnSource: deleted.length,
    deletedOnTarget: 0,
    skipped: [],
    method,
  };
  const written: ObjectState[] = [];
  const limit = pLimit(target.concurrency);
  const objects = await source.multiget(c.url, c.kind, changed);
  await Promise.all(
    objects.map((o) =>
      limit(async () => {
        const uid = uidOf(o.data) ?? fileName(o.url);
        const prev = known.get(o.url);
        const to = prev?.targetUrl ?? index.get(uid) ?? `${targetUrl}${fileName(o.url)}`;
        const r = await target.put(to, c.kind, o.data);
        if (!r.ok) {
          report.skipped.push({ collection: c.name, uid, reason: r.reason });
          input.logger.warn({ collection: c.name, uid, reason: r.reason }, 'the target refused an object: skipped');
          return;
        }
        written.push({ sourceUrl: o.url, uid, sourceEtag: o.etag, targetUrl: to });
        if (prev || index.has(uid)) report.updated++;
        else report.copied++;
      }),
    ),
  );
  await recordObjects(store, state.id, written);
  if (deleted.length) {
    if (input.deleteOnTarget) {
      for (const u of deleted) await target.remove(known.get(u)?.targetUrl as string);
      report.deletedOnTarget = deleted.length;
    }
    await forgetObjects(store, state.id, deleted);
  }
  await recordSyncToken(store, state.id, token);
  return report;
}

/** Copies every collection of the source user's home into the target user's home. */
export async function copyCalendars(input: CalendarCopyInput): Promise<CalendarCopyReport> {
  const started = Date.now();
  const { source, target } = input;
  const sourceHome = await source.homeOf(input.sourceLogin);
  const targetHome = await target.homeOf(input.targetLogin);
  const collections = await source.collections(sourceHome);
  let existing = await target.collections(targetHome);
  if (collections.length && existing.length === 0) {
    // A home nobody has opened yet may not exist: make it (a plain collection), as a first login would.
    await target.ensureHome(targetHome);
    existing = await target.collections(targetHome);
  }
  const byName = new Map(existing.map((c) => [c.name, c]));
  const reports: CollectionCopyReport[] = [];
  for (const c of collections) {
    const there = byName.get(c.name);
    const url = there?.url ?? `${targetHome}${encodeURIComponent(c.name)}/`;
    if (there && there.kind !== c.kind)
      throw new CalendarCopyError('CF_ERR_CALDAV', `${url} is a ${there.kind} on the target, the source's ${c.name} a ${c.kind}`, {
        object: url,
        hint: 'rename or remove the target collection, then copy again',
      });
    if (!there) await target.create(url, c);
    else if (there.displayName !== c.displayName || there.color !== c.color || there.description !== c.description)
      await target.setProperties(url, c);
    const r = await copyCollection(input, c, url, !there);
    reports.push(r);
    input.progress?.(r);
  }
  const skipped = reports.flatMap((r) => r.skipped);
  const totals = {
    events: reports.filter((r) => r.kind === 'calendar').reduce((a, r) => a + r.objects, 0),
    contacts: reports.filter((r) => r.kind === 'addressbook').reduce((a, r) => a + r.objects, 0),
    copied: reports.reduce((a, r) => a + r.copied, 0),
    updated: reports.reduce((a, r) => a + r.updated, 0),
    skipped: skipped.length,
    deletedOnTarget: reports.reduce((a, r) => a + r.deletedOnTarget, 0),
  };
  const report: CalendarCopyReport = {
    sourceLogin: input.sourceLogin,
    targetLogin: input.targetLogin,
    collections: reports,
    totals,
    ms: Date.now() - started,
  };
  if (skipped.length > input.badItemLimit)
    throw Object.assign(
      new CalendarCopyError(
        'CF_ERR_CALENDAR_LIMIT',
        `the target refused ${skipped.length} calendar/contact objects of ${input.sourceLogin}, over the bad item limit ${input.badItemLimit} (first: ${skipped[0]?.collection} UID ${skipped[0]?.uid}: ${skipped[0]?.reason})`,
        { object: input.sourceLogin, hint: 'see the skipped items in the report; raise the bad item limit to accept them' },
      ),
      { report },
    );
  return report;
}
