-- The SHA-256 of each copied message's full bytes as read from the source (issue 15): what a
-- full verify compares the target's bytes with. NULL for messages matched on the target by
-- fingerprint, skipped, or copied before this column existed.
ALTER TABLE mail_uid_map ADD COLUMN content_sha256 TEXT;
