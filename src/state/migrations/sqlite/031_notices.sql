-- User notices of migration batches (src/migration/notices.ts): one row per mailbox and
-- notice kind. A row is written `sending` before the SMTP transaction and `sent` after
-- it, so a resumed run never sends a notice twice; `failed` rows are retried next run.

CREATE TABLE migration_notice (
  mailbox_id  INTEGER NOT NULL REFERENCES migration_mailbox(id) ON DELETE CASCADE,
  -- before | after
  kind        TEXT NOT NULL,
  -- sending | sent | failed | missed | unknown
  status      TEXT NOT NULL,
  recipient   TEXT NOT NULL,
  message_id  TEXT NOT NULL,
  attempts    INTEGER NOT NULL DEFAULT 0,
  -- why the last attempt failed, or why the notice was not sent (a warning on the mailbox)
  warning     TEXT,
  sent_at     TEXT,
  updated_at  TEXT NOT NULL,
  PRIMARY KEY (mailbox_id, kind)
);
