// What the calendar copy remembers between passes (035_calendar.sql): each source collection
// of a (source login, target login) pair with where it went and its sync token, and each
// object's source href, UID, ETag and target href. One exported function per operation.
import type { StateStore } from '../state/store.ts';
import type { CollectionKind } from './types.ts';

export interface CollectionState {
  id: number;
  sourceUrl: string;
  targetUrl: string;
  kind: CollectionKind;
  syncToken: string | null;
}

export interface ObjectState {
  sourceUrl: string;
  uid: string;
  sourceEtag: string;
  targetUrl: string;
}

export async function collectionState(
  s: StateStore,
  pair: { sourceLogin: string; targetLogin: string },
  sourceUrl: string,
  targetUrl: string,
  kind: CollectionKind,
): Promise<CollectionState> {
  await s.sql.run(
    `INSERT INTO calendar_collection (source_login, target_login, source_url, target_url, kind)
     VALUES (?, ?, ?, ?, ?) ON CONFLICT (source_login, target_login, source_url) DO NOTHING`,
    [pair.sourceLogin, pair.targetLogin, sourceUrl, targetUrl, kind],
  );
  const row = await s.sql.get<{ id: number; target_url: string; kind: string; sync_token: string | null }>(
    'SELECT id, target_url, kind, sync_token FROM calendar_collection WHERE source_login = ? AND target_login = ? AND source_url = ?',
    [pair.sourceLogin, pair.targetLogin, sourceUrl],
  );
  if (!row) throw new Error(`calendar_collection row for ${sourceUrl} vanished`); // the INSERT above made it
  return { id: Number(row.id), sourceUrl, targetUrl: row.target_url, kind: row.kind as CollectionKind, syncToken: row.sync_token };
}

export async function objectStates(s: StateStore, collectionId: number): Promise<Map<string, ObjectState>> {
  const rows = await s.sql.all<{ source_url: string; uid: string; source_etag: string; target_url: string }>(
    'SELECT source_url, uid, source_etag, target_url FROM calendar_object WHERE collection_id = ?',
    [collectionId],
  );
  return new Map(
    rows.map((r) => [r.source_url, { sourceUrl: r.source_url, uid: r.uid, sourceEtag: r.source_etag, targetUrl: r.target_url }]),
  );
}

/** The objects written in one pass, in one transaction. */
export async function recordObjects(s: StateStore, collectionId: number, rows: readonly ObjectState[]): Promise<void> {
  if (rows.length === 0) return;
  await s.sql.tx(async () => {
    for (let i = 0; i < rows.length; i += 200) {
      const part = rows.slice(i, i + 200);
      await s.sql.run(
        `INSERT INTO calendar_object (collection_id, source_url, uid, source_etag, target_url)
         VALUES ${part.map(() => '(?, ?, ?, ?, ?)').join(', ')}
         ON CONFLICT (collection_id, source_url) DO UPDATE SET uid = excluded.uid, source_etag = excluded.source_etag, target_url = excluded.target_url`,
        part.flatMap((r) => [collectionId, r.sourceUrl, r.uid, r.sourceEtag, r.targetUrl]),
      );
    }
  });
}

export async function forgetObjects(s: StateStore, collectionId: number, sourceUrls: readonly string[]): Promise<void> {
  await s.sql.tx(async () => {
    for (const u of sourceUrls)
      await s.sql.run('DELETE FROM calendar_object WHERE collection_id = ? AND source_url = ?', [collectionId, u]);
  });
}

/** The token to ask the next delta from; written only after every change up to it was copied. */
export async function recordSyncToken(s: StateStore, collectionId: number, token: string | null): Promise<void> {
  await s.sql.run('UPDATE calendar_collection SET sync_token = ?, copied_at = ? WHERE id = ?', [
    token,
    new Date().toISOString(),
    collectionId,
  ]);
}
