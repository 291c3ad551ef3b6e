-- Kleroterion store, schema version 11 (PostgreSQL): no entry hash per row, and no bytes a row's
-- key already gives (issue 10, compact storage). See the SQLite file of the same name for the
-- layout and the checks: a `log` row is `idx`, `kind` and the entry's canonical bytes without
-- their version byte and index; `chain` holds the entry hashes of the partial tile and of the
-- last entry of each group of 32 in full tiles; a reader computes every entry hash and checks it against
-- `chain` and `tiles`. The store converts the rows of `log_v10` in this transaction, refusing the
-- migration if a stored hash or tile would be lost, and drops it.
DROP TRIGGER log_no_update_or_delete ON log;
DROP TRIGGER log_no_truncate ON log;
DROP INDEX log_conflicts;
ALTER TABLE log RENAME TO log_v10;

CREATE TABLE log (
    idx   BIGINT   PRIMARY KEY CHECK (idx >= 0),
    kind  SMALLINT NOT NULL,
    entry BYTEA    NOT NULL
);

CREATE INDEX log_conflicts ON log (idx) WHERE kind = 9;

CREATE TRIGGER log_no_update_or_delete BEFORE UPDATE OR DELETE ON log
    FOR EACH ROW EXECUTE FUNCTION klero_log_append_only();

CREATE TRIGGER log_no_truncate BEFORE TRUNCATE ON log
    FOR EACH STATEMENT EXECUTE FUNCTION klero_log_append_only();

CREATE TABLE chain (
    idx  BIGINT PRIMARY KEY CHECK (idx >= 0),
    hash BYTEA  NOT NULL CHECK (length(hash) = 32)
);
