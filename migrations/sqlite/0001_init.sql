-- Kleroterion store, schema version 1 (SQLite).
--
-- Applied by klero-store at open, inside one transaction, and recorded in `klero_schema`.
-- Shipped migrations are never edited: the store records each migration's SHA-256 and refuses to
-- open a database whose applied migration differs from the one it ships. Changes go in a new file.
--
-- Conventions (identical in migrations/postgres, so one set of queries serves both engines):
--   * counters, indices and times are 64-bit integers (SQLite INTEGER is 64-bit);
--   * times are milliseconds since the Unix epoch, as in the log entries themselves;
--   * hashes and secrets are lowercase hex TEXT, the same spelling as in the log's JSON, so that a
--     person with a SQL prompt can compare a column with an exported entry by eye;
--   * booleans are INTEGER 0/1 with a CHECK (SQLite has no boolean type).

-- The log: the source of truth. Everything else in this database except `secrets` and `tokens`
-- can be rebuilt from it (Store::rebuild_projections).
--
-- `idx` is the entry's position, from 0. As the PRIMARY KEY it is unique, so two writers that
-- raced to append entry n cannot both succeed: the log cannot fork inside one database. In SQLite
-- an INTEGER PRIMARY KEY is the rowid itself, so reading the log in order is a rowid scan.
--
-- `entry` is exactly `LogEntry::to_json_line()`, the export format, and is what the store replays
-- and verifies at every open. `at`, `hash` and `prev` repeat fields of the entry so that SQL can
-- query them; the store checks at open that they agree with `entry`.
CREATE TABLE log (
    idx   INTEGER PRIMARY KEY CHECK (idx >= 0),
    at    INTEGER NOT NULL,
    entry TEXT    NOT NULL,
    hash  TEXT    NOT NULL CHECK (length(hash) = 64),
    prev  TEXT    NOT NULL CHECK (length(prev) = 64)
);

-- Append-only, enforced by the database as well as by the code: an UPDATE or DELETE of a log row
-- fails. (Someone with full access can drop these triggers; then the hash chain, which the store
-- verifies at every open and any observer verifies offline, names the first altered entry.)
CREATE TRIGGER log_no_update BEFORE UPDATE ON log
BEGIN
    SELECT RAISE(ABORT, 'the log is append-only: entries cannot be changed');
END;

CREATE TRIGGER log_no_delete BEFORE DELETE ON log
BEGIN
    SELECT RAISE(ABORT, 'the log is append-only: entries cannot be deleted');
END;

-- Secrets that must never enter the log: the party pepper (name 'pepper') and the secret of each
-- built-in beacon hash chain (name 'beacon/<anchor hex>'). A chain's secret is written in the same
-- transaction as the entry that publishes its anchor, so an anchor without its secret cannot exist.
CREATE TABLE secrets (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

-- Idempotency keys: a retried submission with the same (scope, key) gets the entries of the first
-- one instead of appending again. Written in the same transaction as those entries. The entries of
-- one submission are contiguous: `first_idx .. first_idx + count`.
CREATE TABLE idempotency (
    scope     TEXT    NOT NULL,
    key       TEXT    NOT NULL,
    first_idx INTEGER NOT NULL,
    count     INTEGER NOT NULL CHECK (count >= 1),
    at        INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);

-- Bearer tokens. Only the SHA-256 of a token is stored, so a copy of the database does not give
-- anyone a working token.
CREATE TABLE tokens (
    hash       TEXT    PRIMARY KEY CHECK (length(hash) = 64),
    role       TEXT    NOT NULL CHECK (role IN ('clerk', 'judge', 'court_admin', 'system_admin')),
    court      TEXT,
    judge      TEXT,
    created_at INTEGER NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);

-- Projections: derived from the log, written in the same transaction as the entries that change
-- them, and rebuildable from the log. They exist for SQL reporting; the service itself answers
-- from the state it replays in memory. No foreign keys: a projection row is never the authority.

-- One row per case filed.
CREATE TABLE cases (
    case_id        TEXT    PRIMARY KEY,
    court          TEXT    NOT NULL,
    division       TEXT    NOT NULL,
    case_type      TEXT    NOT NULL,
    weight         INTEGER NOT NULL,
    filed_idx      INTEGER NOT NULL,
    filed_at       INTEGER NOT NULL,
    closed_idx     INTEGER,
    closing_reason TEXT
);

CREATE INDEX cases_by_court ON cases (court, filed_idx);

-- Every seat a judge has held on a case: opened by a draw entry, ended by a recusal or a
-- reassignment (a closed case stays on its judges' dockets, as in the core's state). A judge's
-- current docket is their rows with `ended_idx IS NULL`.
CREATE TABLE assignments (
    case_id    TEXT    NOT NULL,
    judge      TEXT    NOT NULL,
    draw_idx   INTEGER NOT NULL,
    seat       INTEGER NOT NULL,
    method     TEXT    NOT NULL CHECK (method IN ('random', 'related', 'duplicate')),
    ended_idx  INTEGER,
    end_reason TEXT,
    PRIMARY KEY (case_id, judge, draw_idx)
);

CREATE INDEX assignments_docket ON assignments (judge, ended_idx);

-- Lifetime workload per judge: cases and case-weight assigned, and seats currently held on open
-- cases. (The windowed, share-normalized load the draw uses is a function of the day and lives in
-- the core's state; these are the plain counters a report needs.)
CREATE TABLE judge_loads (
    judge           TEXT    PRIMARY KEY,
    court           TEXT    NOT NULL,
    cases_assigned  INTEGER NOT NULL,
    weight_assigned INTEGER NOT NULL,
    open_cases      INTEGER NOT NULL
);
