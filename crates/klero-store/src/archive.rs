//! The case archive (schema 5, issue 10): closed cases written when they close, so the writer can
//! drop them from memory and read them back when an entry names them (`klero_core::resident`).
//!
//! Each row carries an HMAC under a key derived from the party pepper, which is kept in the
//! secret store and never in the database: a row edited in the database fails its check, and the
//! writer refuses to apply an entry with it rather than decide a draw from an altered record.
//!
//! The record is `CaseState::encode_record`: a version byte (2), then the case with varint
//! lengths, counts and numbers, without the case number and duplicate key that the row holds in
//! its own columns (about 107 bytes for a case with two parties). Rows written before it hold
//! version 1 (the same fields in the fixed widths of the canonical encoding, about 155 bytes) or,
//! earlier still, CBOR of the case's serde form (about three times the bytes, starting with a
//! CBOR map byte, 0xA0 to 0xBF); both are still read, and `klero rebuild` rewrites them.
//!
//! From schema 14 the archive is also where a court's closed cases are read (its search, its
//! statistics, the highest case number it gave out): `cases` and `assignments` hold only open
//! cases. Each row carries its case's court in a column of its own (`court`, indexed with the
//! ordinal), which the readers check against the record's court: the MAC covers the record, not
//! that column, so a row moved to another court in the database is refused there as altered.

use hmac::{Hmac, KeyInit, Mac};
use klero_core::resident::{Archived, Wanted};
use klero_core::state::CaseState;
use klero_core::{CaseId, Digest32, Log};
use sha2::{Digest as _, Sha256};
use sqlx::{AnyConnection, Row as _};

use crate::StoreError;
use crate::db::{Val, db_err, insert_rows};

/// The bytes of an archive row's MAC kept (schema 12): the left half of the HMAC-SHA-256, the
/// standard truncation (RFC 2104 §5): a forger's chance per try stays 2^-128.
pub(crate) const MAC_LEN: usize = 16;

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

    fn hmac(&self, ordinal: i64, case_id: &str, dup_key: &[u8], record: &[u8]) -> Hmac<Sha256> {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length");
        m.update(&ordinal.to_be_bytes());
        m.update(&(case_id.len() as u64).to_be_bytes());
        m.update(case_id.as_bytes());
        m.update(dup_key);
        m.update(record);
        m
    }

    /// The row's MAC: HMAC-SHA-256 truncated to its first [`MAC_LEN`] bytes (schema 12).
    fn mac(&self, ordinal: i64, case_id: &str, dup_key: &[u8], record: &[u8]) -> Vec<u8> {
        let m = self.hmac(ordinal, case_id, dup_key, record);
        m.finalize().into_bytes()[..MAC_LEN].to_vec()
    }

    /// Whether `mac` is the row's MAC ([`MAC_LEN`] bytes, no fewer), compared in constant time.
    fn fits(&self, ordinal: i64, case_id: &str, dup_key: &[u8], record: &[u8], mac: &[u8]) -> bool {
        let m = self.hmac(ordinal, case_id, dup_key, record);
        mac.len() == MAC_LEN && m.verify_truncated_left(mac).is_ok()
    }
}

/// The row of an archived case: (ordinal, case_id, dup_key, record, mac, court).
pub(crate) fn row(key: &ArchiveKey, a: &Archived) -> Result<Vec<Val>, StoreError> {
    let record = a.case.encode_record();
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
        a.case.court.as_str().into(),
    ])
}

/// Writes archive rows of [`row`] (a case closes once, so a row is never replaced). `schema_13`
/// (tests only: a database turned back to schema 13) leaves out the `court` column, which that
/// schema does not have.
pub(crate) async fn write(
    conn: &mut AnyConnection,
    mut rows: Vec<Vec<Val>>,
    schema_13: bool,
) -> Result<(), sqlx::Error> {
    if schema_13 {
        for r in &mut rows {
            r.truncate(5);
        }
        return insert_rows(
            conn,
            "INSERT INTO case_archive (ordinal, case_id, dup_key, record, mac)",
            5,
            "",
            rows,
        )
        .await;
    }
    insert_rows(
        conn,
        "INSERT INTO case_archive (ordinal, case_id, dup_key, record, mac, court)",
        6,
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
    read(key, ordinal, &case_id, &dup_key, &record, &mac)
}

/// Whether `record` was written before compact records: CBOR of the case, a map.
fn is_cbor(record: &[u8]) -> bool {
    matches!(record.first(), Some(0xa0..=0xbf))
}

/// The error of an archive row that does not pass its check.
fn altered_row(case_id: &str, why: &str) -> StoreError {
    StoreError::Database(format!(
        "the archived record of case {case_id} does not pass its check ({why}): it was altered in \
         the database. Nothing was written; rebuild the projections from the log (klero rebuild)"
    ))
}

/// Checks an archive row's MAC and reads its case, from either record format.
fn read(
    key: &ArchiveKey,
    ordinal: i64,
    case_id: &str,
    dup_key: &[u8],
    record: &[u8],
    mac: &[u8],
) -> Result<Archived, StoreError> {
    let altered = |why: &str| altered_row(case_id, why);
    if !key.fits(ordinal, case_id, dup_key, record, mac) {
        return Err(altered("its MAC does not fit"));
    }
    let ordinal = usize::try_from(ordinal).map_err(|_| altered("a negative ordinal"))?;
    let case = if is_cbor(record) {
        let case: CaseState =
            ciborium::from_reader(record).map_err(|e| altered(&format!("its CBOR: {e}")))?;
        if case.id.as_str() != case_id || case.duplicate_key.0[..] != dup_key[..] {
            return Err(altered("its CBOR names another case"));
        }
        case
    } else {
        let id: CaseId = case_id.parse().map_err(|_| altered("its case number"))?;
        let dup_key = Digest32(
            dup_key
                .try_into()
                .map_err(|_| altered("its duplicate key is not 32 bytes"))?,
        );
        CaseState::decode_record(record, id, dup_key)
            .map_err(|e| altered(&format!("its record, {e}")))?
    };
    Ok(Archived { ordinal, case })
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
    // Only cases filed before the event are wanted: the archive may hold later ones (see
    // `Wanted::filed`). That bound is applied to the rows after their MAC is checked, never in
    // the query: a row whose ordinal was raised in the database must be refused as altered, not
    // skipped as "filed later" (which would let an edit unbind a duplicate).
    let filed = wanted.filed;
    for id in &wanted.cases {
        let sql = format!("SELECT {COLUMNS} FROM case_archive WHERE case_id = $1");
        if let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str().to_owned())
            .fetch_optional(conn)
            .await
            .map_err(db_err)?
        {
            let a = decode(key, &row)?;
            if a.ordinal < filed {
                out.push(a);
            }
        }
    }
    let mut latest = None;
    if let Some(k) = wanted.duplicate_key {
        // Every archived filing of the matter (a handful at most), latest first. The index holds
        // the key's first 8 bytes (schema 10): the prefix finds the rows, the whole key picks the
        // matter's.
        let sql = format!(
            "SELECT {COLUMNS} FROM case_archive \
             WHERE substr(dup_key, 1, 8) = $1 AND dup_key = $2 ORDER BY ordinal DESC"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(k.0[..8].to_vec())
            .bind(k.0.to_vec())
            .fetch_all(conn)
            .await
            .map_err(db_err)?;
        for row in &rows {
            let a = decode(key, row)?;
            if latest.is_none() && a.ordinal < filed {
                latest = Some((k, a.ordinal));
                out.push(a);
            }
        }
    }
    Ok((out, latest))
}

/// A row of a court's closed cases, checked: its MAC, its record, its court column against the
/// record's court (`court`), and that the case is closed.
fn court_row(
    key: &ArchiveKey,
    row: &sqlx::any::AnyRow,
    court: &str,
) -> Result<Archived, StoreError> {
    let a = decode(key, row)?;
    let column: Option<String> = row.try_get(5).map_err(db_err)?;
    if a.case.court.as_str() != court || column.as_deref() != Some(court) {
        return Err(altered_row(
            a.case.id.as_str(),
            "its court column is not the court of its record",
        ));
    }
    if a.case.closed.is_none() {
        return Err(altered_row(
            a.case.id.as_str(),
            "its record is of an open case",
        ));
    }
    Ok(a)
}

/// Refuses a court's closed cases while the archive holds a row without a court: a row that did
/// not pass its check when migration 14 filled the column (or whose column was emptied since). Its
/// case would otherwise be left out of its court's search and statistics without a word.
async fn no_courtless_row<'c, E>(conn: E) -> Result<(), StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let row: Option<String> =
        sqlx::query_scalar("SELECT case_id FROM case_archive WHERE court IS NULL LIMIT 1")
            .fetch_optional(conn)
            .await
            .map_err(db_err)?;
    match row {
        Some(case_id) => Err(altered_row(
            &case_id,
            "its court column is empty: the row did not pass its check when schema 14 filled \
             the column, or the column was emptied since",
        )),
        None => Ok(()),
    }
}

/// Rows read at a time by [`of_court`].
const COURT_PAGE: i64 = 2_000;

/// The closed cases of `court` in the archive, in filing order, a page at a time: `each` is called
/// with every page. Every row is checked ([`court_row`]); the first that fails refuses the whole
/// read, as does a row without a court ([`no_courtless_row`]).
pub(crate) async fn of_court<'c, E>(
    conn: E,
    key: &ArchiveKey,
    court: &str,
    mut each: impl FnMut(Vec<Archived>) -> Result<(), StoreError>,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any> + Copy,
{
    no_courtless_row(conn).await?;
    let sql = format!(
        "SELECT {COLUMNS}, court FROM case_archive WHERE court = $1 AND ordinal > $2 \
         ORDER BY ordinal LIMIT {COURT_PAGE}"
    );
    let mut after = -1i64;
    loop {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(court.to_owned())
            .bind(after)
            .fetch_all(conn)
            .await
            .map_err(db_err)?;
        let n = rows.len() as i64;
        let mut page = Vec::with_capacity(rows.len());
        for row in &rows {
            let a = court_row(key, row, court)?;
            after = a.ordinal as i64;
            page.push(a);
        }
        each(page)?;
        if n < COURT_PAGE {
            return Ok(());
        }
    }
}

/// The archived case of `court` with the highest number that is LIKE `pattern` (with `\` as its
/// escape character), checked as [`of_court`] checks every row.
pub(crate) async fn last_of_court<'c, E>(
    conn: E,
    key: &ArchiveKey,
    court: &str,
    pattern: &str,
) -> Result<Option<Archived>, StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any> + Copy,
{
    no_courtless_row(conn).await?;
    let sql = format!(
        "SELECT {COLUMNS}, court FROM case_archive \
         WHERE court = $1 AND case_id LIKE $2 ESCAPE '\\' ORDER BY case_id DESC LIMIT 1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(court.to_owned())
        .bind(pattern.to_owned())
        .fetch_optional(conn)
        .await
        .map_err(db_err)?;
    row.map(|r| court_row(key, &r, court)).transpose()
}

/// Migration 14's step: fills the new `court` column of every archive row from its record, once
/// the row's MAC is checked (under the pepper in `secrets`, checked against the fingerprint the
/// database recorded). A row that does not pass its check keeps NULL, which the readers of a
/// court's closed cases refuse ([`no_courtless_row`]); the writer refuses it as before when an
/// entry names its case; `klero rebuild` rewrites it. Reads the rows a page at a time in ordinal
/// order and sets the column with one UPDATE per court a page names.
pub(crate) async fn fill_courts(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    secrets: &dyn crate::SecretStore,
) -> Result<(), StoreError> {
    let any: Option<i64> = sqlx::query_scalar("SELECT ordinal FROM case_archive LIMIT 1")
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_err)?;
    if any.is_none() {
        return Ok(());
    }
    let pepper = secrets.get("pepper")?.ok_or_else(|| {
        StoreError::Secrets(format!(
            "migration 14 reads the case archive, which needs this database's party pepper, and \
             it is not in {}: restore it there from a backup",
            secrets.describe()
        ))
    })?;
    let recorded = crate::secrets::recorded_pepper(&mut **tx).await?;
    if recorded.is_some_and(|f| f != crate::secrets::fingerprint("pepper", &pepper)) {
        return Err(crate::secrets::foreign_pepper(secrets));
    }
    let key = ArchiveKey::from_pepper(&pepper);
    let page = format!(
        "SELECT {COLUMNS} FROM case_archive WHERE ordinal > $1 ORDER BY ordinal LIMIT 5000"
    );
    let (mut after, mut refused) = (-1i64, 0u64);
    loop {
        let rows = sqlx::query(sqlx::AssertSqlSafe(page.clone()))
            .bind(after)
            .fetch_all(&mut **tx)
            .await
            .map_err(db_err)?;
        if rows.is_empty() {
            break;
        }
        let mut by_court: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
        for row in &rows {
            after = row.try_get(0).map_err(db_err)?;
            match decode(&key, row) {
                Ok(a) => by_court
                    .entry(a.case.court.as_str().to_owned())
                    .or_default()
                    .push(after),
                Err(e) => {
                    refused += 1;
                    tracing::error!("migration 14 leaves the court of an archive row empty: {e}");
                }
            }
        }
        for (court, ordinals) in by_court {
            let list = ordinals
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let sql = format!("UPDATE case_archive SET court = $1 WHERE ordinal IN ({list})");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(court)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
        }
    }
    if refused > 0 {
        tracing::error!(
            rows = refused,
            "case archive rows did not pass their check: a court's closed cases are refused until \
             `klero rebuild` rewrites the archive from the log"
        );
    }
    Ok(())
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
        filed: usize::MAX,
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
        // From schema 14 a closed case is only in the archive: the `cases` and `assignments` rows
        // a store before schema 5 left of it go with it.
        for r in &missing {
            let Val::T(case_id) = &r[1] else {
                continue;
            };
            for sql in [
                crate::project::DELETE_ASSIGNMENTS,
                crate::project::DELETE_CASE,
            ] {
                sqlx::query(sql)
                    .bind(case_id.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
        }
        write(&mut tx, missing, false).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
    }
    Ok(n)
}

/// For tests: rewrites the archive row of `case` in the database at `url` as a store before
/// compact records wrote it (the record the CBOR of the case, with a MAC under `pepper` that
/// fits), as a database written before this change holds it. Returns the row's record and the
/// CBOR record that replaced it.
pub(crate) async fn write_cbor_record(
    url: &str,
    pepper: &[u8; 32],
    case: &str,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let key = ArchiveKey::from_pepper(pepper);
    let mut conn = AnyConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let sql = format!("SELECT {COLUMNS} FROM case_archive WHERE case_id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case.to_owned())
        .fetch_one(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let a = decode(&key, &row).map_err(|e| e.to_string())?;
    let record: Vec<u8> = row.try_get(3).map_err(|e| e.to_string())?;
    let cbor = legacy_cbor(&a.case);
    let mac = key.mac(a.ordinal as i64, case, &a.case.duplicate_key.0, &cbor);
    sqlx::query("UPDATE case_archive SET record = $1, mac = $2 WHERE case_id = $3")
        .bind(cbor.clone())
        .bind(mac)
        .bind(case.to_owned())
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    Ok((record, cbor))
}

/// The CBOR a store before compact records wrote for a case: the map of its fields, its digests
/// as hex strings (the map form of its JSON, which is what serde wrote then).
fn legacy_cbor(c: &CaseState) -> Vec<u8> {
    let map = serde_json::to_value(c).expect("a case has a JSON form");
    let mut out = Vec::new();
    ciborium::into_writer(&map, &mut out).expect("CBOR in memory");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: ArchiveKey = ArchiveKey([9; 32]);

    /// Every case of the conformance log as it stands at its end, open or closed.
    fn cases() -> Vec<Archived> {
        let mut log = Log::new();
        for e in klero_core::conformance::conformance_log() {
            log.push(&e).expect("the conformance log replays");
        }
        let ids: Vec<CaseId> = log.state().cases().map(|c| c.id.clone()).collect();
        ids.iter()
            .map(|id| log.state().archive_record(id).expect("in memory"))
            .collect()
    }

    fn cbor(c: &CaseState) -> Vec<u8> {
        legacy_cbor(c)
    }

    #[test]
    fn a_case_s_cbor_is_its_compact_bytes_and_the_old_map_form_is_still_read() {
        for a in cases() {
            let mut now = Vec::new();
            ciborium::into_writer(&a.case, &mut now).expect("CBOR in memory");
            // A byte string (major type 2), not a map, and smaller.
            assert_eq!(now[0] >> 5, 2, "case {}", a.case.id);
            let old = legacy_cbor(&a.case);
            assert!(is_cbor(&old));
            assert!(
                now.len() * 2 < old.len(),
                "{} vs {} bytes",
                now.len(),
                old.len()
            );
            for bytes in [&now, &old] {
                let back: CaseState = ciborium::from_reader(&bytes[..]).expect("reads back");
                assert_eq!(back, a.case);
            }
            // The bytes are checked as a record is: one byte more is refused.
            let mut case_bytes: serde_bytes_of::Bytes = ciborium::from_reader(&now[..]).unwrap();
            case_bytes.0.push(0);
            let mut longer = Vec::new();
            ciborium::into_writer(&case_bytes, &mut longer).unwrap();
            assert!(ciborium::from_reader::<CaseState, _>(&longer[..]).is_err());
        }
    }

    /// A CBOR byte string, read and written as such.
    mod serde_bytes_of {
        pub struct Bytes(pub Vec<u8>);
        impl<'de> serde::Deserialize<'de> for Bytes {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = Bytes;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                        Ok(Bytes(v.to_vec()))
                    }
                }
                d.deserialize_bytes(V)
            }
        }
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
    }

    /// A row's columns as `row` writes them, with `record` as its record and a MAC that fits.
    fn columns(a: &Archived, record: Vec<u8>) -> (i64, String, Vec<u8>, Vec<u8>, Vec<u8>) {
        let ordinal = a.ordinal as i64;
        let id = a.case.id.as_str().to_owned();
        let dup = a.case.duplicate_key.0.to_vec();
        let mac = KEY.mac(ordinal, &id, &dup, &record);
        (ordinal, id, dup, record, mac)
    }

    fn read_columns(c: &(i64, String, Vec<u8>, Vec<u8>, Vec<u8>)) -> Result<Archived, StoreError> {
        read(&KEY, c.0, &c.1, &c.2, &c.3, &c.4)
    }

    #[test]
    fn a_row_reads_back_its_case_from_a_compact_or_a_cbor_record() {
        let all = cases();
        assert!(all.len() >= 10, "{} cases", all.len());
        let (mut compact, mut old) = (0, 0);
        for a in &all {
            let vals = row(&KEY, a).expect("a row");
            let Val::B(record) = &vals[3] else {
                panic!("the record is bytes")
            };
            assert_eq!(record, &a.case.encode_record());
            assert_eq!(record[0], klero_core::state::RECORD_VERSION);
            let back = read_columns(&columns(a, record.clone())).expect("a compact record");
            assert_eq!((back.ordinal, &back.case), (a.ordinal, &a.case));
            // A database written before compact records holds CBOR: still read.
            let c = cbor(&a.case);
            assert!(is_cbor(&c), "CBOR of a case starts with {:#04x}", c[0]);
            let back = read_columns(&columns(a, c.clone())).expect("a CBOR record");
            assert_eq!((back.ordinal, &back.case), (a.ordinal, &a.case));
            compact += record.len();
            old += c.len();
        }
        // Digests as 32 bytes rather than 64 hex characters, no field names, and no number or
        // duplicate key repeated: well under half.
        assert!(2 * compact < old, "{compact} bytes against {old} in CBOR");
        println!(
            "{} cases: {} bytes a record (CBOR: {})",
            all.len(),
            compact / all.len(),
            old / all.len()
        );
    }

    #[test]
    fn an_edited_column_or_mac_is_refused_in_either_format() {
        let all = cases();
        let a = all
            .iter()
            .find(|a| a.case.closed.is_some())
            .expect("a closed case");
        for record in [a.case.encode_record(), cbor(&a.case)] {
            let good = columns(a, record.clone());
            assert!(read_columns(&good).is_ok());
            for i in 0..record.len() {
                let mut c = good.clone();
                c.3[i] ^= 0x01;
                assert!(read_columns(&c).is_err(), "record byte {i} changed");
            }
            for i in 0..good.4.len() {
                let mut c = good.clone();
                c.4[i] ^= 0x80;
                assert!(read_columns(&c).is_err(), "MAC byte {i} changed");
            }
            let mut c = good.clone();
            c.0 += 7;
            assert!(read_columns(&c).is_err(), "ordinal changed");
            let mut c = good.clone();
            c.1.push('1');
            assert!(read_columns(&c).is_err(), "case number changed");
            let mut c = good.clone();
            c.2[0] ^= 1;
            assert!(read_columns(&c).is_err(), "duplicate key changed");
            let mut c = good.clone();
            c.3.truncate(c.3.len() - 1);
            assert!(read_columns(&c).is_err(), "record cut");
            let mut c = good.clone();
            c.4.clear();
            assert!(read_columns(&c).is_err(), "MAC removed");
            let err = read_columns(&(good.0, good.1, good.2, good.3, vec![0; 32]))
                .expect_err("a wrong MAC")
                .to_string();
            assert!(err.contains("altered"), "{err}");
        }
    }

    #[test]
    fn a_record_that_does_not_read_is_refused_with_an_error_even_when_its_mac_fits() {
        // A MAC that fits, on bytes the store cannot have written: what a bug or a holder of the
        // pepper could leave. Refused, never a panic.
        let all = cases();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for a in &all {
            for record in [a.case.encode_record(), cbor(&a.case)] {
                for n in 0..record.len() {
                    let c = columns(a, record[..n].to_vec());
                    assert!(read_columns(&c).is_err(), "{} of {} bytes", n, record.len());
                }
            }
            for _ in 0..64 {
                let len = (rnd() % 300) as usize;
                let mut garbage: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
                if let Some(b) = garbage.first_mut()
                    && rnd() % 2 == 0
                {
                    // Half of them look like a compact record, some like CBOR.
                    *b = if rnd() % 3 == 0 { 0xa5 } else { 1 };
                }
                assert!(read_columns(&columns(a, garbage)).is_err());
            }
        }
        // A CBOR record of another case, or a duplicate key column of the wrong length.
        let (a, b) = (&all[0], &all[1]);
        assert!(read_columns(&columns(a, cbor(&b.case))).is_err());
        let mut c = columns(a, a.case.encode_record());
        c.2.pop();
        c.4 = KEY.mac(c.0, &c.1, &c.2, &c.3);
        assert!(read_columns(&c).is_err());
        let c = columns(
            &Archived {
                ordinal: 0,
                case: a.case.clone(),
            },
            a.case.encode_record(),
        );
        let mut neg = c.clone();
        neg.0 = -1;
        neg.4 = KEY.mac(neg.0, &neg.1, &neg.2, &neg.3);
        assert!(read_columns(&neg).is_err());
    }
}
