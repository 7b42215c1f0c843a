-- Mailbox copy state (issue 4): per folder, what the source looked like at the last
-- pass and which source UID became which target UID, so a re-run is a delta and a
-- crashed run resumes exactly.

CREATE TABLE mail_folder_state (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  source_mailbox     TEXT NOT NULL,
  target_mailbox     TEXT NOT NULL,
  source_folder      TEXT NOT NULL,
  target_folder      TEXT NOT NULL,
  -- UIDVALIDITY is a 32-bit unsigned number that imapflow returns as a BigInt: kept as text.
  source_uidvalidity TEXT,
  target_uidvalidity TEXT,
  -- What the source STATUS said when the last pass finished (the no-change fast path).
  source_uidnext     INTEGER,
  source_messages    INTEGER,
  source_modseq      TEXT,
  -- The target's UIDNEXT after our last recorded APPEND: if it moved, someone (a crashed
  -- run of ours, or mail delivery) appended, and fingerprints are compared before copying.
  target_uidnext     INTEGER,
  target_messages    INTEGER,
  target_modseq      TEXT,
  highest_uid        INTEGER NOT NULL DEFAULT 0,
  completed_at       TEXT,
  UNIQUE (source_mailbox, target_mailbox, source_folder)
);

CREATE TABLE mail_uid_map (
  folder_id    INTEGER NOT NULL REFERENCES mail_folder_state(id) ON DELETE CASCADE,
  source_uid   INTEGER NOT NULL,
  -- NULL when the message was skipped (bad or large item).
  target_uid   INTEGER,
  -- copied | matched (already on the target by fingerprint) | bad | large
  state        TEXT NOT NULL,
  fingerprint  TEXT,
  -- Source flags and keywords last carried to the target, space-separated, sorted.
  flags        TEXT NOT NULL DEFAULT '',
  size         INTEGER NOT NULL DEFAULT 0,
  reason       TEXT,
  PRIMARY KEY (folder_id, source_uid)
) WITHOUT ROWID;

CREATE INDEX mail_uid_map_target ON mail_uid_map (folder_id, target_uid);

CREATE TABLE mail_copy_run (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  source_mailbox TEXT NOT NULL,
  target_mailbox TEXT NOT NULL,
  started_at     TEXT NOT NULL,
  finished_at    TEXT,
  status         TEXT NOT NULL,
  report         TEXT
);
