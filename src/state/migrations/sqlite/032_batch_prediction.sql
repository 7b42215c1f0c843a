-- The capacity plan of a batch as predicted when it first started (src/migration/prediction.ts),
-- before any of its own passes existed, so its report can set prediction against reality.
-- One row per batch, written once and never replaced; `failed` says no plan could be made.

CREATE TABLE migration_prediction (
  batch_id            INTEGER PRIMARY KEY REFERENCES migration_batch(id) ON DELETE CASCADE,
  made_at             TEXT NOT NULL,
  -- made | failed
  status              TEXT NOT NULL,
  -- why no plan could be made (status failed)
  warning             TEXT,
  predicted_seconds   REAL,
  -- the window the batch had to fit; NULL: it had none
  window_seconds      REAL,
  fits                INTEGER,
  mailboxes_that_fit  INTEGER,
  -- mailboxes copied at once (batch concurrency within the store limits)
  streams             INTEGER,
  -- where the rate came from: measured on N earlier passes, given, or assumed
  rate_source         TEXT,
  bytes_per_second    REAL,
  -- NULL: the rate was not bound by message count (given or assumed in MB/s)
  messages_per_second REAL,
  overhead_seconds    REAL,
  messages            INTEGER,
  bytes               INTEGER,
  -- per mailbox, JSON: [{login, messages, bytes, seconds}]
  per_mailbox         TEXT
);
