-- Kleroterion store, schema version 7 (SQLite): the full level-0 tiles of the Merkle tree, one row
-- each (issue 10: proofs on a national log).
--
-- The server keeps only the tree's nodes of height 8 and above in memory; a proof of an older
-- entry needs the 256 leaf hashes of its tile. Read from the `hash` column of `log` they cost 256
-- whole rows (each with its compressed entry, about 30 pages of the file); here they are one row
-- of 8 KB.
--   * `idx`    the tile's index: it holds the leaves of entries idx*256 .. idx*256 + 255;
--   * `hashes` the 256 leaf hashes, SHA-256(0x00 || entry hash), 32 bytes each, in order: exactly
--              the body of the tlog tile `/tile/0/<idx>` (SPEC §5.4).
-- A row is written in the same transaction as the entry that completes its tile; a partial tile
-- has no row (its leaves are in the server's memory). A row read for a proof is checked against
-- the tree's height-8 hash of the tile, and the full check compares every row with the replayed
-- entries: an altered row makes the store refuse to serve, as an altered log does.
--
-- The rows of an existing log are computed by the store from the `hash` column, in the same
-- transaction as this migration.
CREATE TABLE tiles (
    idx    INTEGER PRIMARY KEY CHECK (idx >= 0),
    hashes BLOB    NOT NULL CHECK (length(hashes) = 8192)
);

CREATE TRIGGER tiles_no_update BEFORE UPDATE ON tiles
BEGIN
    SELECT RAISE(ABORT, 'the tiles are append-only: a tile cannot be changed');
END;

CREATE TRIGGER tiles_no_delete BEFORE DELETE ON tiles
BEGIN
    SELECT RAISE(ABORT, 'the tiles are append-only: a tile cannot be deleted');
END;
