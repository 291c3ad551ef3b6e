//! State snapshots (issue 10): the writer's replayed log after `size` entries, stored beside the
//! log in the same transaction, so that a start replays only the entries after it.
//!
//! What a start from a snapshot checks: the snapshot's digest (so damaged bytes are refused), that
//! the decoded log has the recorded size, head and root, that the stored hash of entry `size - 1`
//! is that head, and that the Merkle root of the stored hashes of entries `0..size` is that root.
//! What it trusts: that the state in the snapshot is what a replay of those entries gives, and that
//! each stored hash is the hash of its stored entry. A full replay (`Options::full_check`,
//! `klero serve --full-check`, `klero verify`) checks both.

use std::io::Read as _;

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use klero_core::merkle::MerkleTree;
use klero_core::{Digest32, Log};
use sha2::{Digest as _, Sha256};
use sqlx::{AnyConnection, AnyPool, Row as _};

use crate::StoreError;
use crate::db::db_err;

/// The digest that binds a snapshot's bytes to the log position it claims.
pub(crate) fn digest(size: u64, head: &Digest32, root: &Digest32, state: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"klero/snapshot/v1\0");
    h.update(size.to_be_bytes());
    h.update(head.0);
    h.update(root.0);
    h.update(state);
    h.finalize().into()
}

/// The stored bytes of `log`: CBOR, deflated.
pub(crate) fn encode(log: &Log) -> Result<Vec<u8>, StoreError> {
    let mut enc = DeflateEncoder::new(Vec::new(), Compression::fast());
    ciborium::into_writer(log, &mut enc)
        .map_err(|e| StoreError::Database(format!("encoding a state snapshot failed: {e}")))?;
    enc.finish()
        .map_err(|e| StoreError::Database(format!("compressing a state snapshot failed: {e}")))
}

fn decode(bytes: &[u8]) -> Result<Log, String> {
    let mut raw = Vec::new();
    DeflateDecoder::new(bytes)
        .read_to_end(&mut raw)
        .map_err(|e| format!("its bytes do not inflate: {e}"))?;
    ciborium::from_reader(&raw[..]).map_err(|e| format!("its state cannot be read: {e}"))
}

/// Encodes the snapshot of `log` on a blocking thread, then writes it in its own transaction
/// (deleting the older ones). A newer snapshot already stored is kept.
pub(crate) async fn write_apart(pool: &sqlx::AnyPool, log: Log) -> Result<(), StoreError> {
    let (size, head, root) = (log.size(), log.head(), log.root());
    let state = tokio::task::spawn_blocking(move || encode(&log))
        .await
        .map_err(|e| StoreError::Database(format!("encoding a state snapshot failed: {e}")))??;
    let mut tx = pool.begin().await.map_err(db_err)?;
    // The first statement writes, so that SQLite takes the write lock (waiting its busy timeout
    // for the writer's batch) instead of failing to upgrade a read transaction.
    store(&mut tx, size, &head, &root, state).await?;
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

/// Stores an encoded snapshot bound to `(size, head, root)` and deletes the older ones.
async fn store(
    conn: &mut AnyConnection,
    size: u64,
    head: &Digest32,
    root: &Digest32,
    state: Vec<u8>,
) -> Result<(), StoreError> {
    let (head, root) = (*head, *root);
    let d = digest(size, &head, &root, &state);
    sqlx::query("DELETE FROM snapshots WHERE size <= $1")
        .bind(size as i64)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    sqlx::query(
        "INSERT INTO snapshots (size, head, root, digest, state, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(size as i64)
    .bind(head.0.to_vec())
    .bind(root.0.to_vec())
    .bind(d.to_vec())
    .bind(state)
    .bind(crate::now_ms())
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

fn digest32(v: &[u8]) -> Option<Digest32> {
    Some(Digest32(v.try_into().ok()?))
}

/// The log and Merkle tree of the latest snapshot, if there is one; `Err` (with the reason, a
/// sentence) if there is one but it does not pass the checks of the module documentation.
pub(crate) async fn load(pool: &AnyPool) -> Result<Option<(Log, MerkleTree)>, StoreError> {
    let row = sqlx::query(
        "SELECT size, head, root, digest, state FROM snapshots ORDER BY size DESC LIMIT 1",
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
    let refuse =
        |why: String| StoreError::Database(format!("the snapshot of {size} entries {why}"));
    let (Some(head), Some(root)) = (digest32(&head), digest32(&root)) else {
        return Err(refuse("has a malformed head or root".into()));
    };
    let size = u64::try_from(size).map_err(|_| refuse("has a negative size".into()))?;
    if digest(size, &head, &root, &state)[..] != stored_digest[..] {
        return Err(refuse(
            "does not match its digest: its bytes were altered".into(),
        ));
    }
    let log = decode(&state).map_err(refuse)?;
    if log.size() != size || log.head() != head || log.root() != root {
        return Err(refuse(
            "holds a log whose size, head or root is not the recorded one".into(),
        ));
    }
    let mut tree = MerkleTree::new();
    const PAGE: u64 = 50_000;
    while tree.size() < size {
        let from = tree.size();
        let rows =
            sqlx::query("SELECT idx, hash FROM log WHERE idx >= $1 AND idx < $2 ORDER BY idx")
                .bind(from as i64)
                .bind(from.saturating_add(PAGE).min(size) as i64)
                .fetch_all(pool)
                .await
                .map_err(db_err)?;
        if rows.is_empty() {
            return Err(refuse(format!(
                "covers more entries than the log holds ({from})"
            )));
        }
        for row in rows {
            let idx: i64 = row.try_get(0).map_err(db_err)?;
            let hash: Vec<u8> = row.try_get(1).map_err(db_err)?;
            let Some(hash) = digest32(&hash).filter(|_| idx as u64 == tree.size()) else {
                return Err(refuse(format!(
                    "does not fit the stored log: entry {} is missing or malformed",
                    tree.size()
                )));
            };
            tree.push(hash);
        }
    }
    if tree.root() != root {
        return Err(refuse(
            "does not fit the stored log: the Merkle root of the stored hashes differs".into(),
        ));
    }
    if size > 0 && tree.root_at(size) != Some(root) {
        return Err(refuse("does not fit the stored log".into()));
    }
    // The head is the stored hash of the last entry it covers.
    let last = sqlx::query("SELECT hash FROM log WHERE idx = $1")
        .bind(size as i64 - 1)
        .fetch_one(pool)
        .await
        .map_err(db_err)?;
    let last: Vec<u8> = last.try_get(0).map_err(db_err)?;
    if last[..] != head.0[..] {
        return Err(refuse(
            "does not fit the stored log: its head is not the stored hash of its last entry".into(),
        ));
    }
    Ok(Some((log, tree)))
}
