-- Initial passwords of users pre-stage created in Active Directory (issue 13): sealed with
-- AES-256-GCM under the project's key file (src/migration/initialPassword.ts), never in clear.
-- One row per mailbox, written once; it goes with its batch.

CREATE TABLE migration_initial_password (
  mailbox_id  INTEGER PRIMARY KEY REFERENCES migration_mailbox(id) ON DELETE CASCADE,
  sealed      TEXT NOT NULL,
  created_at  TEXT NOT NULL
);
