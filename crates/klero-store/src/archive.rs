//! The case archive (schema 5, issue 10): closed cases written when they close, so the writer can
//! drop them from memory and read them back when an entry names them (`klero_core::resident`).
//!
//! Each row carries an HMAC under a key derived from the party pepper, which is kept in the
//! secret store and never in the database: a row edited in the database fails its check, and the
//! writer refuses to apply an entry with it rather than decide a draw from an altered record.

use hmac::{KeyInit, Mac};
use klero_core::resident::{Archived, Wanted};
use klero_core::{Digest32, Log};
use sha2::{Digest as _, Sha256};
use sqlx::{AnyConnection, Row as _};

use crate::StoreError;
use crate::db::{Val, db_err, insert_rows};

/// The archive's MAC key, derived from the party pepper.
#[derive(Clone, Copy)]
pub(crate) struct ArchiveKey([u8; 32]);

impl ArchiveKey {
    pub(crate) fn from_pepper(pepper: &[u8; 32]) -> ArchiveKey {
        let mut h = Sha256::new();
        h.update(b"klero/case-archive-mac/v1\0");
        h.update(pepper);
        ArchiveKey(h.finalize().into())
    }

    fn mac(&self, ordinal: i64, case_id: &str, dup_key: &[u8], record: &[u8]) -> Vec<u8> {
        let mut m = hmac::Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length");
        m.update(&ordinal.to_be_bytes());
        m.update(&(case_id.len() as u64).to_be_bytes());
        m.update(case_id.as_bytes());
        m.update(dup_key);
        m.update(record);
        m.finalize().into_bytes().to_vec()
    }
}

/// The row of an archived case: (ordinal, case_id, dup_key, record, mac).
pub(crate) fn row(key: &ArchiveKey, a: &Archived) -> Result<Vec<Val>, StoreError> {
    let mut record = Vec::new();
    ciborium::into_writer(&a.case, &mut record)
        .map_err(|e| StoreError::Database(format!("encoding case {} failed: {e}", a.case.id)))?;
    let ordinal = a.ordinal as i64;
    let mac = key.mac(
        ordinal,
        a.case.id.as_str(),
        &a.case.duplicate_key.0,
        &record,
    );
    Ok(vec![
        Val::I(ordinal),
        a.case.id.as_str().into(),
        Val::B(a.case.duplicate_key.0.to_vec()),
        Val::B(record),
        Val::B(mac),
    ])
}

/// Writes archive rows (a case closes once, so a row is never replaced).
pub(crate) async fn write(
    conn: &mut AnyConnection,
    rows: Vec<Vec<Val>>,
) -> Result<(), sqlx::Error> {
    insert_rows(
        conn,
        "INSERT INTO case_archive (ordinal, case_id, dup_key, record, mac)",
        5,
        "",
        rows,
    )
    .await
}

fn decode(key: &ArchiveKey, row: &sqlx::any::AnyRow) -> Result<Archived, StoreError> {
    let ordinal: i64 = row.try_get(0).map_err(db_err)?;
    let case_id: String = row.try_get(1).map_err(db_err)?;
    let dup_key: Vec<u8> = row.try_get(2).map_err(db_err)?;
    let record: Vec<u8> = row.try_get(3).map_err(db_err)?;
    let mac: Vec<u8> = row.try_get(4).map_err(db_err)?;
    let altered = || {
        StoreError::Database(format!(
            "the archived record of case {case_id} does not pass its check: it was altered in the \
             database. Nothing was written; rebuild the projections from the log (klero rebuild)"
        ))
    };
    if key.mac(ordinal, &case_id, &dup_key, &record) != mac {
        return Err(altered());
    }
    let case: klero_core::state::CaseState =
        ciborium::from_reader(&record[..]).map_err(|_| altered())?;
    if case.id.as_str() != case_id || case.duplicate_key.0[..] != dup_key[..] || ordinal < 0 {
        return Err(altered());
    }
    Ok(Archived {
        ordinal: ordinal as usize,
        case,
    })
}

const COLUMNS: &str = "ordinal, case_id, dup_key, record, mac";

/// Reads what `wanted` names from the archive: the cases found, and for a wanted duplicate key the
/// latest archived case with it (also among the cases).
pub(crate) async fn fetch<'c, E>(
    conn: E,
    key: &ArchiveKey,
    wanted: &Wanted,
) -> Result<(Vec<Archived>, Option<(Digest32, usize)>), StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any> + Copy,
{
    let mut out = Vec::new();
    for id in &wanted.cases {
        let sql = format!("SELECT {COLUMNS} FROM case_archive WHERE case_id = $1");
        if let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str().to_owned())
            .fetch_optional(conn)
            .await
            .map_err(db_err)?
        {
            out.push(decode(key, &row)?);
        }
    }
    let mut latest = None;
    if let Some(k) = wanted.duplicate_key {
        let sql = format!(
            "SELECT {COLUMNS} FROM case_archive WHERE dup_key = $1 ORDER BY ordinal DESC LIMIT 1"
        );
        if let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(k.0.to_vec())
            .fetch_optional(conn)
            .await
            .map_err(db_err)?
        {
            let a = decode(key, &row)?;
            latest = Some((k, a.ordinal));
            out.push(a);
        }
    }
    Ok((out, latest))
}

/// One archived case by number, if archived.
pub(crate) async fn case<'c, E>(
    conn: E,
    key: &ArchiveKey,
    id: &klero_core::CaseId,
) -> Result<Option<Archived>, StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any> + Copy,
{
    let wanted = Wanted {
        cases: vec![id.clone()],
        duplicate_key: None,
    };
    Ok(fetch(conn, key, &wanted).await?.0.pop())
}

/// Archives the closed cases in memory that have no row yet (a database from before schema 5,
/// or one whose archive was cleared), so that they can be evicted. Returns how many were written.
pub(crate) async fn backfill(
    pool: &sqlx::AnyPool,
    key: &ArchiveKey,
    log: &Log,
) -> Result<usize, StoreError> {
    let closed: Vec<Archived> = log.state().closed_in_memory().collect();
    let mut missing = Vec::new();
    for chunk in closed.chunks(500) {
        let list = chunk
            .iter()
            .map(|a| a.ordinal.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!("SELECT ordinal FROM case_archive WHERE ordinal IN ({list})");
        let have: std::collections::HashSet<i64> = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<Result<_, _>>()
            .map_err(db_err)?;
        for a in chunk {
            if !have.contains(&(a.ordinal as i64)) {
                missing.push(row(key, a)?);
            }
        }
    }
    let n = missing.len();
    if n > 0 {
        let mut tx = pool.begin().await.map_err(db_err)?;
        write(&mut tx, missing).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
    }
    Ok(n)
}
