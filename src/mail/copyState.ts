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
  /** SHA-256 (hex) of the message's full bytes as read from the source; copied rows only. */
  contentSha256?: string | null;
}

const FOLDER_COLS = `id, source_folder AS "sourceFolder", target_folder AS "targetFolder",
  source_uidvalidity AS "sourceUidValidity", target_uidvalidity AS "targetUidValidity",
  source_uidnext AS "sourceUidNext", source_messages AS "sourceMessages", source_modseq AS "sourceModseq",
  target_uidnext AS "targetUidNext", target_messages AS "targetMessages", target_modseq AS "targetModseq",
  highest_uid AS "highestUid", completed_at AS "completedAt"`;

/** The folder's state row, created empty on first sight. */
export async function folderState(
  store: StateStore,
  sourceMailbox: string,
  targetMailbox: string,
  sourceFolder: string,
  targetFolder: string,
): Promise<FolderState> {
  await store.sql.run(
    `INSERT INTO mail_folder_state (source_mailbox, target_mailbox, source_folder, target_folder)
      VALUES (?, ?, ?, ?) ON CONFLICT (source_mailbox, target_mailbox, source_folder) DO NOTHING`,
    [sourceMailbox, targetMailbox, sourceFolder, targetFolder],
  );
  return (await store.sql.get<FolderState>(
    `SELECT ${FOLDER_COLS} FROM mail_folder_state WHERE source_mailbox = ? AND target_mailbox = ? AND source_folder = ?`,
    [sourceMailbox, targetMailbox, sourceFolder],
  )) as FolderState;
}

/** Every folder row of one source → target pair (for the no-change fast path and verify). */
export function folderStates(store: StateStore, sourceMailbox: string, targetMailbox: string): Promise<FolderState[]> {
  return store.sql.all<FolderState>(
    `SELECT ${FOLDER_COLS} FROM mail_folder_state WHERE source_mailbox = ? AND target_mailbox = ? ORDER BY source_folder`,
    [sourceMailbox, targetMailbox],
  );
}

/** Forgets a folder's UID map (source UIDVALIDITY changed: fingerprints rebuild it). */
export async function resetUidMap(store: StateStore, folderId: number, sourceUidValidity: string, targetFolder: string): Promise<void> {
  await store.sql.tx(async () => {
    await store.sql.run('DELETE FROM mail_uid_map WHERE folder_id = ?', [folderId]);
    await store.sql.run(
      `UPDATE mail_folder_state SET source_uidvalidity = ?, target_folder = ?, source_uidnext = NULL, source_messages = NULL,
        source_modseq = NULL, target_uidnext = NULL, target_messages = NULL, target_modseq = NULL, highest_uid = 0, completed_at = NULL WHERE id = ?`,
      [sourceUidValidity, targetFolder, folderId],
    );
  });
}

export interface FolderSeed {
  sourceFolder: string;
  targetFolder: string;
  sourceUidValidity: string;
  targetUidValidity: string;
}

/**
 * A folder row for a copy whose pairs are known from elsewhere (mirrorCopyState: the reverse
 * of an earlier copy): both UIDVALIDITYs and the target folder as given, the last pass's
 * snapshot forgotten (the next pass lists the folder in full and, finding anything new, looks
 * for it on the target by fingerprint first). The UID map is kept when the row already had
 * these UIDVALIDITYs and this target folder, else forgotten.
 */
export async function seedFolderState(
  store: StateStore,
  sourceMailbox: string,
  targetMailbox: string,
  s: FolderSeed,
): Promise<FolderState> {
  return store.sql.tx(async () => {
    const row = await folderState(store, sourceMailbox, targetMailbox, s.sourceFolder, s.targetFolder);
    if (
      row.sourceUidValidity !== s.sourceUidValidity ||
      row.targetUidValidity !== s.targetUidValidity ||
      row.targetFolder !== s.targetFolder
    )
      await store.sql.run('DELETE FROM mail_uid_map WHERE folder_id = ?', [row.id]);
    await store.sql.run(
      `UPDATE mail_folder_state SET target_folder = ?, source_uidvalidity = ?, target_uidvalidity = ?, source_uidnext = NULL,
        source_messages = NULL, source_modseq = NULL, target_uidnext = NULL, target_messages = NULL, target_modseq = NULL,
        completed_at = NULL WHERE id = ?`,
      [s.targetFolder, s.sourceUidValidity, s.targetUidValidity, row.id],
    );
    const cleared = { sourceUidNext: null, sourceMessages: null, sourceModseq: null, targetUidNext: null, targetMessages: null };
    return { ...row, ...s, ...cleared, targetModseq: null, completedAt: null };
  });
}

/** Records the target folder's UIDVALIDITY (a change there invalidates the map too). */
export async function setTargetUidValidity(store: StateStore, folderId: number, uidValidity: string): Promise<void> {
  await store.sql.run('UPDATE mail_folder_state SET target_uidvalidity = ? WHERE id = ?', [uidValidity, folderId]);
}

export function uidRows(store: StateStore, folderId: number): Promise<UidRow[]> {
  return store.sql.all<UidRow>(
    `SELECT source_uid AS "sourceUid", target_uid AS "targetUid", state, fingerprint, flags, size, reason,
      content_sha256 AS "contentSha256" FROM mail_uid_map WHERE folder_id = ? ORDER BY source_uid`,
    [folderId],
  );
}

const UID_COLUMNS = '(folder_id, source_uid, target_uid, state, fingerprint, flags, size, reason, content_sha256)';
const UID_UPSERT = `ON CONFLICT (folder_id, source_uid) DO UPDATE SET target_uid = excluded.target_uid, state = excluded.state,
    fingerprint = excluded.fingerprint, flags = excluded.flags, size = excluded.size, reason = excluded.reason,
    content_sha256 = excluded.content_sha256`;
const INSERT_UID = `INSERT INTO mail_uid_map ${UID_COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ${UID_UPSERT}`;
const uidValues = (folderId: number, r: UidRow): (string | number | null)[] => [
  folderId,
  r.sourceUid,
  r.targetUid,
  r.state,
  r.fingerprint,
  r.flags,
  r.size,
  r.reason,
  r.contentSha256 ?? null,
];
// The larger of the two (a portable CASE: SQLite's scalar MAX(a, b) is GREATEST in PostgreSQL).
const BUMP_UIDNEXT = `UPDATE mail_folder_state
    SET target_uidnext = CASE WHEN COALESCE(target_uidnext, 0) < ? THEN ? ELSE COALESCE(target_uidnext, 0) END WHERE id = ?`;

/** One copied/matched/skipped message, and the target's UIDNEXT after it, in one transaction. */
export async function recordUid(store: StateStore, folderId: number, row: UidRow, targetUidNext?: number): Promise<void> {
  await store.sql.tx(async () => {
    await store.sql.run(INSERT_UID, uidValues(folderId, row));
    if (targetUidNext !== undefined) await store.sql.run(BUMP_UIDNEXT, [targetUidNext, targetUidNext, folderId]);
  });
}

/**
 * Many copied messages in one transaction (multi-row INSERTs), and the target's UIDNEXT after
 * the last: the copy's hot path, one round trip per few hundred messages instead of four per
 * message (which bound a PostgreSQL copy).
 */
export async function recordUids(store: StateStore, folderId: number, rows: readonly UidRow[], targetUidNext?: number): Promise<void> {
  if (rows.length === 0) return;
  const PER_STATEMENT = 400; // 9 parameters a row, well under SQLite's 32,766
  await store.sql.tx(async () => {
    for (let i = 0; i < rows.length; i += PER_STATEMENT) {
      const part = rows.slice(i, i + PER_STATEMENT);
      await store.sql.run(
        `INSERT INTO mail_uid_map ${UID_COLUMNS} VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} ${UID_UPSERT}`,
        part.flatMap((r) => uidValues(folderId, r)),
      );
    }
    if (targetUidNext !== undefined) await store.sql.run(BUMP_UIDNEXT, [targetUidNext, targetUidNext, folderId]);
  });
}

export async function updateFlags(store: StateStore, folderId: number, sourceUid: number, flags: string): Promise<void> {
  await store.sql.run('UPDATE mail_uid_map SET flags = ? WHERE folder_id = ? AND source_uid = ?', [flags, folderId, sourceUid]);
}

export async function deleteUids(store: StateStore, folderId: number, sourceUids: readonly number[]): Promise<void> {
  await store.sql.tx(async () => {
    for (const u of sourceUids) await store.sql.run('DELETE FROM mail_uid_map WHERE folder_id = ? AND source_uid = ?', [folderId, u]);
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
export async function completeFolder(store: StateStore, folderId: number, s: FolderSnapshot): Promise<void> {
  await store.sql.run(
    `UPDATE mail_folder_state SET source_uidnext = ?, source_messages = ?, source_modseq = ?, target_uidnext = ?,
      target_messages = ?, target_modseq = ?, highest_uid = ?, completed_at = ? WHERE id = ?`,
    [
      s.sourceUidNext,
      s.sourceMessages,
      s.sourceModseq,
      s.targetUidNext,
      s.targetMessages,
      s.targetModseq,
      s.highestUid,
      new Date().toISOString(),
      folderId,
    ],
  );
}

/** Source folders that hold skipped (bad or large) items: every run tries them again. */
export async function foldersWithSkipped(store: StateStore, sourceMailbox: string, targetMailbox: string): Promise<Set<string>> {
  const rows = await store.sql.all<{ folder: string }>(
    `SELECT DISTINCT f.source_folder AS folder FROM mail_uid_map m JOIN mail_folder_state f ON f.id = m.folder_id
      WHERE f.source_mailbox = ? AND f.target_mailbox = ? AND m.state IN ('bad', 'large')`,
    [sourceMailbox, targetMailbox],
  );
  return new Set(rows.map((r) => r.folder));
}

export async function startRun(store: StateStore, sourceMailbox: string, targetMailbox: string): Promise<number> {
  const row = await store.sql.get<{ id: number | bigint }>(
    `INSERT INTO mail_copy_run (source_mailbox, target_mailbox, started_at, status) VALUES (?, ?, ?, 'running') RETURNING id`,
    [sourceMailbox, targetMailbox, new Date().toISOString()],
  );
  return Number(row?.id);
}

export async function finishRun(store: StateStore, runId: number, status: string, report: unknown): Promise<void> {
  await store.sql.run('UPDATE mail_copy_run SET finished_at = ?, status = ?, report = ? WHERE id = ?', [
    new Date().toISOString(),
    status,
    JSON.stringify(report),
    runId,
  ]);
}

/**
 * Messages and bytes on the target so far, per source → target pair, read from the UID maps:
 * the progress of copies running in any process on any host (`batch wait`).
 */
export async function copiedSoFar(
  store: StateStore,
  sourceMailboxes: readonly string[],
): Promise<Map<string, { targetMailbox: string; messages: number; bytes: number }[]>> {
  const out = new Map<string, { targetMailbox: string; messages: number; bytes: number }[]>();
  if (sourceMailboxes.length === 0) return out;
  const rows = await store.sql.all<{ source: string; target: string; messages: number | string; bytes: number | string | null }>(
    `SELECT f.source_mailbox AS source, f.target_mailbox AS target, COUNT(*) AS messages, SUM(m.size) AS bytes
      FROM mail_uid_map m JOIN mail_folder_state f ON f.id = m.folder_id
      WHERE m.state IN ('copied', 'matched') AND f.source_mailbox IN (${sourceMailboxes.map(() => '?').join(', ')})
      GROUP BY f.source_mailbox, f.target_mailbox`,
    [...sourceMailboxes],
  );
  for (const r of rows) {
    const list = out.get(r.source) ?? [];
    list.push({ targetMailbox: r.target, messages: Number(r.messages), bytes: Number(r.bytes ?? 0) });
    out.set(r.source, list);
  }
  return out;
}
