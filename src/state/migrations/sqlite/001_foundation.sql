-- The foundation: what every capability shares.
-- Migrations are numbered; each capability takes its own range so that work in
-- parallel never collides: 001-009 foundation, 010-019 sync, 020-029 mail,
-- 030-039 migration, 040-049 transport/audit, 050-059 coexistence.

-- Leases: a named lock with an owner and an expiry, so that a crashed holder does
-- not block forever (e.g. one copy per target mailbox at a time).
CREATE TABLE lease (
  name        TEXT PRIMARY KEY,
  holder      TEXT NOT NULL,
  acquired_at TEXT NOT NULL,
  expires_at  TEXT NOT NULL
);

-- Endpoint checks from `crossforest check`, kept for the dashboard and reports.
CREATE TABLE endpoint_check (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  checked_at  TEXT NOT NULL,
  organization TEXT NOT NULL,
  endpoint    TEXT NOT NULL,
  ok          INTEGER NOT NULL,
  detail      TEXT NOT NULL
);
