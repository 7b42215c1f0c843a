// The copy state repository: every SQL query of the mail capability, one per function.
// Tables: mail_folder_state, mail_uid_map, mail_copy_run (migration 020).
import type { StateStore } from '../state/store.ts';

export interface FolderState {
  id: number;
  sourceFolder: string;
  targetFolder: string;
  sourceUidValidity: string | null;
  targetUidValidity: string | null;
  sourceUidNext: number | null;
  sourceMessages: number | null;
  sourceModseq: string | null;
  targetUidNext: number | null;
  targetMessages: number | null;
  targetModseq: string | null;
  highestUid: number;
  completedAt: string | null;
}

export interface UidRow {
  sourceUid: number;
  targetUid: number | null;
  state: 'copied' | 'matched' | 'bad' | 'large';
  fingerprint: string | null;
  flags: string;
  size: number;
  reason: string | null;
}

const FOLDER_COLS = `id, source_folder AS sourceFolder, target_folder AS targetFolder,
  source_uidvalidity AS sourceUidValidity, target_uidvalidity AS targetUidValidity,
  source_uidnext AS sourceUidNext, source_messages AS sourceMessages, source_modseq AS sourceModseq,
  target_uidnext AS targetUidNext, target_messages AS targetMessages, target_modseq AS targetModseq,
  highest_uid AS highestUid, completed_at AS completedAt`;

/** The folder's state row, created empty on first sight. */
export function folderState(
  store: StateStore,
  sourceMailbox: string,
  targetMailbox: string,
  sourceFolder: string,
  targetFolder: string,
): FolderState {
  store.db
    .prepare(`INSERT INTO mail_folder_state (source_mailbox, target_mailbox, source_folder, target_folder)
      VALUES (?, ?, ?, ?) ON CONFLICT (source_mailbox, target_mailbox, source_folder) DO NOTHING`)
    .run(sourceMailbox, targetMailbox, sourceFolder, targetFolder);
  return store.db
    .prepare(`SELECT ${FOLDER_COLS} FROM mail_folder_state WHERE source_mailbox = ? AND target_mailbox = ? AND source_folder = ?`)
    .get(sourceMailbox, targetMailbox, sourceFolder) as FolderState;
}

/** Every folder row of one source → target pair (for the no-change fast path and verify). */
export function folderStates(store: StateStore, sourceMailbox: string, targetMailbox: string): FolderState[] {
  return store.db
    .prepare(`SELECT ${FOLDER_COLS} FROM mail_folder_state WHERE source_mailbox = ? AND target_mailbox = ? ORDER BY source_folder`)
    .all(sourceMailbox, targetMailbox) as FolderState[];
}

/** Forgets a folder's UID map (source UIDVALIDITY changed: fingerprints rebuild it). */
export function resetUidMap(store: StateStore, folderId: number, sourceUidValidity: string, targetFolder: string): void {
  store.tx(() => {
    store.db.prepare('DELETE FROM mail_uid_map WHERE folder_id = ?').run(folderId);
    store.db
      .prepare(`UPDATE mail_folder_state SET source_uidvalidity = ?, target_folder = ?, source_uidnext = NULL, source_messages = NULL,
        source_modseq = NULL, target_uidnext = NULL, target_messages = NULL, target_modseq = NULL, highest_uid = 0, completed_at = NULL WHERE id = ?`)
      .run(sourceUidValidity, targetFolder, folderId);
  });
}

/** Records the target folder's UIDVALIDITY (a change there invalidates the map too). */
export function setTargetUidValidity(store: StateStore, folderId: number, uidValidity: string): void {
  store.db.prepare('UPDATE mail_folder_state SET target_uidvalidity = ? WHERE id = ?').run(uidValidity, folderId);
}

export function uidRows(store: StateStore, folderId: number): UidRow[] {
  return store.db
    .prepare(`SELECT source_uid AS sourceUid, target_uid AS targetUid, state, fingerprint, flags, size, reason
      FROM mail_uid_map WHERE folder_id = ? ORDER BY source_uid`)
    .all(folderId) as UidRow[];
}

/** One copied/matched/skipped message, and the target's UIDNEXT after it, in one transaction. */
export function recordUid(store: StateStore, folderId: number, row: UidRow, targetUidNext?: number): void {
  const insert = store.db.prepare(`INSERT INTO mail_uid_map (folder_id, source_uid, target_uid, state, fingerprint, flags, size, reason)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (folder_id, source_uid) DO UPDATE SET target_uid = excluded.target_uid,
    state = excluded.state, fingerprint = excluded.fingerprint, flags = excluded.flags, size = excluded.size, reason = excluded.reason`);
  const bump = store.db.prepare('UPDATE mail_folder_state SET target_uidnext = MAX(COALESCE(target_uidnext, 0), ?) WHERE id = ?');
  store.tx(() => {
    insert.run(folderId, row.sourceUid, row.targetUid, row.state, row.fingerprint, row.flags, row.size, row.reason);
    if (targetUidNext !== undefined) bump.run(targetUidNext, folderId);
  });
}

export function updateFlags(store: StateStore, folderId: number, sourceUid: number, flags: string): void {
  store.db.prepare('UPDATE mail_uid_map SET flags = ? WHERE folder_id = ? AND source_uid = ?').run(flags, folderId, sourceUid);
}

export function deleteUids(store: StateStore, folderId: number, sourceUids: readonly number[]): void {
  const del = store.db.prepare('DELETE FROM mail_uid_map WHERE folder_id = ? AND source_uid = ?');
  store.tx(() => {
    for (const u of sourceUids) del.run(folderId, u);
  });
}

export interface FolderSnapshot {
  sourceUidNext: number;
  sourceMessages: number;
  sourceModseq: string | null;
  targetUidNext: number;
  targetMessages: number;
  targetModseq: string | null;
  highestUid: number;
}

/** The folder pass finished: what both sides looked like, for the next run's fast path. */
export function completeFolder(store: StateStore, folderId: number, s: FolderSnapshot): void {
  store.db
    .prepare(`UPDATE mail_folder_state SET source_uidnext = ?, source_messages = ?, source_modseq = ?, target_uidnext = ?,
      target_messages = ?, target_modseq = ?, highest_uid = ?, completed_at = ? WHERE id = ?`)
    .run(
      s.sourceUidNext,
      s.sourceMessages,
      s.sourceModseq,
      s.targetUidNext,
      s.targetMessages,
      s.targetModseq,
      s.highestUid,
      new Date().toISOString(),
      folderId,
    );
}

/** Source folders that hold skipped (bad or large) items: every run tries them again. */
export function foldersWithSkipped(store: StateStore, sourceMailbox: string, targetMailbox: string): Set<string> {
  const rows = store.db
    .prepare(`SELECT DISTINCT f.source_folder AS folder FROM mail_uid_map m JOIN mail_folder_state f ON f.id = m.folder_id
      WHERE f.source_mailbox = ? AND f.target_mailbox = ? AND m.state IN ('bad', 'large')`)
    .all(sourceMailbox, targetMailbox) as { folder: string }[];
  return new Set(rows.map((r) => r.folder));
}

export function startRun(store: StateStore, sourceMailbox: string, targetMailbox: string): number {
  return Number(
    store.db
      .prepare(`INSERT INTO mail_copy_run (source_mailbox, target_mailbox, started_at, status) VALUES (?, ?, ?, 'running')`)
      .run(sourceMailbox, targetMailbox, new Date().toISOString()).lastInsertRowid,
  );
}

export function finishRun(store: StateStore, runId: number, status: string, report: unknown): void {
  store.db
    .prepare('UPDATE mail_copy_run SET finished_at = ?, status = ?, report = ? WHERE id = ?')
    .run(new Date().toISOString(), status, JSON.stringify(report), runId);
}
