-- Kleroterion store, schema version 13 (PostgreSQL); see migrations/sqlite/0013_seen_filters.sql.
CREATE TABLE seen_filters (
    digest BYTEA PRIMARY KEY CHECK (octet_length(digest) = 32),
    words  BYTEA NOT NULL
);
