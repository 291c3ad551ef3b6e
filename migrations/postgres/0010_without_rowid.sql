-- Kleroterion store, schema version 10 (PostgreSQL); see migrations/sqlite/0010_without_rowid.sql.
--
-- SQLite's half of this version (tables stored in their primary key's B-tree) has no counterpart
-- here: a PostgreSQL table is always a heap beside its primary key index. Both engines index only
-- the first 8 bytes of an archived case's duplicate key; a lookup names the prefix and the key.
DROP INDEX case_archive_by_key;
CREATE INDEX case_archive_by_key ON case_archive (substr(dup_key, 1, 8), ordinal);
