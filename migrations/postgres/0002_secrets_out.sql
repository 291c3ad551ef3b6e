-- Kleroterion store, schema version 2 (PostgreSQL): the secrets leave the database.
--
-- Version 1 kept the party pepper and every beacon chain's secret in a table `secrets` beside the
-- log, so a copy of the database was enough to foresee every draw and to test guessed party
-- identifiers against the log's commitments. From version 2 on they live in a secret store outside
-- the database (klero_store::SecretStore: by default files of mode 0600 in a directory named by
-- --secrets-dir / KLERO_SECRETS_DIR, beside and never inside a SQLite file).
--
-- Upgrading a version-1 database: before this migration runs, and inside the same transaction,
-- the store copies every row of `secrets` into the secret store (durably, never replacing a
-- secret there), and only then drops the table. If anything fails, the transaction rolls back and
-- the table is still there for the next attempt. PostgreSQL removes a dropped table's files; its
-- write-ahead log keeps the rows until its segments are recycled. Every earlier copy or backup of
-- the database still holds the secrets: whoever holds one can still foresee the rest of the chain
-- current then, and test guessed party identifiers (the pepper is kept, as a new one would orphan
-- every recorded commitment).
DROP TABLE secrets;

-- Fingerprints of secrets, so that the store recognizes its own pepper without holding it:
-- fingerprint = SHA-256("klero/secret-fingerprint/v1" || 0x00 || name || 0x00 || value), in hex.
-- Opening with a secret store that lacks this database's pepper, or holds another one, is refused:
-- a fresh pepper would silently stop every declared conflict from matching new filings. (Beacon
-- secrets need no fingerprint: the anchor in the log already identifies each chain's secret.)
CREATE TABLE secret_fingerprints (
    name        TEXT    PRIMARY KEY,
    fingerprint TEXT    NOT NULL CHECK (length(fingerprint) = 64),
    created_at  BIGINT NOT NULL
);
