//! The store's side of the bounded Merkle tree (`klero_core::tiled`): reading level-0 tiles from
//! the `hash` column, and the full check that replays the stored log in the background.

use klero_core::tiled::LeafTile;
use klero_core::tiles::TILE_WIDTH;
use klero_core::{Digest32, Failure};
use sqlx::{AnyPool, Row as _};

use crate::StoreError;
use crate::db::db_err;

fn corrupt(index: u64, message: String) -> StoreError {
    StoreError::Corrupt(Failure {
        index,
        section: "§5",
        message,
    })
}

/// The stored entry hashes of entries `start..end`, in order, read with one range query on the
/// primary key. A missing row or a malformed hash is [`StoreError::Corrupt`], naming the entry.
pub(crate) async fn read_hashes(
    pool: &AnyPool,
    start: u64,
    end: u64,
) -> Result<Vec<Digest32>, StoreError> {
    if start >= end {
        return Ok(Vec::new());
    }
    let rows = sqlx::query("SELECT idx, hash FROM log WHERE idx >= $1 AND idx < $2 ORDER BY idx")
        .bind(start as i64)
        .bind(end.min(i64::MAX as u64) as i64)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    collect(start, end, rows)
}

fn collect(
    start: u64,
    end: u64,
    rows: Vec<sqlx::any::AnyRow>,
) -> Result<Vec<Digest32>, StoreError> {
    let mut out = Vec::with_capacity((end - start) as usize);
    for row in rows {
        let want = start + out.len() as u64;
        let idx: i64 = row.try_get(0).map_err(db_err)?;
        let hash: Vec<u8> = row.try_get(1).map_err(db_err)?;
        if idx as u64 != want {
            return Err(corrupt(
                want,
                "the stored log has no row for this entry: the log was altered".into(),
            ));
        }
        let h: [u8; 32] = hash.try_into().map_err(|_| {
            corrupt(
                want,
                "the stored hash of this entry is not 32 bytes: the log was altered".into(),
            )
        })?;
        out.push(Digest32(h));
    }
    if out.len() as u64 != end - start {
        return Err(corrupt(
            start + out.len() as u64,
            "the stored log has no row for this entry: the log was altered".into(),
        ));
    }
    Ok(out)
}

/// The full level-0 tiles `tiles` (by index), from the stored entry hashes: one query with one
/// primary-key range per tile.
pub(crate) async fn read_leaf_tiles(
    pool: &AnyPool,
    tiles: &[u64],
) -> Result<Vec<LeafTile>, StoreError> {
    if tiles.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = String::from("SELECT idx, hash FROM log WHERE ");
    for i in 0..tiles.len() {
        if i > 0 {
            sql.push_str(" OR ");
        }
        sql.push_str(&format!("(idx >= ${} AND idx < ${})", 2 * i + 1, 2 * i + 2));
    }
    sql.push_str(" ORDER BY idx");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for &t in tiles {
        q = q
            .bind((t * TILE_WIDTH) as i64)
            .bind(((t + 1) * TILE_WIDTH) as i64);
    }
    let rows = q.fetch_all(pool).await.map_err(db_err)?;
    let mut sorted = tiles.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut rows = rows.into_iter();
    let mut out = Vec::with_capacity(sorted.len());
    for t in sorted {
        let (start, end) = (t * TILE_WIDTH, (t + 1) * TILE_WIDTH);
        let mine: Vec<_> = rows.by_ref().take(TILE_WIDTH as usize).collect();
        let hs = collect(start, end, mine)?;
        out.push(LeafTile::from_entry_hashes(t, &hs).expect("256 hashes"));
    }
    Ok(out)
}
