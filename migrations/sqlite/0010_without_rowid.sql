-- Kleroterion store, schema version 10 (SQLite): projections without a second copy of their keys
-- (issue 10, compact storage).
--
-- `cases` and `assignments` have text primary keys. An ordinary SQLite table stores each row under
-- a hidden rowid and its primary key again in a separate index (`sqlite_autoindex_*`): on a
-- national log that second copy cost about 21 bytes an entry (8 for `cases`, 13 for
-- `assignments`). A WITHOUT ROWID table is stored in its primary key's own B-tree, so the key is
-- held once. Columns, keys, checks and the one index are as in schema 8.
--
-- `case_archive_by_key` indexed the whole 32-byte duplicate key of every archived case. It now
-- indexes the key's first 8 bytes: a lookup names the prefix (so the index applies) and the whole
-- key (so a prefix that two matters share still finds only the one asked for). Two different
-- matters share a prefix with odds of about 2^-64 per pair, so the index still leads to one row.
CREATE TABLE cases_v10 (
    case_id        TEXT    PRIMARY KEY,
    court          TEXT    NOT NULL,
    division       TEXT    NOT NULL,
    case_type      TEXT    NOT NULL,
    weight         INTEGER NOT NULL,
    filed_idx      INTEGER NOT NULL,
    filed_at       INTEGER NOT NULL,
    closed_idx     INTEGER,
    closing_reason TEXT
) WITHOUT ROWID;
INSERT INTO cases_v10 SELECT case_id, court, division, case_type, weight, filed_idx, filed_at,
    closed_idx, closing_reason FROM cases;
DROP TABLE cases;
ALTER TABLE cases_v10 RENAME TO cases;
CREATE INDEX cases_closed_by_court ON cases (court, closed_idx) WHERE closed_idx IS NOT NULL;

CREATE TABLE assignments_v10 (
    case_id    TEXT    NOT NULL,
    judge      TEXT    NOT NULL,
    draw_idx   INTEGER NOT NULL,
    seat       INTEGER NOT NULL,
    method     TEXT    NOT NULL CHECK (method IN ('random', 'related', 'duplicate')),
    ended_idx  INTEGER,
    end_reason TEXT,
    PRIMARY KEY (case_id, judge, draw_idx)
) WITHOUT ROWID;
INSERT INTO assignments_v10 SELECT case_id, judge, draw_idx, seat, method, ended_idx, end_reason
    FROM assignments;
DROP TABLE assignments;
ALTER TABLE assignments_v10 RENAME TO assignments;

DROP INDEX case_archive_by_key;
CREATE INDEX case_archive_by_key ON case_archive (substr(dup_key, 1, 8), ordinal);
