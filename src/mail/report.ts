// The run report (JSON): per folder source/target counts and bytes, copied, skipped with
// reasons, flags updated, duration, throughput. The migration pipeline renders it as HTML.
import type { StatusObject } from 'imapflow';
import { describeError } from '../util/errors.ts';
import type { FolderMapping } from './folderMap.ts';
import type { AclReport, CopyMailboxInput, CopyReport, FolderReport, SkippedItem, ThrottleReport } from './types.ts';

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0);

/** A folder that did not change since the last pass: counts from LIST-STATUS, nothing copied. */
export function emptyFolderReport(m: FolderMapping, src: StatusObject | undefined, tgt: StatusObject | undefined): FolderReport {
  return {
    source: m.source,
    target: m.target,
    sourceMessages: num(src?.messages),
    sourceBytes: num((src as { size?: unknown } | undefined)?.size),
    targetMessages: num(tgt?.messages),
    targetBytes: num((tgt as { size?: unknown } | undefined)?.size),
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
}

export function buildReport(r: {
  input: CopyMailboxInput;
  startedAt: Date;
  folders: FolderReport[];
  skipped: SkippedItem[];
  acls: AclReport[];
  warnings: string[];
  mapping: FolderMapping[];
  subscribed: number;
  retries: number;
  throttles: ThrottleReport[];
  failure: unknown;
}): CopyReport {
  const finished = new Date();
  const durationMs = finished.getTime() - r.startedAt.getTime();
  const sum = (f: (x: FolderReport) => number): number => r.folders.reduce((a, x) => a + f(x), 0);
  const copied = sum((f) => f.copied);
  const copiedBytes = sum((f) => f.copiedBytes);
  const secs = Math.max(durationMs, 1) / 1000;
  const folders = [...r.folders].sort((a, b) => a.source.localeCompare(b.source));
  return {
    sourceMailbox: r.input.sourceMailbox,
    targetMailbox: r.input.targetMailbox,
    startedAt: r.startedAt.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs,
    status: r.failure ? 'failed' : 'completed',
    ...(r.failure ? { error: describeError(r.failure) } : {}),
    folders,
    skipped: r.skipped,
    acls: r.acls,
    subscriptions: { subscribed: r.subscribed },
    retries: r.retries,
    throttles: r.throttles,
    folderMapping: r.mapping.map((m) => ({ source: m.source, target: m.target, reason: m.reason })),
    warnings: r.warnings,
    totals: {
      messages: sum((f) => f.sourceMessages),
      bytes: sum((f) => f.sourceBytes),
      copied,
      copiedBytes,
      skipped: sum((f) => f.skipped),
      flagsUpdated: sum((f) => f.flagsUpdated),
      messagesPerSecond: Math.round((copied / secs) * 10) / 10,
      megabytesPerSecond: Math.round((copiedBytes / 1e6 / secs) * 100) / 100,
    },
  };
}
