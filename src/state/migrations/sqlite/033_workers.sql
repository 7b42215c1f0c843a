-- Work on many hosts (issue 12). Each step names the worker that ran it (host:pid), so
-- `batch show` and the dashboard can say who moved a mailbox; `batch_detached` marks a batch
-- started with `batch start --detach`, whose mailboxes the workers take from the job queue.
-- state_host: the host that owns a SQLite store (one row; a second host is refused, since a
-- SQLite file is not shared safely). PostgreSQL stores leave it empty: any host may share them.

ALTER TABLE migration_step ADD COLUMN worker TEXT;
ALTER TABLE migration_batch ADD COLUMN detached INTEGER NOT NULL DEFAULT 0;

CREATE TABLE state_host (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  host        TEXT NOT NULL,
  first_seen  TEXT NOT NULL
);
