-- Kleroterion store, schema version 12 (PostgreSQL): the case archive's MACs truncated to 16
-- bytes (issue 10, compact storage): a row's `mac` is the first 16 bytes of its HMAC-SHA-256
-- (RFC 2104 §5 truncation; a forger's chance per try stays 2^-128). The reader accepts exactly
-- 16 bytes, so the existing rows are truncated here. See the SQLite file of the same name.
UPDATE case_archive SET mac = substring(mac FROM 1 FOR 16) WHERE length(mac) > 16;
