//! The store's side of the bounded Merkle tree (`klero_core::tiled`): the `tiles` table (one row
//! per full level-0 tile: its 256 leaf hashes), written with the entry that completes the tile and
//! read when a proof needs an older tile, and by every reader of entries, which checks each
//! entry's computed hash against its tile's leaf (schema 11; see `writer::read_range`).

use klero_core::merkle::leaf_hash;
use klero_core::tiled::LeafTile;
use klero_core::tiles::TILE_WIDTH;
use klero_core::{Digest32, Failure, LogEntry};
use sqlx::{AnyConnection, Row as _};

use crate::StoreError;
use crate::db::{Val, db_err, insert_rows};

/// The bytes of a full tile's row: 256 leaf hashes of 32 bytes.
const ROW_BYTES: usize = 32 * TILE_WIDTH as usize;

fn corrupt(index: u64, message: String) -> StoreError {
    StoreError::Corrupt(Failure {
        index,
        section: "§5",
        message,
    })
}

fn row_bytes(leaves: &[Digest32]) -> Vec<u8> {
    leaves.iter().flat_map(|h| h.0).collect()
}

/// The rows of the `tiles` table that appending `entries` completes, as `(tile index, bytes)`:
/// `partial` holds the leaf hashes of the tile the first entry falls in, up to that entry (the
/// tree's partial tile before the entries).
pub(crate) fn completed_tiles(partial: &[Digest32], entries: &[LogEntry]) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut leaves = partial.to_vec();
    for e in entries {
        leaves.push(leaf_hash(&e.hash.0));
        if leaves.len() as u64 == TILE_WIDTH {
            out.push((e.index / TILE_WIDTH, row_bytes(&leaves)));
            leaves.clear();
        }
    }
    out
}

/// Writes the rows of `tiles` (from [`completed_tiles`]).
pub(crate) async fn write_tiles(
    conn: &mut AnyConnection,
    tiles: Vec<(u64, Vec<u8>)>,
) -> Result<(), sqlx::Error> {
    let rows = tiles
        .into_iter()
        .map(|(t, bytes)| vec![Val::from(t), Val::B(bytes)])
        .collect();
    insert_rows(conn, "INSERT INTO tiles (idx, hashes)", 2, "", rows).await
}

/// Fills the new `tiles` table of an existing log (migration 7) from the `hash` column, a page of
/// tiles at a time. A tile with a missing row or a malformed hash gets no row: the replay (or the
/// full check) names the altered entry, and a proof that needs the tile refuses.
pub(crate) async fn fill_tiles(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
) -> Result<(), StoreError> {
    let end: Option<i64> = sqlx::query("SELECT MAX(idx) FROM log")
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)?
        .try_get(0)
        .map_err(db_err)?;
    let Some(last) = end else { return Ok(()) };
    let full = (last.max(-1) + 1) as u64 / TILE_WIDTH;
    const PAGE_TILES: u64 = 64;
    let mut t = 0;
    while t < full {
        let upto = (t + PAGE_TILES).min(full);
        let rows =
            sqlx::query("SELECT idx, hash FROM log WHERE idx >= $1 AND idx < $2 ORDER BY idx")
                .bind((t * TILE_WIDTH) as i64)
                .bind((upto * TILE_WIDTH) as i64)
                .fetch_all(&mut **tx)
                .await
                .map_err(db_err)?;
        let mut leaves: Vec<Vec<Digest32>> = vec![Vec::new(); (upto - t) as usize];
        let mut bad = vec![false; leaves.len()];
        for row in rows {
            let idx: i64 = row.try_get(0).map_err(db_err)?;
            let hash: Vec<u8> = row.try_get(1).map_err(db_err)?;
            let k = (idx as u64 / TILE_WIDTH - t) as usize;
            let fits = leaves[k].len() as u64 == idx as u64 % TILE_WIDTH;
            match <[u8; 32]>::try_from(hash) {
                Ok(h) if fits => leaves[k].push(leaf_hash(&h)),
                _ => bad[k] = true,
            }
        }
        let mut out = Vec::new();
        for (k, ls) in leaves.iter().enumerate() {
            if !bad[k] && ls.len() as u64 == TILE_WIDTH {
                out.push((t + k as u64, row_bytes(ls)));
            }
        }
        write_tiles(tx, out).await.map_err(db_err)?;
        t = upto;
    }
    Ok(())
}

/// The full level-0 tiles `tiles` (by index) from the `tiles` table, in one query. A missing row
/// or one of the wrong length is [`StoreError::Corrupt`], naming the tile's first entry.
pub(crate) async fn read_leaf_tiles<'c, E>(
    conn: E,
    tiles: &[u64],
) -> Result<Vec<LeafTile>, StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let mut sorted = tiles.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = String::from("SELECT idx, hashes FROM tiles WHERE idx IN (");
    for i in 0..sorted.len() {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!("${}", i + 1));
    }
    sql.push_str(") ORDER BY idx");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for &t in &sorted {
        q = q.bind(t.min(i64::MAX as u64) as i64);
    }
    let rows = q.fetch_all(conn).await.map_err(db_err)?;
    let mut rows = rows.into_iter();
    let mut out = Vec::with_capacity(sorted.len());
    for t in sorted {
        let missing = || {
            corrupt(
                t * TILE_WIDTH,
                format!(
                    "the stored tile of entries {}..{} (row {t} of the tiles table) is missing: \
                     the tiles table was altered",
                    t * TILE_WIDTH,
                    (t + 1) * TILE_WIDTH
                ),
            )
        };
        let row = rows.next().ok_or_else(missing)?;
        let idx: i64 = row.try_get(0).map_err(db_err)?;
        if idx as u64 != t {
            return Err(missing());
        }
        let bytes: Vec<u8> = row.try_get(1).map_err(db_err)?;
        out.push(parse_row(t, &bytes)?);
    }
    Ok(out)
}

fn parse_row(t: u64, bytes: &[u8]) -> Result<LeafTile, StoreError> {
    if bytes.len() != ROW_BYTES {
        return Err(corrupt(
            t * TILE_WIDTH,
            format!(
                "the stored tile of entries {}..{} is {} bytes, not {ROW_BYTES}: the tiles table \
                 was altered",
                t * TILE_WIDTH,
                (t + 1) * TILE_WIDTH,
                bytes.len()
            ),
        ));
    }
    let leaves: Vec<Digest32> = bytes
        .chunks_exact(32)
        .map(|c| Digest32(c.try_into().expect("32 bytes")))
        .collect();
    Ok(LeafTile::from_leaf_hashes(t, &leaves).expect("256 leaves"))
}

/// Checks the rows of tiles `first..first + leaves.len()` against the leaf hashes of the replayed
/// entries (`leaves[k]`: tile `first + k`); the first tile whose row is missing or differs is
/// [`StoreError::Corrupt`], naming its first entry.
pub(crate) async fn check_tile_rows<'c, E>(
    conn: E,
    first: u64,
    leaves: &[Vec<Digest32>],
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    if leaves.is_empty() {
        return Ok(());
    }
    let end = first + leaves.len() as u64;
    let rows =
        sqlx::query("SELECT idx, hashes FROM tiles WHERE idx >= $1 AND idx < $2 ORDER BY idx")
            .bind(first as i64)
            .bind(end as i64)
            .fetch_all(conn)
            .await
            .map_err(db_err)?;
    let mut rows = rows.into_iter();
    for (k, want) in leaves.iter().enumerate() {
        let t = first + k as u64;
        let found = match rows.next() {
            Some(row) => {
                let idx: i64 = row.try_get(0).map_err(db_err)?;
                let bytes: Vec<u8> = row.try_get(1).map_err(db_err)?;
                (idx as u64 == t).then_some(bytes)
            }
            None => None,
        };
        let what = match found {
            None => "is missing",
            Some(b) if b != row_bytes(want) => "is not the leaf hashes of the stored entries",
            Some(_) => continue,
        };
        return Err(corrupt(
            t * TILE_WIDTH,
            format!(
                "the stored tile of entries {}..{} (row {t} of the tiles table) {what}: the tiles \
                 table was altered",
                t * TILE_WIDTH,
                (t + 1) * TILE_WIDTH
            ),
        ));
    }
    Ok(())
}
