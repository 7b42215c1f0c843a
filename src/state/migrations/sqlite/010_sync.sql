-- GAL sync (src/sync): connector spaces, metaverse, pending exports, watermarks, run history.
-- Attribute values are JSON objects {attribute: [values]} as last imported/computed.

CREATE TABLE sync_mv_object (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  object_type  TEXT NOT NULL,
  attrs        TEXT NOT NULL DEFAULT '{}',
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL
);

-- Lowercased values of the metaverse attributes used by join rules and indexes.
CREATE TABLE sync_mv_value (
  mv_id  INTEGER NOT NULL REFERENCES sync_mv_object(id) ON DELETE CASCADE,
  attr   TEXT NOT NULL,
  value  TEXT NOT NULL
);
CREATE INDEX sync_mv_value_lookup ON sync_mv_value (attr, value);
CREATE INDEX sync_mv_value_owner ON sync_mv_value (mv_id);

CREATE TABLE sync_cs_object (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  agent         TEXT NOT NULL,
  anchor        TEXT NOT NULL,
  dn            TEXT NOT NULL,
  dn_norm       TEXT NOT NULL,
  object_class  TEXT NOT NULL,
  attrs         TEXT NOT NULL DEFAULT '{}',
  attrs_hash    TEXT NOT NULL DEFAULT '',
  -- normal | filtered | error | deleted
  state         TEXT NOT NULL DEFAULT 'normal',
  state_reason  TEXT,
  mv_id         INTEGER REFERENCES sync_mv_object(id) ON DELETE SET NULL,
  provisioned   INTEGER NOT NULL DEFAULT 0,
  -- changed since the last synchronization: what a delta sync looks at
  sync_pending  INTEGER NOT NULL DEFAULT 1,
  -- the pending export: add | modify | delete, its attributes, a new DN for a rename
  pending_op    TEXT,
  pending_attrs TEXT,
  pending_dn    TEXT,
  -- what the last export wrote, until the confirming import
  exported      TEXT,
  seen_run      INTEGER,
  imported_at   TEXT,
  UNIQUE (agent, anchor)
);
CREATE INDEX sync_cs_dn ON sync_cs_object (agent, dn_norm);
CREATE INDEX sync_cs_mv ON sync_cs_object (mv_id);
CREATE INDEX sync_cs_pending ON sync_cs_object (agent, sync_pending);
CREATE INDEX sync_cs_export ON sync_cs_object (agent, pending_op);

-- Addresses (smtp:x, x500:y, lowercased) each connector-space object answers to or will
-- once its pending export is written: proxy-address conflicts are looked up here.
CREATE TABLE sync_cs_address (
  cs_id    INTEGER NOT NULL REFERENCES sync_cs_object(id) ON DELETE CASCADE,
  agent    TEXT NOT NULL,
  address  TEXT NOT NULL
);
CREATE INDEX sync_cs_address_lookup ON sync_cs_address (agent, address);
CREATE INDEX sync_cs_address_owner ON sync_cs_address (cs_id);

CREATE TABLE sync_watermark (
  agent  TEXT NOT NULL,
  kind   TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (agent, kind)
);

CREATE TABLE sync_run (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  profile     TEXT NOT NULL,
  started_at  TEXT NOT NULL,
  ended_at    TEXT,
  -- running | success | completed-with-errors | stopped | failed
  status      TEXT NOT NULL,
  counts      TEXT NOT NULL DEFAULT '{}',
  steps       TEXT NOT NULL DEFAULT '[]',
  message     TEXT
);

CREATE TABLE sync_run_error (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id   INTEGER NOT NULL REFERENCES sync_run(id) ON DELETE CASCADE,
  agent    TEXT NOT NULL,
  dn       TEXT NOT NULL,
  code     TEXT NOT NULL,
  reason   TEXT NOT NULL,
  at       TEXT NOT NULL
);
CREATE INDEX sync_run_error_run ON sync_run_error (run_id);
