-- Migration batches (src/migration): batches, the per-mailbox pipeline state, one row per
-- step attempt (timings, what it did), and throughput samples for the report's chart.

CREATE TABLE migration_batch (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  name              TEXT NOT NULL UNIQUE,
  source_org        TEXT NOT NULL,
  target_org        TEXT NOT NULL,
  target_store      TEXT NOT NULL,
  -- BatchOptions as JSON (retry interval, limits, merge, concurrency, window, cutover, workgroup)
  options           TEXT NOT NULL,
  -- where the names came from: file path or group DN
  origin            TEXT NOT NULL,
  -- created | running | suspended | synced | completed | completed-with-errors
  status            TEXT NOT NULL DEFAULT 'created',
  complete_requested INTEGER NOT NULL DEFAULT 0,
  created_at        TEXT NOT NULL,
  started_at        TEXT,
  finished_at       TEXT,
  report_path       TEXT
);

CREATE TABLE migration_mailbox (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  batch_id        INTEGER NOT NULL REFERENCES migration_batch(id) ON DELETE CASCADE,
  -- the name as written in the batch file
  name            TEXT NOT NULL,
  source_dn       TEXT NOT NULL,
  source_login    TEXT NOT NULL,
  source_mail     TEXT NOT NULL,
  -- the target object and mailbox, decided at creation (PrestagePlan as JSON)
  plan            TEXT NOT NULL,
  -- queued | prestaged | copied | cutover | cleaned | verified | done | failed | suspended
  state           TEXT NOT NULL DEFAULT 'queued',
  -- for failed / suspended: the last completed state, where resume continues
  resume_state    TEXT,
  deltas          INTEGER NOT NULL DEFAULT 0,
  error           TEXT,
  -- what cutover changed on the source object, for rollback (JSON)
  saved           TEXT,
  messages        INTEGER NOT NULL DEFAULT 0,
  bytes           INTEGER NOT NULL DEFAULT 0,
  copied          INTEGER NOT NULL DEFAULT 0,
  copied_bytes    INTEGER NOT NULL DEFAULT 0,
  skipped         TEXT NOT NULL DEFAULT '[]',
  fidelity        REAL,
  verify          TEXT,
  updated_at      TEXT NOT NULL,
  UNIQUE (batch_id, source_login)
);
CREATE INDEX migration_mailbox_login ON migration_mailbox (source_login);

CREATE TABLE migration_step (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  mailbox_id   INTEGER NOT NULL REFERENCES migration_mailbox(id) ON DELETE CASCADE,
  step         TEXT NOT NULL,
  started_at   TEXT NOT NULL,
  finished_at  TEXT,
  -- running | done | failed
  status       TEXT NOT NULL,
  messages     INTEGER NOT NULL DEFAULT 0,
  bytes        INTEGER NOT NULL DEFAULT 0,
  detail       TEXT
);
CREATE INDEX migration_step_mailbox ON migration_step (mailbox_id);

CREATE TABLE migration_sample (
  batch_id    INTEGER NOT NULL REFERENCES migration_batch(id) ON DELETE CASCADE,
  at          TEXT NOT NULL,
  messages    INTEGER NOT NULL,
  bytes       INTEGER NOT NULL
);
CREATE INDEX migration_sample_batch ON migration_sample (batch_id, at);
