-- The Merkle tree in a snapshot (issue 10: bounded memory, instant start). The server keeps only
-- the tree's nodes of height 8 and above in memory; `tree` holds the height-8 ones as of the
-- snapshot (one 32-byte hash per full level-0 tile of 256 entries, in order: `size / 256` of
-- them), so a start rebuilds the tree from them and the stored hashes of the last partial tile
-- instead of reading every entry's hash. A snapshot with `tree` is bound by digest v2:
-- HMAC-SHA-256(key, "klero/snapshot/v2" || 0x00 || size || head || root || length of state
-- (8 bytes, big-endian) || state || tree), key = SHA-256("klero/snapshot-mac/v1" || 0x00 ||
-- party pepper), the pepper being in the secret store, not in this database. A row written before this version has no `tree` (NULL) and
-- keeps its v1 digest; a start from it reads the stored hashes as before.
ALTER TABLE snapshots ADD COLUMN tree BLOB;
