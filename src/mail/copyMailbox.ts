// copyMailbox: one mailbox from the source store to the target store, every folder,
// every message, flags, keywords, dates, subscriptions and ACLs; a re-run is a delta.
// The migration pipeline calls this; `crossforest mailbox copy` is a thin wrapper.
//
// Shape of a run: take the lease on the target mailbox → one control session per side
// lists folders with LIST-STATUS → map, create, subscribe, copy ACLs → folders whose
// STATUS matches the state of the last pass are skipped without a SELECT (the
// no-change re-run) → the rest go to `concurrency` workers, each with its own four
// connections (control + raw data per side), retried with back-off on dropped
// connections and transient answers → report. Every message first waits for the
// mailbox's throttle and for its two stores' (storeThrottle.ts: shared by every copy in
// the process, from the endpoints' storeLimits), so callers pass nothing for them.
import type { ImapFlow, ListResponse } from 'imapflow';
import { newLeaseHolder } from '../state/store.ts';
import { silentLogger } from '../util/logger.ts';
import { copyFolderAcl } from './acl.ts';
import { copyFolder, type DataLane, type FolderJob, type FolderWorker } from './copyFolder.ts';
import { type FolderState, finishRun, folderStates, foldersWithSkipped, startRun } from './copyState.ts';
import { MailStoreError, toMailStoreError } from './errors.ts';
import { type FolderMapping, mapFolders, mapOptionsFrom, type Namespace } from './folderMap.ts';
import { buildReport, emptyFolderReport } from './report.ts';
import { CopyLimitError, isTransient, withRetries } from './retry.ts';
import { copyThrottle } from './storeThrottle.ts';
import type { AclReport, CopyMailboxInput, CopyReport, FolderReport, MailEndpoint, SkippedItem } from './types.ts';
import { unbindWire } from './wire.ts';

const LEASE_TTL_MS = 30_000;
/** The longest a dead copy's lease can still stand in the way. */
export const COPY_LEASE_TTL_MS = LEASE_TTL_MS;
const DEAD_HOLDER_SETTLE_MS = 3_000;
/** Listed messages per folder worker (see the copy phase). */
const WORKER_MESSAGES = 500;
const STATUS_QUERY = { messages: true, uidNext: true, uidValidity: true, highestModseq: true, size: true } as const;

export const leaseName = (targetMailbox: string): string => `mail-copy:${targetMailbox.toLowerCase()}`;

async function safeLogout(c: ImapFlow | undefined): Promise<void> {
  if (!c) return;
  try {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([c.logout(), new Promise((r) => (timer = setTimeout(r, 2_000)))]).finally(() => clearTimeout(timer));
  } catch {
    /* already gone */
  }
  c.close();
}

async function openLane(source: MailEndpoint, target: MailEndpoint): Promise<DataLane> {
  const [s, t] = await Promise.allSettled([source.open(), target.open()]);
  if (s.status === 'rejected' || t.status === 'rejected') {
    if (s.status === 'fulfilled') s.value.close();
    if (t.status === 'fulfilled') t.value.close();
    throw s.status === 'rejected' ? s.reason : (t as PromiseRejectedResult).reason;
  }
  return { srcWire: unbindWire(s.value, source.address, source.timeoutMs), tgtWire: unbindWire(t.value, target.address, target.timeoutMs) };
}

async function openWorker(source: MailEndpoint, target: MailEndpoint): Promise<FolderWorker> {
  const [ctl, lane] = await Promise.allSettled([Promise.all([source.open(), target.open()]), openLane(source, target)]);
  if (ctl.status === 'rejected' || lane.status === 'rejected') {
    if (ctl.status === 'fulfilled') for (const c of ctl.value) c.close();
    if (lane.status === 'fulfilled') closeLane(lane.value);
    throw ctl.status === 'rejected' ? ctl.reason : (lane as PromiseRejectedResult).reason;
  }
  const [srcCtl, tgtCtl] = ctl.value;
  return { srcCtl, tgtCtl, ...lane.value, extra: [], openLane: () => openLane(source, target) };
}

function closeLane(l: DataLane): void {
  l.srcWire.close();
  l.tgtWire.close();
}

async function closeWorker(w: FolderWorker | undefined): Promise<void> {
  if (!w) return;
  for (const l of [w, ...w.extra]) closeLane(l);
  await Promise.all([safeLogout(w.srcCtl), safeLogout(w.tgtCtl)]);
}

const nsOf = (c: ImapFlow, list: ListResponse[]): Namespace =>
  c.namespace
    ? { prefix: c.namespace.prefix ?? '', delimiter: c.namespace.delimiter ?? '/' }
    : { prefix: '', delimiter: list.find((l) => l.delimiter)?.delimiter ?? '/' };

/** The use → path map of a side's special folders; names guessed only when the server lacks SPECIAL-USE. */
function specialFolders(c: ImapFlow, list: ListResponse[]): Record<string, string> {
  const trustNames = !c.capabilities.has('SPECIAL-USE');
  const out: Record<string, string> = {};
  for (const l of list)
    if (l.specialUse && l.specialUse !== '\\Inbox' && (l.specialUseSource === 'extension' || trustNames)) out[l.specialUse] ??= l.path;
  return out;
}

function withSpecialUse(c: ImapFlow, list: ListResponse[]): ListResponse[] {
  const trustNames = !c.capabilities.has('SPECIAL-USE');
  return list.map((l) => (l.specialUseSource === 'extension' || trustNames ? l : { ...l, specialUse: undefined }));
}

/**
 * Without the folders of other users' and public namespaces (RFC 2342 NAMESPACE): another
 * mailbox's mail, never this one's (a server whose personal prefix is empty lists them too).
 */
function ownFolders(c: ImapFlow, list: ListResponse[]): ListResponse[] {
  const ns = c.namespaces;
  const foreign = [...(ns?.other || []), ...(ns?.shared || [])].map((n) => (n.prefix ?? '').toLowerCase()).filter((p) => p !== '');
  if (foreign.length === 0) return list;
  return list.filter((l) => !foreign.some((p) => `${l.path}${l.delimiter}`.toLowerCase().startsWith(p)));
}

/** True when neither side moved since the last completed pass (no SELECT needed). */
function unchanged(s: FolderState | undefined, src: ListResponse, tgt: ListResponse | undefined): boolean {
  if (!s?.completedAt || !tgt?.status || !src.status) return false;
  const a = src.status;
  const b = tgt.status;
  return (
    s.sourceUidValidity === String(a.uidValidity) &&
    s.targetUidValidity === String(b.uidValidity) &&
    s.sourceUidNext === a.uidNext &&
    s.sourceMessages === a.messages &&
    (s.sourceModseq ?? '') === String(a.highestModseq ?? '') &&
    s.targetUidNext === b.uidNext &&
    s.targetMessages === b.messages
  );
}

export async function copyMailbox(input: CopyMailboxInput): Promise<CopyReport> {
  const { source, target, store, options } = input;
  const logger = (input.logger ?? silentLogger).child({ scope: 'mail-copy', source: input.sourceMailbox, target: input.targetMailbox });
  const holder = newLeaseHolder();
  const lease = leaseName(input.targetMailbox);
  let taken = await store.takeLease(lease, holder, LEASE_TTL_MS);
  for (const until = Date.now() + (input.waitForLeaseMs ?? 0); !taken && Date.now() < until; ) {
    await new Promise((r) => setTimeout(r, 1000));
    taken = await store.takeLease(lease, holder, LEASE_TTL_MS);
  }
  const tookOver = taken === 'taken-over';
  if (tookOver) logger.warn({ lease }, 'took over the lease of a copy that died');
  if (!taken) {
    const h = await store.leaseHolder(lease);
    throw new MailStoreError(
      'CF_ERR_MAIL_LOCKED',
      `another copy into ${input.targetMailbox} is running (held by ${h?.holder ?? 'unknown'} until ${h?.expiresAt ?? '?'})`,
      {
        object: input.targetMailbox,
        hint: 'wait for it to finish; a crashed holder expires within a minute',
      },
    );
  }
  let leaseLost = false;
  const renew = setInterval(() => {
    void store.renewLease(lease, holder, LEASE_TTL_MS).then((renewed) => {
      if (!renewed) leaseLost = true;
    });
  }, LEASE_TTL_MS / 3);
  renew.unref();

  if (tookOver) {
    // The dead copy's last APPEND may still be in the server's hands (it reads the whole
    // command before it notices the client is gone) and land after our first look at the
    // target: give it time, so the fingerprint check sees it instead of copying it again.
    await new Promise((r) => setTimeout(r, DEAD_HOLDER_SETTLE_MS));
  }
  const startedAt = new Date();
  const runId = await startRun(store, input.sourceMailbox, input.targetMailbox);
  const folders: FolderReport[] = [];
  const skipped: SkippedItem[] = [];
  const acls: AclReport[] = [];
  const warnings: string[] = [];
  let mapping: FolderMapping[] = [];
  let subscribed = 0;
  let retries = 0;
  // Counted per run: skipped items are retried each run (copyFolder), so each run meets the limits afresh.
  const counts = { bad: 0, large: 0 };
  // The mailbox's own limit, and its two stores' shared by every copy in this process.
  const throttle = copyThrottle(input);
  let failure: unknown;
  // The listing's sessions, handed to the first folder worker (or closed at the end).
  let spare: { srcCtl: ImapFlow; tgtCtl: ImapFlow; lane: DataLane | undefined } | undefined;
  const takeWorker = async (): Promise<FolderWorker> => {
    const s = spare;
    spare = undefined;
    if (!s) return openWorker(source, target);
    try {
      const lane = s.lane ?? (await openLane(source, target));
      return { srcCtl: s.srcCtl, tgtCtl: s.tgtCtl, ...lane, extra: [], openLane: () => openLane(source, target) };
    } catch (err) {
      await Promise.all([safeLogout(s.srcCtl), safeLogout(s.tgtCtl)]);
      throw err;
    }
  };
  try {
    // ---- prepare: list, map, create, subscribe, ACLs (control sessions closed afterwards)
    const prepare = async (): Promise<{ srcList: ListResponse[]; tgtList: ListResponse[] }> => {
      warnings.length = 0;
      acls.length = 0;
      let srcList: ListResponse[];
      let tgtList: ListResponse[];
      let srcMain: ImapFlow | undefined;
      let tgtMain: ImapFlow | undefined;
      let aclLane: DataLane | undefined;
      let early: Promise<DataLane> | undefined;
      let kept = false;
      try {
        // The lane for ACLs (then the first folder worker's data lane) logs in alongside the
        // control sessions rather than after the listing: one round of logins per mailbox.
        early = options.copyAcls && input.identityMap ? openLane(source, target) : undefined;
        early?.catch(() => undefined); // awaited below, or closed in finally
        [srcMain, tgtMain] = await Promise.all([source.open(), target.open()]);
        [srcList, tgtList] = await Promise.all([srcMain.list({ statusQuery: STATUS_QUERY }), tgtMain.list({ statusQuery: STATUS_QUERY })]);
        srcList = ownFolders(srcMain, withSpecialUse(srcMain, srcList)).filter((l) => !l.flags.has('\\NonExistent'));
        const mapped = mapFolders(
          srcList.map((l) => ({ path: l.path, delimiter: l.delimiter, specialUse: l.specialUse })),
          nsOf(srcMain, srcList),
          nsOf(tgtMain, tgtList),
          specialFolders(tgtMain, tgtList),
          mapOptionsFrom(options),
        );
        const pinned = input.pinnedFolders;
        mapping = mapped.mappings.map((m) => {
          const target = pinned?.get(m.source);
          return target === undefined ? m : { ...m, target, reason: 'pinned' as const };
        });
        warnings.push(...mapped.warnings);
        const have = new Map(tgtList.map((l) => [l.path.toLowerCase(), l]));
        for (const m of [...mapping].sort((a, b) => a.target.length - b.target.length)) {
          if (m.target === 'INBOX' || have.has(m.target.toLowerCase())) continue;
          await tgtMain.mailboxCreate(m.target).catch((err: unknown) => {
            throw toMailStoreError(err, `create folder ${m.target}`, `${input.targetMailbox} on ${target.address}`);
          });
        }
        const srcByPath = new Map(srcList.map((l) => [l.path, l]));
        for (const m of mapping) {
          const sl = srcByPath.get(m.source);
          if (sl?.subscribed && !have.get(m.target.toLowerCase())?.subscribed) {
            await tgtMain.mailboxSubscribe(m.target);
            subscribed++;
          }
        }
        if (options.copyAcls && srcMain.capabilities.has('ACL') && tgtMain.capabilities.has('ACL') && input.identityMap) {
          const srcFlags = new Map(srcList.map((l) => [l.path, l.flags]));
          // ACL commands are raw IMAP (acl.ts): on a lane of their own, so the control
          // sessions stay imapflow's for the listing below.
          aclLane = await (early ?? openLane(source, target));
          for (const m of mapping) {
            if (srcFlags.get(m.source)?.has('\\Noselect')) continue; // a bare parent: no ACL of its own
            try {
              const r = await copyFolderAcl(
                aclLane.srcWire,
                aclLane.tgtWire,
                m.source,
                m.target,
                { source: input.sourceMailbox, target: input.targetMailbox },
                input.identityMap,
              );
              if (r.applied.length || r.unmapped.length) acls.push(r);
              for (const u of r.unmapped) warnings.push(`ACL identifier ${u} on ${m.source} has no target identity: not copied`);
            } catch (err) {
              if (isTransient(err)) throw err;
              warnings.push(`ACL of ${m.source} not copied: ${(err as Error).message}`);
            }
          }
        }
        if (mapping.some((m) => !have.has(m.target.toLowerCase()))) tgtList = await tgtMain.list({ statusQuery: STATUS_QUERY });
        if (early && !aclLane) aclLane = await early.catch(() => undefined);
        // These sessions become the first folder worker: logging in again costs each server a
        // TLS handshake, an authentication and a new IMAP process, per mailbox.
        spare = { srcCtl: srcMain, tgtCtl: tgtMain, lane: aclLane };
        kept = true;
      } finally {
        if (!kept) {
          if (aclLane) closeLane(aclLane);
          else void early?.then(closeLane, () => undefined);
          await Promise.all([safeLogout(srcMain), safeLogout(tgtMain)]);
        }
      }
      return { srcList, tgtList };
    };
    const { srcList, tgtList } = await withRetries(prepare, options, (err, attempt, waitMs) => {
      retries++;
      logger.warn({ attempt, waitMs, err: (err as Error).message }, 'transient failure while listing folders: reconnecting');
    });

    // ---- decide: unchanged folders are reported from the listing alone
    const states = new Map((await folderStates(store, input.sourceMailbox, input.targetMailbox)).map((s) => [s.sourceFolder, s]));
    const retry = await foldersWithSkipped(store, input.sourceMailbox, input.targetMailbox);
    const srcByPath = new Map(srcList.map((l) => [l.path, l]));
    const tgtByPath = new Map(tgtList.map((l) => [l.path.toLowerCase(), l]));
    const queue: (FolderMapping & FolderJob)[] = [];
    for (const m of mapping) {
      const sl = srcByPath.get(m.source) as ListResponse;
      if (sl.flags.has('\\Noselect')) continue;
      const tl = tgtByPath.get(m.target.toLowerCase());
      if (unchanged(states.get(m.source), sl, tl) && !retry.has(m.source)) folders.push(emptyFolderReport(m, sl.status, tl?.status));
      else queue.push({ ...m, sourceBytes: Number((sl.status as { size?: number | bigint } | undefined)?.size ?? 0) });
    }

    // ---- copy: workers pull folders; each folder retried on transient trouble
    const ctx = {
      store,
      sourceMailbox: input.sourceMailbox,
      targetMailbox: input.targetMailbox,
      options,
      throttle,
      logger,
      ignoreAppendUid: input.ignoreAppendUid,
      onSkipped(item: SkippedItem) {
        skipped.push(item);
        counts[item.kind]++;
        logger.warn({ ...item }, 'item skipped');
        const limit = item.kind === 'bad' ? options.badItemLimit : options.largeItemLimit;
        if (counts[item.kind] > limit) {
          throw new CopyLimitError(
            'CF_ERR_MAIL_ITEM_LIMIT',
            `${counts[item.kind]} ${item.kind} items in ${input.sourceMailbox} exceed ${item.kind === 'bad' ? 'badItemLimit' : 'largeItemLimit'} (${limit}); last: ${item.folder} UID ${item.uid}: ${item.reason}`,
            {
              object: `${input.sourceMailbox} ${item.folder} UID ${item.uid}`,
              hint: `read the skipped items in the report; raise mail.${item.kind === 'bad' ? 'badItemLimit' : 'largeItemLimit'} to accept them and run again`,
            },
          );
        }
      },
      onCopied(folder: string, bytes: number) {
        progress.copiedMessages++;
        progress.copiedBytes += bytes;
        progress.folder = folder;
        input.onProgress?.({ ...progress });
      },
    };
    const progress = { folder: '', copiedMessages: 0, copiedBytes: 0, totalMessages: 0, totalBytes: 0 };
    for (const m of queue) {
      const st = srcByPath.get(m.source)?.status;
      progress.totalMessages += st?.messages ?? 0;
      progress.totalBytes += Number((st as { size?: number } | undefined)?.size ?? 0);
    }
    let stop: unknown;
    const workerLoop = async (): Promise<void> => {
      let w: FolderWorker | undefined;
      try {
        for (let job = queue.shift(); job && !stop; job = queue.shift()) {
          if (leaseLost)
            throw new MailStoreError('CF_ERR_MAIL_LOCKED', `lost the lease on ${input.targetMailbox}`, { object: input.targetMailbox });
          const j = job;
          folders.push(
            await withRetries(
              async () => {
                w ??= await takeWorker();
                return copyFolder(ctx, w, j);
              },
              options,
              async (err, attempt, waitMs) => {
                await closeWorker(w);
                w = undefined;
                retries++;
                logger.warn({ folder: j.source, attempt, waitMs, err: (err as Error).message }, 'transient failure: reconnecting');
              },
            ),
          );
        }
      } catch (err) {
        stop ??= err;
      } finally {
        await closeWorker(w);
      }
    };
    // Folder workers by the work there is: each costs both servers two logins, and a small
    // mailbox is done before extra workers have paid for theirs (a batch runs several
    // mailboxes at once anyway). One per WORKER_MESSAGES listed messages, up to `concurrency`.
    const wanted = Math.max(1, Math.ceil(progress.totalMessages / WORKER_MESSAGES));
    await Promise.all(Array.from({ length: Math.min(options.concurrency, queue.length, wanted) }, workerLoop));
    if (stop) throw stop;
  } catch (err) {
    failure = err;
  } finally {
    if (spare) {
      const s = spare as { srcCtl: ImapFlow; tgtCtl: ImapFlow; lane: DataLane | undefined };
      if (s.lane) closeLane(s.lane);
      await Promise.all([safeLogout(s.srcCtl), safeLogout(s.tgtCtl)]);
    }
    clearInterval(renew);
    throttle.release();
    await store.releaseLease(lease, holder);
  }
  const report = buildReport({
    input,
    startedAt,
    folders,
    skipped,
    acls,
    warnings,
    mapping,
    subscribed,
    retries,
    throttles: throttle.report(),
    failure,
  });
  await finishRun(store, runId, report.status, report);
  if (failure) {
    const err = failure instanceof MailStoreError ? failure : toMailStoreError(failure, `copy ${input.sourceMailbox}`, input.sourceMailbox);
    (err as MailStoreError & { report?: CopyReport }).report = report;
    throw err;
  }
  return report;
}
