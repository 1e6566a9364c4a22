-- A msgid is the idempotency key of one message: the first request's SHA-256 of its
-- canonical `input` (lowercase hex) is kept with its infno, so that a repeat with other
-- content is refused instead of given the first answer. Rows from before are '' (unknown).
ALTER TABLE gateway_messages ADD COLUMN digest TEXT NOT NULL DEFAULT '';
