-- Kleroterion store, schema version 4 (SQLite): the log is stored compactly (issue 10).
--
-- Versions 1 to 3 kept each entry as its JSON export line, plus `hash` and `prev` in hex: about
-- 2 KB an entry once the page slack is counted. From version 4 on a row holds
--   * `idx`   the entry's position (the primary key, so the log cannot fork inside one database);
--   * `at`    its time, for SQL that asks "when";
--   * `kind`  its event type (`case_filed`, `draw`, ...), for readers that look for one type;
--   * `hash`  its entry hash (32 bytes), so a start from a snapshot rebuilds the Merkle tree
--             without decoding every entry;
--   * `entry` its JSON export line (`LogEntry::to_json_line()`), compressed with raw DEFLATE
--             (RFC 1951). The previous hash is inside it, so it is not repeated.
-- A full replay checks that `idx`, `at`, `kind` and `hash` agree with the decoded entry, and the hash
-- chain names any altered entry, as before.
--
-- The rows of the version-3 table are moved into the new one by the store, in the same
-- transaction as this migration (SQL cannot compress), and the old table is then dropped.
DROP TRIGGER log_no_update;
DROP TRIGGER log_no_delete;
ALTER TABLE log RENAME TO log_v3;

CREATE TABLE log (
    idx   INTEGER PRIMARY KEY CHECK (idx >= 0),
    at    INTEGER NOT NULL,
    kind  TEXT    NOT NULL,
    hash  BLOB    NOT NULL CHECK (length(hash) = 32),
    entry BLOB    NOT NULL
);

CREATE INDEX log_by_kind ON log (kind, idx);

CREATE TRIGGER log_no_update BEFORE UPDATE ON log
BEGIN
    SELECT RAISE(ABORT, 'the log is append-only: entries cannot be changed');
END;

CREATE TRIGGER log_no_delete BEFORE DELETE ON log
BEGIN
    SELECT RAISE(ABORT, 'the log is append-only: entries cannot be deleted');
END;

-- State snapshots, so that a start replays only the entries after the latest one (issue 10). A
-- row is written in the same transaction as the entries it covers: the writer's replayed log
-- (`klero_core::Log`: the state, the Merkle compact range, the head) after `size` entries, as
-- deflated CBOR. `digest` is SHA-256("klero/snapshot/v1" || 0x00 || size (8 bytes, big-endian) ||
-- head || root || state), so a damaged snapshot is refused; a start also checks that `head` is
-- the stored hash of entry `size - 1` and that the Merkle root of the stored hashes is `root`,
-- and otherwise replays the whole log. Only the latest row is kept.
CREATE TABLE snapshots (
    size   INTEGER PRIMARY KEY CHECK (size > 0),
    head   BLOB NOT NULL,
    root   BLOB NOT NULL,
    digest BLOB NOT NULL,
    state  BLOB NOT NULL,
    at     INTEGER NOT NULL
);
