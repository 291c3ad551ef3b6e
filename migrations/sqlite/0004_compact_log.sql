-- Kleroterion store, schema version 4 (SQLite): the log is stored compactly (issue 10).
--
-- Versions 1 to 3 kept each entry as its JSON export line, plus `hash` and `prev` in hex: about
-- 2 KB an entry once the page slack is counted. From version 4 on a row holds
--   * `idx`   the entry's position (the primary key, so the log cannot fork inside one database);
--   * `at`    its time, for SQL that asks "when";
--   * `kind`  its event type (`case_filed`, `draw`, ...), for readers that look for one type;
--   * `entry` its JSON export line (`LogEntry::to_json_line()`), compressed with raw DEFLATE
--             (RFC 1951). The hash and the previous hash are inside it, so they are not repeated.
-- The store checks at open that `idx`, `at` and `kind` agree with the decoded entry, and the hash
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
