-- PostgreSQL twin of ../sqlite/031_notices.sql (same tables and columns): INTEGER is BIGINT (64-bit,
-- as SQLite's), ids are identity columns, REAL is DOUBLE PRECISION. Change both together.

-- User notices of migration batches (src/migration/notices.ts): one row per mailbox and
-- notice kind. A row is written `sending` before the SMTP transaction and `sent` after
-- it, so a resumed run never sends a notice twice; `failed` rows are retried next run.

CREATE TABLE migration_notice (
  mailbox_id  BIGINT NOT NULL REFERENCES migration_mailbox(id) ON DELETE CASCADE,
  -- before | after
  kind        TEXT NOT NULL,
  -- sending | sent | failed | missed | unknown
  status      TEXT NOT NULL,
  recipient   TEXT NOT NULL,
  message_id  TEXT NOT NULL,
  attempts    BIGINT NOT NULL DEFAULT 0,
  -- why the last attempt failed, or why the notice was not sent (a warning on the mailbox)
  warning     TEXT,
  sent_at     TEXT,
  updated_at  TEXT NOT NULL,
  PRIMARY KEY (mailbox_id, kind)
);
