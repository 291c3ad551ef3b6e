-- Kleroterion store, schema version 13 (SQLite): the full filters of evicted cases, kept apart
-- from the state snapshots (issue 10, "filings/s within 10% of an empty log's").
--
-- A state snapshot holds the writer's filter of evicted cases' numbers and duplicate keys
-- (`klero_core::resident::Seen`): a Bloom filter that grows by adding filters. A full filter never
-- changes again, yet every snapshot used to carry every filter: about 16 MB at 10M entries,
-- encoded and written every 100,000 entries beside the writer. From this version a snapshot names
-- each full filter by its digest only, and its words are a row here, written once by the first
-- snapshot that holds it:
--   * `digest` SHA-256 over the filter's shape and words (`SealedFilter::digest`); the snapshot's
--              state names it, and the snapshot's HMAC covers the state;
--   * `words`  the filter's words, 8 bytes each, little-endian.
-- A start from a snapshot reads the rows its state names and checks each against its digest: a
-- missing or altered row refuses the snapshot (the log is then replayed, as for any refused
-- snapshot). Writing a snapshot deletes the rows it no longer names.
CREATE TABLE seen_filters (
    digest BLOB PRIMARY KEY CHECK (length(digest) = 32),
    words  BLOB NOT NULL
);
