-- Kleroterion store, schema version 5 (SQLite): closed cases archived for bounded memory (issue 10).
--
-- A closed case never changes again, and the rules read it only when a later filing names it (as a
-- duplicate, a related case or an earlier instance, SPEC §7.1 and §7.7). The writer therefore
-- writes every case, in the transaction of the entry that closes it, to `case_archive`, and may
-- then drop it from memory; before applying an entry that names an evicted case it reads the case
-- back from here. A row holds
--   * `ordinal` the case's position in filing order (from 0);
--   * `case_id` its number;
--   * `dup_key` its duplicate key (SPEC §4.5), so "the latest filing of this matter" is one lookup;
--   * `record`  the case as the state holds it (`klero_core::state::CaseState`), CBOR;
--   * `mac`     HMAC-SHA-256 of (ordinal, case_id, dup_key, record) under a key derived from the
--               party pepper, which lives in the secret store, not in this database: a database
--               administrator who edits a row cannot make it pass, and the writer refuses it.
-- Like every projection it is derived from the log: `klero rebuild` rewrites it.
CREATE TABLE case_archive (
    ordinal INTEGER PRIMARY KEY CHECK (ordinal >= 0),
    case_id TEXT    NOT NULL UNIQUE,
    dup_key BLOB    NOT NULL,
    record  BLOB    NOT NULL,
    mac     BLOB    NOT NULL
);

CREATE INDEX case_archive_by_key ON case_archive (dup_key, ordinal);
