-- Kleroterion store, schema version 11 (SQLite): no entry hash per row, and no bytes a row's key
-- already gives (issue 10, compact storage: the database at most twice the canonical bytes).
--
-- Up to version 10 each `log` row held its entry's 32-byte hash, so that a reader could take any
-- entry's `prev` from the row before it; the `tiles` table holds the same information for every
-- full tile of 256 entries (the leaf hash of each entry hash). From version 11 on
--   * a `log` row is `idx`, `kind` and `entry`: the entry's canonical bytes (SPEC §3.2) without
--     the version byte (1) and the index (the row's `idx`), which a reader puts back;
--   * `chain` holds the entry hashes a reader starts from and checks against: every entry's of
--     the partial tile (the entries after the last full tile), and in full tiles the last
--     entry's of each group of 32 (one row in 32). The writer writes it with the entries and
--     deletes a full tile's other rows in the commit that writes that tile's row in `tiles`.
-- A reader of entries `a..b` takes the hash of entry `a - 1` from `chain`, or that of the last
-- entry of the group of 32 before `a`'s and hashes the entries of `a`'s group before `a` (at
-- most 31),
-- computes each entry's hash from its predecessor's and its bytes (SPEC §4.1), and checks it
-- against the entry's `chain` row and its tile's leaf in `tiles`: an entry with neither, or
-- whose hash disagrees, is named. An edited, moved, inserted or deleted `log` row, and an edited
-- or deleted `chain` or `tiles` row, are therefore still named at the first entry they change.
--
-- The rows are converted by the store, in the same transaction as this migration, from the
-- version-10 table (`log_v10`), which it then drops. Before it drops a hash it checks that
-- nothing is lost: every row's hash is the hash of its bytes after its predecessor's, every
-- entry's bytes begin with version 1 and the row's `idx`, and every full tile's row in `tiles`
-- holds the leaf hashes of its entries' hashes. If one is not so, the migration is refused
-- (the first bad entry is named) and the database is left at version 10.
DROP TRIGGER log_no_update;
DROP TRIGGER log_no_delete;
DROP INDEX log_conflicts;
ALTER TABLE log RENAME TO log_v10;

CREATE TABLE log (
    idx   INTEGER PRIMARY KEY CHECK (idx >= 0),
    kind  INTEGER NOT NULL,
    entry BLOB    NOT NULL
);

CREATE INDEX log_conflicts ON log (idx) WHERE kind = 9;

CREATE TRIGGER log_no_update BEFORE UPDATE ON log
BEGIN
    SELECT RAISE(ABORT, 'the log is append-only: entries cannot be changed');
END;

CREATE TRIGGER log_no_delete BEFORE DELETE ON log
BEGIN
    SELECT RAISE(ABORT, 'the log is append-only: entries cannot be deleted');
END;

CREATE TABLE chain (
    idx  INTEGER PRIMARY KEY CHECK (idx >= 0),
    hash BLOB    NOT NULL CHECK (length(hash) = 32)
);
