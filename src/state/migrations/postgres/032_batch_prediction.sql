-- PostgreSQL twin of ../sqlite/032_batch_prediction.sql (same tables and columns): INTEGER is BIGINT (64-bit,
-- as SQLite's), ids are identity columns, REAL is DOUBLE PRECISION. Change both together.

-- The capacity plan of a batch as predicted when it first started (src/migration/prediction.ts),
-- before any of its own passes existed, so its report can set prediction against reality.
-- One row per batch, written once and never replaced; `failed` says no plan could be made.

CREATE TABLE migration_prediction (
  batch_id            BIGINT PRIMARY KEY REFERENCES migration_batch(id) ON DELETE CASCADE,
  made_at             TEXT NOT NULL,
  -- made | failed
  status              TEXT NOT NULL,
  -- why no plan could be made (status failed)
  warning             TEXT,
  predicted_seconds   DOUBLE PRECISION,
  -- the window the batch had to fit; NULL: it had none
  window_seconds      DOUBLE PRECISION,
  fits                BIGINT,
  mailboxes_that_fit  BIGINT,
  -- mailboxes copied at once (batch concurrency within the store limits)
  streams             BIGINT,
  -- where the rate came from: measured on N earlier passes, given, or assumed
  rate_source         TEXT,
  bytes_per_second    DOUBLE PRECISION,
  -- NULL: the rate was not bound by message count (given or assumed in MB/s)
  messages_per_second DOUBLE PRECISION,
  overhead_seconds    DOUBLE PRECISION,
  messages            BIGINT,
  bytes               BIGINT,
  -- per mailbox, JSON: [{login, messages, bytes, seconds}]
  per_mailbox         TEXT
);
