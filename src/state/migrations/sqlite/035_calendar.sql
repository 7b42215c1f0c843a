-- Calendars and contacts move with the mailbox (issue 14). Per (source login, target login)
-- and source collection: where it was copied to and the source's last sync token; per object:
-- the source href, its UID and ETag at the last copy, and where it is on the target. A delta
-- pass asks the source for changes since the token (or compares ETags) and writes only those.

CREATE TABLE calendar_collection (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  source_login  TEXT NOT NULL,
  target_login  TEXT NOT NULL,
  source_url    TEXT NOT NULL,
  target_url    TEXT NOT NULL,
  kind          TEXT NOT NULL,
  sync_token    TEXT,
  copied_at     TEXT,
  UNIQUE (source_login, target_login, source_url)
);

CREATE TABLE calendar_object (
  collection_id  INTEGER NOT NULL REFERENCES calendar_collection(id) ON DELETE CASCADE,
  source_url     TEXT NOT NULL,
  uid            TEXT NOT NULL,
  source_etag    TEXT NOT NULL,
  target_url     TEXT NOT NULL,
  PRIMARY KEY (collection_id, source_url)
);
