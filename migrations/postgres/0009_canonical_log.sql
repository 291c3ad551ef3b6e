-- Kleroterion store, schema version 9 (PostgreSQL): each log entry is stored once, as its canonical
-- bytes (issue 10, "Compact storage"; the JSON view is derived).
--
-- Versions 4 to 8 kept each entry as its JSON export line compressed with raw DEFLATE, with
-- copies of its time and event type in columns: about 450 bytes an entry. From version 9 on a row
-- holds
--   * `idx`   the entry's position (the primary key, so the log cannot fork inside one database);
--   * `kind`  its event tag (SPEC §3.3: 0 genesis ... 9 conflict_declared ...), an integer, for
--             the one reader that looks for one type (the partial index `log_conflicts`);
--   * `hash`  its entry hash (32 bytes): a start from a snapshot rebuilds the Merkle tree from
--             these without decoding any entry, and it is the `prev` of the next entry;
--   * `entry` exactly its canonical bytes, `entry_bytes` of SPEC §3 (what the entry hash covers,
--             after the tag and `prev`: SPEC §4.1), decoded by `klero_core::LogEntry::from_canonical`.
-- The previous hash is not in the entry's bytes and is not repeated: a reader of entries `a..b`
-- reads the row `a - 1` as well and takes its `hash` (zeros for entry 0). The JSON export line,
-- the entry's time and its type are all derived from the bytes. A reader checks that `idx` and
-- `kind` agree with the decoded entry; replaying the log recomputes every hash from `prev` and the
-- bytes, so the hash chain names any altered, inserted or deleted row, as before.
--
-- The rows of the version-8 table are converted by the store, in the same transaction as this
-- migration (SQL cannot parse JSON into canonical bytes), and the old table is then dropped.
-- A row's `hash` is carried over as it is; its `at` and `kind` columns are not (the entry's own
-- time and type are). A row whose JSON cannot be read is carried as its stored bytes, which do
-- not decode, so the replay that follows names it.
DROP TRIGGER log_no_update_or_delete ON log;
DROP TRIGGER log_no_truncate ON log;
DROP INDEX log_conflicts;
ALTER TABLE log RENAME TO log_v8;

CREATE TABLE log (
    idx   BIGINT   PRIMARY KEY CHECK (idx >= 0),
    kind  SMALLINT NOT NULL,
    hash  BYTEA    NOT NULL CHECK (length(hash) = 32),
    entry BYTEA    NOT NULL
);

CREATE INDEX log_conflicts ON log (idx) WHERE kind = 9;

CREATE TRIGGER log_no_update_or_delete BEFORE UPDATE OR DELETE ON log
    FOR EACH ROW EXECUTE FUNCTION klero_log_append_only();

CREATE TRIGGER log_no_truncate BEFORE TRUNCATE ON log
    FOR EACH STATEMENT EXECUTE FUNCTION klero_log_append_only();
