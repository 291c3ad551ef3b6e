//! State snapshots (issue 10): the writer's replayed log after `size` entries and the height-8
//! hashes of its Merkle tree, stored beside the log, so that a start replays only the entries
//! after it and reads neither every entry nor every entry hash.
//!
//! What a start from a snapshot reads: the snapshot row, the words of the full filters of evicted
//! cases its state names by digest (`seen_filters`, schema 13: written once each, by the first
//! snapshot that holds the filter full, so that a snapshot carries only the filter that still
//! takes items), the entries of its last partial level-0 tile with their stored hashes, as
//! `writer::read_range` gives them (entries
//! `256 * floor(size / 256) .. size`, or entry `size - 1` if `size` is a multiple of 256), and the
//! entries after `size` (the tail, replayed and verified).
//!
//! What it checks: the snapshot's digest (an HMAC under a key derived from the party pepper, over
//! size, head, root, state and tree hashes, so damaged bytes are refused, and so are bytes
//! altered by someone who can write the database but not read the secret store); that each
//! filter its state names is stored and fits its digest (SHA-256, named in the authenticated
//! state); that the decoded log has the recorded size, head and root; that
//! the tree holds one hash per full tile; that the Merkle root recomputed from the stored tree
//! hashes and the stored hashes of the last partial tile is the snapshot's root; and that the head
//! is the stored hash of entry `size - 1`.
//!
//! What it trusts: that the state in the snapshot is what a replay of entries `0..size` gives;
//! that each stored tree hash is the Merkle hash of the stored hashes of its 256 entries (a
//! proof or tile that reads an older tile checks that one, and refuses a mismatch); and that each
//! stored hash is the hash of its stored entry. A full replay (`Options::full_check`, `klero serve
//! --full-check`, `klero verify`) checks all of it at start, and [`crate::Store::full_check`] (run
//! every `klero serve --check-every`) checks it in the background while the server serves.
//!
//! A snapshot written before schema version 6 has no tree (v1 digest, over size, head, root and
//! state): a start from it rebuilds the tree from every stored entry, a page at a time.

use flate2::read::DeflateDecoder;
use klero_core::resident::SealedFilter;
use klero_core::tiled::TiledTree;
use klero_core::tiles::TILE_WIDTH;
use klero_core::{Digest32, Log};
use sha2::{Digest as _, Sha256};
use sqlx::{AnyConnection, AnyPool, Row as _};

use crate::StoreError;
use crate::db::db_err;

/// The key of the snapshots' digests, derived from the party pepper (which the secret store keeps,
/// not the database): someone who can write the database but not read the secrets cannot make an
/// altered snapshot pass, so a start never takes a state they chose (a judge's conflicts or
/// absences removed, loads changed) for the log's.
pub(crate) fn key(pepper: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"klero/snapshot-mac/v1\0");
    h.update(pepper);
    h.finalize().into()
}

/// The digest that binds a snapshot's bytes to the log position it claims: HMAC-SHA-256 under
/// [`key`] over the v2 layout (with the tree's height-8 hashes `tree`) or, for `tree` `None`,
/// the v1 layout (a snapshot written before schema 6).
pub(crate) fn digest(
    key: &[u8; 32],
    size: u64,
    head: &Digest32,
    root: &Digest32,
    state: &[u8],
    tree: Option<&[u8]>,
) -> [u8; 32] {
    use hmac::{KeyInit, Mac};
    let mut h = hmac::Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    match tree {
        None => h.update(b"klero/snapshot/v1\0"),
        Some(_) => h.update(b"klero/snapshot/v2\0"),
    }
    h.update(&size.to_be_bytes());
    h.update(&head.0);
    h.update(&root.0);
    if let Some(tree) = tree {
        h.update(&(state.len() as u64).to_be_bytes());
        h.update(state);
        h.update(tree);
    } else {
        h.update(state);
    }
    h.finalize().into_bytes().into()
}

/// The stored bytes of `log`: CBOR, in DEFLATE's stored (uncompressed) blocks. Since digests and
/// cases are written as bytes (a national state's CBOR is about 280 bytes an open case, mostly
/// digests), the fastest compression saved about 30% of its bytes for about as much CPU as the
/// rest of the snapshot's encoding, taken from the filings on a 2-core machine; snapshots written
/// compressed before are read as ever. The blocks are framed here ([`StoredBlocks`]): a compressor
/// asked for no compression still ran its window over every byte (3% of the CPU samples of
/// filing on a 10M-entry log, twice its share near an empty one, whose snapshots are smaller).
pub(crate) fn encode(log: &Log) -> Result<Vec<u8>, StoreError> {
    let mut blocks = StoredBlocks::new();
    ciborium::into_writer(log, &mut blocks)
        .map_err(|e| StoreError::Database(format!("encoding a state snapshot failed: {e}")))?;
    Ok(blocks.finish())
}

/// Raw DEFLATE made of stored blocks (RFC 1951 §3.2.4) around the bytes written to it: each block
/// is a byte with BFINAL (1 on the last block) and BTYPE 00, its length LEN (at most 65,535) and
/// NLEN, its one's complement, as little-endian 16-bit words, then LEN bytes. Any inflater reads
/// it ([`decode`] does).
struct StoredBlocks {
    out: Vec<u8>,
    /// Where the open block's 5-byte header is (filled in when the block is closed).
    start: usize,
}

impl StoredBlocks {
    /// The most bytes a stored block holds.
    const MAX: usize = 65_535;

    fn new() -> StoredBlocks {
        let mut b = StoredBlocks {
            out: Vec::new(),
            start: 0,
        };
        b.open();
        b
    }

    fn open(&mut self) {
        self.start = self.out.len();
        self.out.extend_from_slice(&[0; 5]);
    }

    fn held(&self) -> usize {
        self.out.len() - self.start - 5
    }

    fn close(&mut self, last: bool) {
        let len = u16::try_from(self.held()).expect("a block holds at most 65,535 bytes");
        let h = &mut self.out[self.start..self.start + 5];
        h[0] = u8::from(last);
        h[1..3].copy_from_slice(&len.to_le_bytes());
        h[3..5].copy_from_slice(&(!len).to_le_bytes());
    }

    /// The bytes, the open block closed as the last (possibly empty) one.
    fn finish(mut self) -> Vec<u8> {
        self.close(true);
        self.out
    }
}

impl std::io::Write for StoredBlocks {
    fn write(&mut self, mut buf: &[u8]) -> std::io::Result<usize> {
        let n = buf.len();
        while !buf.is_empty() {
            let room = StoredBlocks::MAX - self.held();
            if room == 0 {
                self.close(false);
                self.open();
                continue;
            }
            let k = room.min(buf.len());
            self.out.extend_from_slice(&buf[..k]);
            buf = &buf[k..];
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The log held in `bytes`, inflated as it is read (a national state is tens of megabytes: a
/// start holds it once, not again as an inflated copy).
fn decode(bytes: &[u8]) -> Result<Log, String> {
    ciborium::from_reader(std::io::BufReader::new(DeflateDecoder::new(bytes))).map_err(
        |e| match e {
            ciborium::de::Error::Io(e) => format!("its bytes do not inflate: {e}"),
            e => format!("its state cannot be read: {e}"),
        },
    )
}

/// Encodes the snapshot of `log` on a blocking thread, then writes it with `tiles` (the Merkle
/// tree's height-8 hashes at the log's size: one per full level-0 tile) in its own transaction
/// (deleting the older ones). A newer snapshot already stored is kept.
pub(crate) async fn write_apart(
    pool: &sqlx::AnyPool,
    key: &[u8; 32],
    log: Log,
    tiles: Vec<Digest32>,
) -> Result<(), StoreError> {
    let (size, head, root) = (log.size(), log.head(), log.root());
    if tiles.len() as u64 != size / TILE_WIDTH {
        return Err(StoreError::Database(format!(
            "a snapshot of {size} entries needs {} tree hashes, not {}",
            size / TILE_WIDTH,
            tiles.len()
        )));
    }
    let tree: Vec<u8> = tiles.iter().flat_map(|d| d.0).collect();
    let (state, sealed) = tokio::task::spawn_blocking(move || {
        // The full filters' digests first: the state names them (computed once a filter).
        let sealed: Vec<(Digest32, SealedFilter)> = log
            .state()
            .seen()
            .sealed()
            .into_iter()
            .map(|f| (f.digest(), f))
            .collect();
        encode(&log).map(|state| (state, sealed))
    })
    .await
    .map_err(|e| StoreError::Database(format!("encoding a state snapshot failed: {e}")))??;
    let mut tx = pool.begin().await.map_err(db_err)?;
    // The first statement writes, so that SQLite takes the write lock (waiting its busy timeout
    // for the writer's batch) instead of failing to upgrade a read transaction.
    store(&mut tx, key, size, &head, &root, state, tree).await?;
    write_filters(&mut tx, &sealed).await?;
    let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(size) FROM snapshots")
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    if newest.is_some_and(|n| n > size as i64) {
        // A newer snapshot was stored meanwhile: keep it.
        return tx.rollback().await.map_err(db_err);
    }
    tx.commit().await.map_err(db_err)
}

/// Stores an encoded snapshot bound to `(size, head, root)` with its tree hashes and deletes the
/// older ones.
async fn store(
    conn: &mut AnyConnection,
    key: &[u8; 32],
    size: u64,
    head: &Digest32,
    root: &Digest32,
    state: Vec<u8>,
    tree: Vec<u8>,
) -> Result<(), StoreError> {
    let (head, root) = (*head, *root);
    let d = digest(key, size, &head, &root, &state, Some(&tree));
    sqlx::query("DELETE FROM snapshots WHERE size <= $1")
        .bind(size as i64)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    sqlx::query(
        "INSERT INTO snapshots (size, head, root, digest, state, at, tree) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(size as i64)
    .bind(head.0.to_vec())
    .bind(root.0.to_vec())
    .bind(d.to_vec())
    .bind(state)
    .bind(crate::now_ms())
    .bind(tree)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Stores the full filters of evicted cases in `sealed` that are not stored yet (a filter is
/// written once, by the first snapshot that holds it full) and deletes the stored ones that
/// `sealed` does not name (the snapshot being written replaces every older one).
async fn write_filters(
    conn: &mut AnyConnection,
    sealed: &[(Digest32, SealedFilter)],
) -> Result<(), StoreError> {
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT digest FROM seen_filters")
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    let mut written: Vec<&Digest32> = Vec::new();
    for (d, f) in sealed {
        if stored.iter().any(|s| s[..] == d.0[..]) || written.contains(&d) {
            continue;
        }
        sqlx::query("INSERT INTO seen_filters (digest, words) VALUES ($1, $2)")
            .bind(d.0.to_vec())
            .bind(f.bytes())
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        written.push(d);
    }
    for s in stored {
        if !sealed.iter().any(|(d, _)| s[..] == d.0[..]) {
            sqlx::query("DELETE FROM seen_filters WHERE digest = $1")
                .bind(s)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
        }
    }
    Ok(())
}

fn digest32(v: &[u8]) -> Option<Digest32> {
    Some(Digest32(v.try_into().ok()?))
}

/// The hashes of the stored entries `start..end` ([`crate::writer::read_range`]: computed from
/// the entries and checked against the stored ones); fewer than asked is
/// [`StoreError::Corrupt`].
async fn stored_hashes(
    pool: &AnyPool,
    start: u64,
    end: u64,
    prev: Option<Digest32>,
) -> Result<Vec<Digest32>, StoreError> {
    let entries = crate::writer::read_range_in(pool, start, end, prev).await?;
    if entries.len() as u64 != end - start {
        return Err(StoreError::Corrupt(klero_core::Failure {
            index: start + entries.len() as u64,
            section: "§9",
            message: "the stored log has no row for this entry: entries were deleted".into(),
        }));
    }
    Ok(entries.iter().map(|e| e.hash).collect())
}

/// The log and Merkle tree of the latest snapshot, if there is one; `Err` (with the reason, a
/// sentence) if there is one but it does not pass the checks of the module documentation.
pub(crate) async fn load(
    pool: &AnyPool,
    key: &[u8; 32],
    recent_tiles: usize,
) -> Result<Option<(Log, TiledTree)>, StoreError> {
    let row = sqlx::query(
        "SELECT size, head, root, digest, state, tree FROM snapshots ORDER BY size DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    let Some(row) = row else { return Ok(None) };
    let size: i64 = row.try_get(0).map_err(db_err)?;
    let head: Vec<u8> = row.try_get(1).map_err(db_err)?;
    let root: Vec<u8> = row.try_get(2).map_err(db_err)?;
    let stored_digest: Vec<u8> = row.try_get(3).map_err(db_err)?;
    let state: Vec<u8> = row.try_get(4).map_err(db_err)?;
    let tree: Option<Vec<u8>> = row.try_get(5).map_err(db_err)?;
    // The row's own copy of the bytes goes now, before the state is decoded beside them.
    drop(row);
    let refuse =
        |why: String| StoreError::Database(format!("the snapshot of {size} entries {why}"));
    let (Some(head), Some(root)) = (digest32(&head), digest32(&root)) else {
        return Err(refuse("has a malformed head or root".into()));
    };
    let size = u64::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .ok_or_else(|| refuse("has a size that is not positive".into()))?;
    if digest(key, size, &head, &root, &state, tree.as_deref())[..] != stored_digest[..] {
        return Err(refuse(
            "does not match its digest: its bytes were altered, or it was written without this \
             database's pepper"
                .into(),
        ));
    }
    drop(stored_digest);
    let mut log = decode(&state).map_err(refuse)?;
    drop(state);
    if log.size() != size || log.head() != head || log.root() != root {
        return Err(refuse(
            "holds a log whose size, head or root is not the recorded one".into(),
        ));
    }
    // Its full filters of evicted cases, one at a time, each checked against the digest the
    // (authenticated) state names.
    let mut stubs = log.filter_stubs();
    stubs.dedup();
    for d in stubs {
        let words: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT words FROM seen_filters WHERE digest = $1")
                .bind(d.0.to_vec())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?;
        let Some(words) = words else {
            return Err(refuse(format!(
                "names a filter of evicted cases (digest {d}) that is not stored: the \
                 seen_filters table was altered"
            )));
        };
        log.attach_filter(&d, &words)
            .map_err(|e| refuse(format!("does not fit its stored filters: {e}")))?;
    }
    let misfit = |e: StoreError| match e {
        StoreError::Corrupt(f) => refuse(format!("does not fit the stored log: {f}")),
        other => other,
    };
    let tree = match tree {
        Some(bytes) => {
            if bytes.len() as u64 != 32 * (size / TILE_WIDTH) {
                return Err(refuse(format!(
                    "holds {} bytes of tree hashes, not 32 for each of its {} full tiles",
                    bytes.len(),
                    size / TILE_WIDTH
                )));
            }
            let tiles: Vec<Digest32> = bytes.chunks_exact(32).filter_map(digest32).collect();
            // The entries of its last partial tile (or its last entry), read and hashed.
            let first = (size / TILE_WIDTH * TILE_WIDTH).min(size - 1);
            let hashes = stored_hashes(pool, first, size, None)
                .await
                .map_err(misfit)?;
            let partial = &hashes[(size / TILE_WIDTH * TILE_WIDTH - first) as usize..];
            TiledTree::from_parts(size, tiles, partial, recent_tiles).map_err(refuse)?
        }
        None => {
            // Written before schema 6: rebuild the tree from every stored entry.
            let mut tree = TiledTree::keeping(recent_tiles);
            let mut prev = None;
            const PAGE: u64 = 50_000;
            while tree.size() < size {
                let from = tree.size();
                let hashes = stored_hashes(pool, from, (from + PAGE).min(size), prev)
                    .await
                    .map_err(misfit)?;
                prev = hashes.last().copied();
                for h in hashes {
                    tree.push(h);
                }
            }
            tree
        }
    };
    if tree.root() != root {
        return Err(refuse(
            "does not fit the stored log: the Merkle root of its tree hashes and the hashes of \
             the stored entries of its last tile differs"
                .into(),
        ));
    }
    // The head is the hash of the last entry it covers.
    let last = stored_hashes(pool, size - 1, size, None)
        .await
        .map_err(misfit)?;
    if last.first() != Some(&head) {
        return Err(refuse(
            "does not fit the stored log: its head is not the hash of its last stored entry".into(),
        ));
    }
    Ok(Some((log, tree)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The state of the conformance log at its end (every kind of entry, open and closed cases).
    fn conformance_state() -> Log {
        let mut log = Log::new();
        for e in klero_core::conformance::conformance_log() {
            log.push(&e).expect("the conformance log replays");
        }
        log
    }

    #[test]
    fn a_snapshot_holds_digests_and_cases_as_bytes_and_reads_back_the_same_state() {
        let log = conformance_state();
        let now = encode(&log).expect("encodes");
        let back = decode(&now).expect("decodes");
        assert_eq!((back.size(), back.head()), (log.size(), log.head()));
        let cases = |l: &Log| l.state().cases().cloned().collect::<Vec<_>>();
        assert_eq!(cases(&back), cases(&log));
        assert!(cases(&log).len() > 5);
        let raw = |l: &Log| {
            let mut out = Vec::new();
            ciborium::into_writer(l, &mut out).unwrap();
            out
        };
        assert_eq!(raw(&back).len(), raw(&log).len());
        let raw = raw(&log);
        // No digest is written as hex, and each case is its compact bytes, not a map with the
        // names of its fields.
        let head = log.head().to_hex();
        assert!(!raw.windows(64).any(|w| w == head.as_bytes()));
        assert!(raw.windows(32).any(|w| w == log.head().0));
        assert!(!raw.windows(13).any(|w| w == b"duplicate_key"));
    }

    #[test]
    fn stored_blocks_inflate_to_the_bytes_written_and_old_compressed_snapshots_still_read() {
        use std::io::{Read as _, Write as _};
        let inflate = |b: &[u8]| {
            let mut out = Vec::new();
            DeflateDecoder::new(b).read_to_end(&mut out).map(|_| out)
        };
        let max = StoredBlocks::MAX;
        for len in [0, 1, 1000, max - 1, max, max + 1, 2 * max, 3 * max + 17] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            // Written whole, and in pieces of odd sizes that straddle the blocks' ends.
            for piece in [len.max(1), 1, 4093] {
                let mut b = StoredBlocks::new();
                for p in bytes.chunks(piece) {
                    b.write_all(p).unwrap();
                }
                let out = b.finish();
                assert_eq!(
                    inflate(&out).unwrap(),
                    bytes,
                    "{len} bytes in pieces of {piece}"
                );
                // One 5-byte header a block, the last one marked final.
                let blocks = len.div_ceil(max).max(1);
                assert_eq!(
                    out.len(),
                    len + 5 * blocks,
                    "{len} bytes in pieces of {piece}"
                );
            }
        }
        // A snapshot as the compressor wrote it (stored blocks, or compressed) still decodes.
        let log = conformance_state();
        let mut cbor = Vec::new();
        ciborium::into_writer(&log, &mut cbor).unwrap();
        for level in [flate2::Compression::none(), flate2::Compression::fast()] {
            let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), level);
            enc.write_all(&cbor).unwrap();
            let back = decode(&enc.finish().unwrap()).expect("decodes");
            assert_eq!((back.size(), back.head()), (log.size(), log.head()));
        }
        assert_eq!(inflate(&encode(&log).unwrap()).unwrap(), cbor);
    }

    #[test]
    fn a_digest_written_as_hex_text_before_is_still_read() {
        let d = Digest32([0xab; 32]);
        let mut text = Vec::new();
        ciborium::into_writer(&d.to_hex(), &mut text).unwrap();
        let mut bytes = Vec::new();
        ciborium::into_writer(&d, &mut bytes).unwrap();
        assert_eq!(bytes.len(), 34);
        for b in [&text, &bytes] {
            assert_eq!(ciborium::from_reader::<Digest32, _>(&b[..]).unwrap(), d);
        }
        // 31 or 33 bytes, or hex that is not a digest's, are refused.
        for bad in [vec![1u8; 31], vec![1u8; 33]] {
            let mut b = Vec::new();
            ciborium::into_writer(&serde_bytes_of(&bad), &mut b).unwrap();
            assert!(ciborium::from_reader::<Digest32, _>(&b[..]).is_err());
        }
        let mut b = Vec::new();
        ciborium::into_writer(&"AB".repeat(32), &mut b).unwrap();
        assert!(ciborium::from_reader::<Digest32, _>(&b[..]).is_err());
    }

    /// `bytes` as a CBOR byte string.
    fn serde_bytes_of(bytes: &[u8]) -> ciborium::Value {
        ciborium::Value::Bytes(bytes.to_vec())
    }
}
