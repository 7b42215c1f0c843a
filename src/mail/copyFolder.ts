// One folder's pass: compare the source with the state, carry flag changes, report (and
// optionally apply) source deletions, recognize by fingerprint what is already on the
// target (merge, crash recovery, UIDVALIDITY change), then stream the rest across.
import type { ImapFlow } from 'imapflow';
import type { MailCopyOptions } from '../config/mail.ts';
import type { StateStore } from '../state/store.ts';
import type { Logger } from '../util/logger.ts';
import {
  completeFolder,
  deleteUids,
  folderState,
  recordUid,
  recordUids,
  resetUidMap,
  setTargetUidValidity,
  type UidRow,
  uidRows,
  updateFlags,
} from './copyState.ts';
import {
  FingerprintHasher,
  fingerprintOf,
  headerBlock,
  headerFingerprint,
  matchFingerprints,
  messageIdOf,
  subjectOf,
} from './fingerprint.ts';
import { type FlagPolicy, flagKey, mapFlags } from './flags.ts';
import { type AppendResult, createAppender } from './rawAppend.ts';
import { examine, fetchBodies, type ListedMessage, listMessages } from './rawFetch.ts';
import { TransientFolderError } from './retry.ts';
import type { Throttle } from './throttle.ts';
import type { FolderReport, SkippedItem } from './types.ts';
import { packUids } from './uidSet.ts';
import type { RawWire } from './wire.ts';

export interface DataLane {
  srcWire: RawWire;
  tgtWire: RawWire;
}

export interface FolderWorker extends DataLane {
  srcCtl: ImapFlow;
  tgtCtl: ImapFlow;
  /** More data lanes for one large folder in ranges, opened on first need and kept. */
  extra: DataLane[];
  openLane(): Promise<DataLane>;
}

export interface FolderJob {
  source: string;
  target: string;
  /** The source folder's size from LIST-STATUS (the report's source bytes when only flags are read). */
  sourceBytes?: number;
}

export interface FolderContext {
  store: StateStore;
  sourceMailbox: string;
  targetMailbox: string;
  options: MailCopyOptions;
  throttle: Pick<Throttle, 'take'>;
  logger: Logger;
  /** Called for every skipped item; throws when a limit is passed. */
  onSkipped(item: SkippedItem): void;
  onCopied(folder: string, bytes: number): void;
  /** Behave as with a target without UIDPLUS (tests; servers whose APPENDUID is known wrong). */
  ignoreAppendUid?: boolean;
}

type SourceMeta = ListedMessage;

const FETCH_CHUNK = 500;
/** Copied messages recorded per state transaction (and at the end of every fetch chunk). */
const RECORD_BATCH = 250;
/** Pending messages per extra lane before a folder is split in ranges. */
const RANGE_MIN = 400;

/** Fingerprints of messages on one side, fetched the way both sides compute them. */
async function fingerprints(c: ImapFlow, uids: number[]): Promise<Map<number, { fp: string; header: Buffer; size: number }>> {
  const out = new Map<number, { fp: string; header: Buffer; size: number }>();
  if (uids.length === 0) return out;
  const needBody: number[] = [];
  for await (const m of c.fetch(packUids(uids), { uid: true, size: true, headers: true }, { uid: true })) {
    const header = headerBlock(m.headers ?? Buffer.alloc(0));
    // Same as FingerprintHasher.digest(): the header block is what BODY[HEADER] returns.
    const fp = headerFingerprint(header, m.size ?? 0);
    if (fp) out.set(m.uid, { fp, header, size: m.size ?? 0 });
    else needBody.push(m.uid);
  }
  // No Message-ID: the whole message decides (rare; these are read whole, one at a time).
  for (const uid of needBody) {
    const m = await c.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
    if (m !== false && m.source) out.set(uid, { fp: fingerprintOf(m.source), header: headerBlock(m.source), size: m.source.length });
  }
  return out;
}

export async function copyFolder(ctx: FolderContext, w: FolderWorker, job: FolderJob): Promise<FolderReport> {
  const started = Date.now();
  const { store, options } = ctx;
  const log = ctx.logger.child({ folder: job.source });
  const report: FolderReport = {
    source: job.source,
    target: job.target,
    sourceMessages: 0,
    sourceBytes: 0,
    targetMessages: 0,
    targetBytes: 0,
    copied: 0,
    copiedBytes: 0,
    matched: 0,
    skipped: 0,
    flagsUpdated: 0,
    deletedOnSource: 0,
    deletedOnTarget: 0,
    keywordsRefused: [],
    durationMs: 0,
  };
  const src = await w.srcCtl.mailboxOpen(job.source, { readOnly: true });
  const tgt = await w.tgtCtl.mailboxOpen(job.target);
  let state = await folderState(store, ctx.sourceMailbox, ctx.targetMailbox, job.source, job.target);
  const srcValidity = src.uidValidity.toString();
  const tgtValidity = tgt.uidValidity.toString();
  if (
    (state.sourceUidValidity && state.sourceUidValidity !== srcValidity) ||
    (state.targetUidValidity && state.targetUidValidity !== tgtValidity) ||
    state.targetFolder !== job.target
  ) {
    log.warn({ was: state.sourceUidValidity, now: srcValidity }, 'UIDVALIDITY or target changed: the UID map is rebuilt from fingerprints');
    await resetUidMap(store, state.id, srcValidity, job.target);
  } else if (!state.sourceUidValidity) await resetUidMap(store, state.id, srcValidity, job.target);
  await setTargetUidValidity(store, state.id, tgtValidity);
  state = await folderState(store, ctx.sourceMailbox, ctx.targetMailbox, job.source, job.target);

  // Skipped items (bad, large) are tried again on every run, like Move-Mailbox: a raised
  // limit or a fixed server lets them through, and each run's report lists all that remain.
  const allRows = await uidRows(store, state.id);
  const rows = new Map(allRows.filter((r) => r.state !== 'bad' && r.state !== 'large').map((r) => [r.sourceUid, r]));
  const hadSkipped = rows.size < allRows.length;
  const policy: FlagPolicy = {
    permanent: tgt.permanentFlags?.size ? tgt.permanentFlags : undefined,
    keywordMap: options.keywordMap,
  };
  const refused = new Set<string>();
  const targetFlags = (f: string[]): string[] => {
    const r = mapFlags(f, policy);
    for (const k of r.refused) refused.add(k);
    return r.flags;
  };

  // Flags only (CONDSTORE): nothing new and nothing gone on the source, only modseq moved.
  const flagsOnly =
    !hadSkipped &&
    state.completedAt !== null &&
    state.sourceModseq !== null &&
    src.highestModseq !== undefined &&
    state.sourceUidNext === src.uidNext &&
    state.sourceMessages === src.exists &&
    state.targetUidNext === tgt.uidNext;
  // The listing goes on the data connection (raw, see listMessages); the control session
  // keeps the folder open for what imapflow does well (fingerprints, deletes, flags, STATUS).
  await examine(w.srcWire, job.source);
  const listing =
    src.exists === 0 ? [] : await listMessages(w.srcWire, job.source, flagsOnly ? BigInt(state.sourceModseq as string) : undefined);

  // 1. Source deletions since the last pass.
  if (!flagsOnly) {
    const present = new Set(listing.map((m) => m.uid));
    const gone = [...rows.values()].filter((r) => !present.has(r.sourceUid));
    report.deletedOnSource = gone.length;
    if (gone.length && options.deleteOnTarget) {
      const tuids = gone.map((r) => r.targetUid).filter((u): u is number => u !== null);
      if (tuids.length) {
        await w.tgtCtl.messageDelete(packUids(tuids), { uid: true });
        report.deletedOnTarget = tuids.length;
      }
    }
    if (gone.length)
      await deleteUids(
        store,
        state.id,
        gone.map((r) => r.sourceUid),
      );
    for (const r of gone) rows.delete(r.sourceUid);
  }

  // 2. What is new: large items are skipped before anything is fetched.
  const pending: SourceMeta[] = [];
  if (!flagsOnly) {
    for (const m of listing) {
      if (rows.has(m.uid)) continue;
      if (m.size > options.maxMessageBytes) {
        const fp = await fingerprints(w.srcCtl, [m.uid]).catch(() => new Map());
        const header = fp.get(m.uid)?.header as Buffer | undefined;
        const reason = `larger than maxMessageBytes (${m.size} > ${options.maxMessageBytes})`;
        await recordUid(store, state.id, {
          sourceUid: m.uid,
          targetUid: null,
          state: 'large',
          fingerprint: null,
          flags: '',
          size: m.size,
          reason,
        });
        rows.set(m.uid, { sourceUid: m.uid, targetUid: null, state: 'large', fingerprint: null, flags: '', size: m.size, reason });
        report.skipped++;
        ctx.onSkipped({
          folder: job.source,
          uid: m.uid,
          messageId: header && messageIdOf(header),
          subject: header && subjectOf(header),
          size: m.size,
          kind: 'large',
          reason,
        });
        continue;
      }
      pending.push(m);
    }
  }

  // 3. Already on the target? (merge into a non-empty target; an APPEND whose UID was never
  //    recorded because we died; a new UIDVALIDITY). Only target UIDs we have not mapped count.
  const targetMoved = state.targetUidNext === null ? tgt.exists > 0 : tgt.uidNext !== state.targetUidNext;
  if (pending.length && targetMoved) {
    const mapped = new Set([...rows.values()].map((r) => r.targetUid).filter((u) => u !== null));
    const from = state.targetUidNext ?? 1;
    const candidates: number[] = [];
    if (tgt.exists > 0)
      for await (const m of w.tgtCtl.fetch(`${from}:*`, { uid: true }, { uid: true }))
        if (m.uid >= from && !mapped.has(m.uid)) candidates.push(m.uid);
    if (candidates.length) {
      const t = await fingerprints(w.tgtCtl, candidates);
      const s = await fingerprints(
        w.srcCtl,
        pending.map((m) => m.uid),
      );
      const pairs = matchFingerprints(
        pending.filter((m) => s.has(m.uid)).map((m) => ({ key: m.uid, fp: (s.get(m.uid) as { fp: string }).fp })),
        [...t].map(([uid, v]) => ({ key: uid, fp: v.fp })),
      );
      for (const p of pairs) {
        // flags '?' never equals a real flag set: step 4 writes the source flags on it.
        const row: UidRow = {
          sourceUid: p.from,
          targetUid: p.to,
          state: 'matched',
          fingerprint: (s.get(p.from) as { fp: string }).fp,
          flags: '?',
          size: 0,
          reason: null,
        };
        await recordUid(store, state.id, row, p.to + 1);
        rows.set(p.from, row);
      }
      report.matched = pairs.length;
      const matched = new Set(pairs.map((p) => p.from));
      for (let i = pending.length - 1; i >= 0; i--) if (matched.has((pending[i] as SourceMeta).uid)) pending.splice(i, 1);
      log.debug({ candidates: candidates.length, matched: pairs.length }, 'fingerprint reconciliation');
    }
  }

  // 4. Flag changes: the source's flags win on every mapped message.
  const byFlags = new Map<string, { flags: string[]; tuids: number[]; suids: number[] }>();
  for (const m of listing) {
    const r = rows.get(m.uid);
    if (!r || r.targetUid === null || (r.state !== 'copied' && r.state !== 'matched')) continue;
    const flags = targetFlags(m.flags);
    const key = flagKey(flags);
    if (key === r.flags) continue;
    const g = byFlags.get(key) ?? { flags, tuids: [], suids: [] };
    g.tuids.push(r.targetUid);
    g.suids.push(m.uid);
    byFlags.set(key, g);
  }
  for (const [key, g] of byFlags) {
    await w.tgtCtl.messageFlagsSet(packUids(g.tuids), g.flags.length ? g.flags : [], { uid: true });
    await store.sql.tx(async () => {
      for (const u of g.suids) await updateFlags(store, state.id, u, key);
    });
    report.flagsUpdated += g.suids.length;
  }

  // 5. Stream the rest: source literal → target APPEND (LITERAL+, MULTIAPPEND batches),
  //    each answer recorded as it comes. A refused batch is re-sent one message per command.
  if (pending.length) {
    const meta = new Map(pending.map((m) => [m.uid, m]));
    // A large folder goes in contiguous UID ranges over several lanes: the target takes
    // parallel APPENDs into one mailbox (its per-command commit is what bounds one lane).
    const lanesWanted = Math.max(1, Math.min(options.rangeConnections, Math.floor(pending.length / RANGE_MIN)));
    while (w.extra.length < lanesWanted - 1) w.extra.push(await w.openLane());
    const lanes: DataLane[] = [w, ...w.extra.slice(0, lanesWanted - 1)];
    const uids = pending.map((m) => m.uid);
    const per = Math.ceil(uids.length / lanes.length);
    const refused = await Promise.all(
      lanes.map(async (lane, i) => {
        const part = uids.slice(i * per, (i + 1) * per);
        if (!part.length) return [];
        if (i > 0) await examine(lane.srcWire, job.source); // lane 0 has it open since the listing
        return streamMessages(ctx, { ...w, ...lane }, job, state.id, meta, part, options.multiAppendBatch, targetFlags, report);
      }),
    );
    const retrySingly = refused.flat().sort((a, b) => a - b);
    if (retrySingly.length) await streamMessages(ctx, w, job, state.id, meta, retrySingly, 1, targetFlags, report);
  }

  // 5b. No APPENDUID (a target without UIDPLUS): find our copies among the target's
  //     unmapped messages by fingerprint, so later passes can carry flags to them.
  const unknown = (await uidRows(store, state.id)).filter((r) => r.state === 'copied' && r.targetUid === null && r.fingerprint);
  if (unknown.length) {
    await w.tgtCtl.noop();
    const mapped = new Set((await uidRows(store, state.id)).map((r) => r.targetUid));
    const candidates: number[] = [];
    for await (const m of w.tgtCtl.fetch('1:*', { uid: true }, { uid: true })) if (!mapped.has(m.uid)) candidates.push(m.uid);
    const t = await fingerprints(w.tgtCtl, candidates);
    const pairs = matchFingerprints(
      unknown.map((r) => ({ key: r, fp: r.fingerprint as string })),
      [...t].map(([uid, v]) => ({ key: uid, fp: v.fp })),
    );
    for (const p of pairs) await recordUid(store, state.id, { ...p.from, targetUid: p.to }, p.to + 1);
    if (pairs.length < unknown.length)
      log.warn({ unmatched: unknown.length - pairs.length }, 'copies without APPENDUID not found on the target by fingerprint');
  }

  // 6. Snapshot both sides for the next run's fast path.
  // NOOP first: Dovecot answers STATUS on the selected mailbox from this session's view,
  // which has not seen the APPENDs made on the data connection yet.
  await w.tgtCtl.noop();
  const ts = await w.tgtCtl.status(job.target, { messages: true, uidNext: true, highestModseq: true, size: true });
  const highest = listing.reduce((a, m) => Math.max(a, m.uid), state.highestUid);
  await completeFolder(store, state.id, {
    sourceUidNext: src.uidNext,
    sourceMessages: src.exists,
    sourceModseq: src.highestModseq?.toString() ?? null,
    targetUidNext: ts ? (ts.uidNext ?? tgt.uidNext) : tgt.uidNext,
    targetMessages: ts ? (ts.messages ?? 0) : 0,
    targetModseq: ts && ts.highestModseq !== undefined ? String(ts.highestModseq) : null,
    highestUid: highest,
  });
  report.sourceMessages = src.exists;
  report.sourceBytes = flagsOnly ? (job.sourceBytes ?? 0) : listing.reduce((a, m) => a + m.size, 0);
  report.targetMessages = ts ? (ts.messages ?? 0) : 0;
  report.targetBytes = ts ? Number((ts as { size?: number | bigint }).size ?? 0) : 0;
  report.keywordsRefused = [...refused].sort();
  report.durationMs = Date.now() - started;
  return report;
}

/** Fetches `uids` in chunks and appends them; returns the UIDs of refused batches (to re-send alone). */
async function streamMessages(
  ctx: FolderContext,
  w: FolderWorker,
  job: FolderJob,
  folderId: number,
  meta: Map<number, SourceMeta>,
  uids: number[],
  batch: number,
  targetFlags: (f: string[]) => string[],
  report: FolderReport,
): Promise<number[]> {
  const { store } = ctx;
  const appender = createAppender(w.tgtWire, job.target, { depth: ctx.options.pipelineDepth, batch });
  const retry: number[] = [];
  // An answer that stops the folder (bad-item limit passed, transient NO): noted by the
  // answer handler, thrown by the fetch loop; the wires are then discarded by the caller.
  let fatal: Error | undefined;
  // Answers are recorded one after another, in the order the target gave out their UIDs: a
  // re-run after a crash reconciles only target UIDs above the recorded UIDNEXT, so a later UID
  // must never commit before an earlier one (concurrent transactions on PostgreSQL would).
  let recorded: Promise<void> = Promise.resolve();
  // Copied messages wait here, in answer order, for the next flush: one transaction writes
  // all that came in meanwhile (a prefix, in order, so the rule above still holds).
  const unrecorded: { row: UidRow; next: number | undefined }[] = [];
  let flushing: Promise<void> | undefined;
  const flush = (): Promise<void> => {
    flushing ??= (async () => {
      await Promise.resolve(); // `flushing` is set before the loop can end and clear it
      try {
        while (unrecorded.length) {
          const part = unrecorded.splice(0);
          const next = part.reduce<number | undefined>((a, p) => (p.next === undefined ? a : Math.max(a ?? 0, p.next)), undefined);
          await recordUids(
            store,
            folderId,
            part.map((p) => p.row),
            next,
          );
        }
      } catch (err) {
        fatal ??= err as Error;
      } finally {
        flushing = undefined;
      }
    })();
    return flushing;
  };
  const skip = async (uid: number, size: number, header: Buffer | undefined, fp: string | null, reason: string): Promise<void> => {
    await recordUid(store, folderId, { sourceUid: uid, targetUid: null, state: 'bad', fingerprint: fp, flags: '', size, reason });
    report.skipped++;
    ctx.onSkipped({
      folder: job.source,
      uid,
      messageId: header && messageIdOf(header),
      subject: header && subjectOf(header),
      size,
      kind: 'bad',
      reason,
    });
  };
  for (let i = 0; i < uids.length; i += FETCH_CHUNK) {
    const chunk = uids.slice(i, i + FETCH_CHUNK);
    const seen = new Set<number>();
    let end: Awaited<ReturnType<typeof fetchBodies>>;
    try {
      end = await fetchBodies(w.srcWire, packUids(chunk), async (body) => {
        if (fatal) throw fatal;
        const m = meta.get(body.uid);
        if (!m || seen.has(body.uid) || !chunk.includes(body.uid)) return; // not asked for (or twice): drained
        seen.add(body.uid);
        await ctx.throttle.take(body.size);
        const flags = targetFlags(m.flags);
        const hasher = new FingerprintHasher();
        const { answer } = await appender.append(flags, m.internalDate, body.size, (send) =>
          body.pipe(async (c) => {
            hasher.update(c);
            await send(c);
          }),
        );
        const fp = hasher.digest();
        const contentSha256 = hasher.contentDigest();
        const header = hasher.headerBytes();
        recorded = recorded
          .then(() => answer)
          .then(async (r: AppendResult) => {
            if (r.ok) {
              const tuid = ctx.ignoreAppendUid ? undefined : r.uid;
              unrecorded.push({
                row: {
                  sourceUid: m.uid,
                  targetUid: tuid ?? null,
                  state: 'copied',
                  fingerprint: fp,
                  flags: flagKey(flags),
                  size: body.size,
                  reason: null,
                  contentSha256,
                },
                next: tuid !== undefined ? tuid + 1 : undefined,
              });
              // A transaction per RECORD_BATCH answers, not per answer: on SQLite each commit
              // costs the event loop (a 20,000-message batch spent a tenth of its CPU in
              // COMMIT). What a crash leaves unrecorded is found on the target by fingerprint.
              if (unrecorded.length >= RECORD_BATCH) void flush();
              report.copied++;
              report.copiedBytes += body.size;
              ctx.onCopied(job.source, body.size);
            } else if (r.transient) {
              fatal ??= new TransientFolderError(
                'CF_ERR_IMAP_TRANSIENT',
                `${w.tgtWire.address} answered ${r.text} to an APPEND into ${job.target}`,
                { object: job.target, imapResponse: r.text },
              );
            } else if (r.batchFailed) {
              retry.push(m.uid);
            } else {
              await skip(m.uid, body.size, header, fp, `target refused: ${r.text}`);
            }
          })
          .catch((err: Error) => {
            fatal ??= err;
          });
      });
    } catch (err) {
      // What the target already confirmed is recorded before the error goes up (unanswered
      // APPENDs are found by fingerprint on the next run).
      await flush();
      throw err;
    }
    await appender.drain();
    await recorded;
    await flush();
    if (fatal) throw fatal;
    if (!end.ok && end.transient)
      throw new TransientFolderError('CF_ERR_IMAP_TRANSIENT', `${w.srcWire.address} answered ${end.text} while reading ${job.source}`, {
        object: job.source,
        imapResponse: end.text,
      });
    for (const uid of chunk) {
      if (seen.has(uid)) continue;
      const m = meta.get(uid) as SourceMeta;
      const h = await fingerprints(w.srcCtl, [uid]).catch(() => new Map<number, { header: Buffer }>());
      await skip(uid, m.size, h.get(uid)?.header, null, `source did not deliver the message${end.ok ? '' : `: ${end.text}`}`);
    }
  }
  return retry.sort((a, b) => a - b);
}
