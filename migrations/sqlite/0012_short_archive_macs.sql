-- Kleroterion store, schema version 12 (SQLite): the case archive's MACs truncated to 16 bytes
-- (issue 10, compact storage).
--
-- A `case_archive` row's `mac` was the whole HMAC-SHA-256 (32 bytes) of the row under a key
-- derived from the party pepper. From version 12 on it is the HMAC's first 16 bytes (truncation
-- as RFC 2104 §5 describes it): someone who can write the database but not read the pepper still
-- has a chance of 2^-128 per try of making an altered row pass. The reader accepts a MAC of
-- exactly 16 bytes, so the existing rows are truncated here; a truncated MAC of an intact row is
-- the MAC a store of this version writes for it, and one of an altered row still does not fit.
UPDATE case_archive SET mac = substr(mac, 1, 16) WHERE length(mac) > 16;
