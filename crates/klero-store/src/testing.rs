//! Helpers for tests (of this crate and of crates built on it): fresh, empty databases.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection as _;

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Where tests keep the secrets of their PostgreSQL databases: `<temp>/klero-test-secrets/<db>`.
fn test_secrets_root() -> std::path::PathBuf {
    std::env::temp_dir().join("klero-test-secrets")
}

/// The secret store for a test database: `None` for SQLite (the default, beside the file, is in
/// the test's temporary directory), a directory of its own under the system's temporary directory
/// for a PostgreSQL database (removed with the database when it is dropped as stale).
pub fn secrets_for(url: &str) -> Option<std::sync::Arc<dyn crate::SecretStore>> {
    secrets_dir_for(url).map(|d| {
        std::sync::Arc::new(crate::FileSecrets::new(d)) as std::sync::Arc<dyn crate::SecretStore>
    })
}

/// The directory [`secrets_for`] names for a PostgreSQL test database (`None` for SQLite).
pub fn secrets_dir_for(url: &str) -> Option<std::path::PathBuf> {
    if url.starts_with("sqlite:") {
        return None;
    }
    let name = url
        .split('?')
        .next()
        .and_then(|u| u.rsplit('/').next())
        .filter(|n| !n.is_empty())
        .unwrap_or("default");
    Some(test_secrets_root().join(name))
}

/// [`crate::Options`] for a test database: the default ones with [`secrets_for`].
pub fn options_for(url: &str) -> crate::Options {
    crate::Options {
        secrets: secrets_for(url),
        ..crate::Options::default()
    }
}

/// The address of a new SQLite file in `dir` (created on first open).
pub async fn fresh_sqlite(dir: &Path) -> String {
    format!("sqlite://{}/klero_{}.db", dir.display(), unique())
}

/// Creates a new, uniquely named database on the PostgreSQL server named by `KLERO_TEST_POSTGRES`
/// (default `postgres://postgres@127.0.0.1:5432/postgres`) and returns its address.
///
/// # Panics
///
/// If the server is unreachable: tests that need PostgreSQL fail loudly, never skip.
pub async fn fresh_postgres() -> String {
    let admin = std::env::var("KLERO_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) => panic!(
            "PostgreSQL is unreachable at {admin} ({e}). These tests need it: start PostgreSQL or \
             set KLERO_TEST_POSTGRES to a server where this user may CREATE DATABASE."
        ),
    };
    drop_stale_test_databases(&mut conn).await;
    let name = format!("klero_test_t{}_{}", now_secs(), unique());
    let sql = format!("CREATE DATABASE {name}");
    if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
    {
        panic!("cannot create a test database on {admin}: {e}");
    }
    let _ = conn.close().await;
    with_database(&admin, &name)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Drops test databases left by earlier runs: those named `klero_test_t{secs}_…` more than an hour
/// old, and those of the older naming without a time. A database of a run still going is younger
/// than that, so concurrent test runs do not disturb each other. Failures are ignored (a database
/// in use is simply left for the next run).
async fn drop_stale_test_databases(conn: &mut sqlx::PgConnection) {
    use sqlx::Row;
    let Ok(rows) = sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE 'klero_test_%'")
        .fetch_all(&mut *conn)
        .await
    else {
        return;
    };
    let cutoff = now_secs().saturating_sub(3600);
    for row in rows {
        let Ok(name) = row.try_get::<String, _>(0) else {
            continue;
        };
        let created = name
            .strip_prefix("klero_test_t")
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok())
            .unwrap_or(0);
        if created < cutoff && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            let sql = format!("DROP DATABASE IF EXISTS {name}");
            let dropped = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *conn)
                .await;
            if dropped.is_ok() {
                let _ = std::fs::remove_dir_all(test_secrets_root().join(&name));
            }
        }
    }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

/// Runs SQL statements directly against the database at `url`, outside any store (to simulate
/// someone with database access, in tamper tests).
pub async fn execute(url: &str, sql: &str) -> Result<(), String> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    Ok(())
}

/// Runs a query returning one text column and returns its rows, in the order the query gives.
pub async fn query_strings(url: &str, sql: &str) -> Result<Vec<String>, String> {
    use sqlx::Row as _;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).map_err(|e| e.to_string()))
        .collect()
}

/// Every stored entry, in log order, as the store reads them.
async fn stored_entries(url: &str) -> Result<Vec<klero_core::LogEntry>, String> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let entries = crate::writer::read_range(&mut conn, 0, i64::MAX as u64, None)
        .await
        .map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    Ok(entries)
}

/// Every stored log row's entry as its JSON export line, in log order (to scan what the database
/// holds), as the store reads them (each row's bytes with its version byte and index put back;
/// its hash what the `chain` table holds for it, else the hash of its bytes). Fails on a row whose
/// bytes do not decode, or that the store refuses.
pub async fn log_lines(url: &str) -> Result<Vec<String>, String> {
    let entries = stored_entries(url).await?;
    Ok(entries.iter().map(|e| e.to_json_line()).collect())
}

/// An SQL literal of `bytes` for the engine at `url` (a BLOB in SQLite, a bytea in PostgreSQL).
pub fn blob_literal(url: &str, bytes: &[u8]) -> String {
    if url.starts_with("sqlite") {
        format!("X'{}'", hex::encode(bytes))
    } else {
        format!("'\\x{}'::bytea", hex::encode(bytes))
    }
}

/// The `(idx, kind, entry)` values of the log row that stores `e` in the database at `url`, for an
/// `INSERT INTO log (idx, kind, entry) VALUES ...` (in tamper tests).
pub fn log_row_values(url: &str, e: &klero_core::LogEntry) -> String {
    format!(
        "({}, {}, {})",
        e.index,
        e.event.tag(),
        blob_literal(url, &crate::writer::stored_bytes(e))
    )
}

/// The `(idx, hash)` values of the `chain` row of `e` (its entry hash), for an
/// `INSERT INTO chain (idx, hash) VALUES ...` (in tamper tests).
pub fn chain_row_values(url: &str, e: &klero_core::LogEntry) -> String {
    format!("({}, {})", e.index, blob_literal(url, &e.hash.0))
}

/// Rewrites entry `idx` directly in the database at `url` (the log's append-only triggers must
/// have been dropped first): its JSON view (as [`log_lines`] derives it) is rewritten with `edit`,
/// parsed back, and its bytes (after the version byte and index) stored in place of the row's,
/// leaving the other columns and the `chain` and `tiles` rows (its stored hash) alone: what
/// someone with database access could do. The edit must leave a readable entry with the same
/// index (its `prev` and `hash` fields are not stored, so editing them changes nothing) and must
/// change its bytes.
pub async fn edit_entry(
    url: &str,
    idx: u64,
    edit: impl FnOnce(String) -> String,
) -> Result<(), String> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let e = crate::writer::read_range(&mut conn, idx, idx + 1, None)
        .await
        .map_err(|e| format!("the stored entry cannot be read: {e}"))?
        .pop()
        .ok_or("no such entry")?;
    let stored = crate::writer::stored_bytes(&e);
    let edited = klero_core::LogEntry::from_json_line(&edit(e.to_json_line()))
        .map_err(|e| format!("the edited line is not an entry: {e}"))?;
    if edited.index != idx {
        return Err("the edit changed the entry's index, which its row's idx holds".into());
    }
    let bytes = crate::writer::stored_bytes(&edited);
    if bytes == stored {
        return Err("the edit changed nothing".into());
    }
    sqlx::query("UPDATE log SET entry = $1 WHERE idx = $2")
        .bind(bytes)
        .bind(idx as i64)
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    Ok(())
}

/// Rewrites the archive row of `case` in the database at `url` as a store wrote it before compact
/// archive records: its record the CBOR of the case, with a MAC under `pepper` (the store's
/// [`crate::Store::pepper`]) that fits. Returns the record it replaced and the CBOR record.
pub async fn write_cbor_archive_record(
    url: &str,
    pepper: &[u8; 32],
    case: &str,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    crate::archive::write_cbor_record(url, pepper, case).await
}

/// The record of the archive row of `case` in the database at `url`.
pub async fn archive_record(url: &str, case: &str) -> Result<Vec<u8>, String> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let record: Vec<u8> = sqlx::query_scalar("SELECT record FROM case_archive WHERE case_id = $1")
        .bind(case.to_owned())
        .fetch_one(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    Ok(record)
}

/// Seeds an empty store for the store's benchmarks: the genesis (log `bench`, the sample case
/// types), court `north` with division `civil`, and `judges` civil judges `J-01`… of full share.
/// Returns the system administrator who seeded it.
pub async fn seed_bench_court(s: &crate::Store, judges: u32) -> klero_core::Actor {
    use klero_core::{Actor, Event, Policy, Role};
    fn id<T: std::str::FromStr>(s: &str) -> T
    where
        T::Err: std::fmt::Debug,
    {
        s.parse().expect("a valid identifier")
    }
    let admin = Actor::new(Role::SystemAdmin, "sysadmin");
    s.genesis(
        admin.clone(),
        id("bench"),
        Policy::with_case_types(klero_core::sample::sample_case_types()),
    )
    .await
    .expect("genesis");
    let mut events = vec![
        Event::CourtCreated {
            court: id("north"),
            name: "North".into(),
        },
        Event::DivisionCreated {
            court: id("north"),
            division: id("civil"),
            name: "Civil".into(),
        },
    ];
    for j in 1..=judges {
        events.push(Event::JudgeRegistered {
            judge: id(&format!("J-{j:02}")),
            court: id("north"),
            division: id("civil"),
            specializations: vec![id("civil")],
            share_permille: 1000,
            active: true,
        });
    }
    for ev in events {
        let a = admin.clone();
        s.submit(move |_| Ok((a, ev))).await.expect("seed");
    }
    admin
}

/// Files one civil case in the court [`seed_bench_court`] made, numbered `N-0000001`… in filing
/// order, with the single party `party` (its claim is the party's name): the store benchmarks'
/// filing.
pub async fn file_bench_case(s: &crate::Store, party: String) {
    use klero_core::hash::{party_commitment, sha256};
    use klero_core::{Actor, Event, Role, State};
    let pepper = s.pepper();
    s.submit(move |st: &State| {
        let n = st.case_count() + 1;
        Ok((
            Actor::new(Role::Clerk, "clerk"),
            Event::CaseFiled {
                case: format!("N-{n:07}").parse().expect("a valid case number"),
                court: "north".parse().expect("a valid court"),
                division: "civil".parse().expect("a valid division"),
                case_type: "civil".parse().expect("a valid case type"),
                weight: 2,
                parties: vec![party_commitment(&pepper, &party)],
                claim: sha256(&[party.as_bytes()]),
                related: None,
                earlier_instance: None,
            },
        ))
    })
    .await
    .expect("filing");
}

/// Turns the database at `url` (closed) back into schema 13, as a store of schema 13 left it: the
/// projections rewritten from the stored log with every closed case's `cases` row (its
/// `closed_idx` and `closing_reason` set) and `assignments` rows kept, the index
/// `cases_closed_by_court` back, the archive without its `court` column (and its index), and no
/// record of migration 14. The archive's rows are written under the database's pepper, read from
/// its secret store (the default one of a SQLite file, [`secrets_dir_for`] of a PostgreSQL one).
/// A database not yet at schema 14 is left alone.
pub async fn back_to_schema_13(url: &str) -> Result<(), String> {
    let at_14 = query_strings(
        url,
        "SELECT CAST(COUNT(*) AS TEXT) FROM klero_schema WHERE version = 14",
    )
    .await?;
    if at_14 != ["1"] {
        return Ok(());
    }
    let dir = secrets_dir_for(url)
        .or_else(|| crate::default_secrets_dir(url))
        .ok_or("this database has no secrets directory")?;
    let pepper = crate::SecretStore::get(&crate::FileSecrets::new(dir), "pepper")
        .map_err(|e| e.to_string())?
        .ok_or("the database's pepper is not in its secrets directory")?;
    let key = crate::archive::ArchiveKey::from_pepper(&pepper);
    let entries = stored_entries(url).await?;
    let mut log = klero_core::Log::new();
    let mut ops = Vec::new();
    for e in &entries {
        log.push(e).map_err(|f| f.to_string())?;
        crate::project::project(log.state(), e, &mut ops);
    }
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let mut tx = conn.begin().await.map_err(|e| e.to_string())?;
    sqlx::raw_sql(
        "DROP INDEX case_archive_by_court; ALTER TABLE case_archive DROP COLUMN court; \
         CREATE INDEX cases_closed_by_court ON cases (court, closed_idx) \
           WHERE closed_idx IS NOT NULL; \
         DELETE FROM klero_schema WHERE version >= 14; \
         DELETE FROM assignments; DELETE FROM cases; DELETE FROM judge_loads; \
         DELETE FROM case_archive;",
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| e.to_string())?;
    crate::project::write_as(&mut tx, ops, &key, true)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    Ok(())
}

/// Turns the database at `url` (closed) back into schema 10: [`back_to_schema_13`], then the
/// version-9 `log` table (each row with its entry hash and its whole canonical bytes) holding the
/// entries the store reads now, no `chain` or `seen_filters` table, and no record of migration 11
/// or later, as a store of schema 10 left it. `edit` may change each row's `(hash, bytes)` before
/// it is written (in tamper tests).
pub async fn back_to_schema_10(
    url: &str,
    edit: impl Fn(u64, &mut Vec<u8>, &mut Vec<u8>),
) -> Result<(), String> {
    back_to_schema_13(url).await?;
    let entries = stored_entries(url).await?;
    let mut sql = if url.starts_with("sqlite") {
        "DROP TABLE log; DROP TABLE chain; DROP TABLE IF EXISTS seen_filters; \
         CREATE TABLE log (idx INTEGER PRIMARY KEY CHECK (idx >= 0), kind INTEGER NOT NULL, \
           hash BLOB NOT NULL CHECK (length(hash) = 32), entry BLOB NOT NULL); \
         CREATE INDEX log_conflicts ON log (idx) WHERE kind = 9; \
         CREATE TRIGGER log_no_update BEFORE UPDATE ON log BEGIN \
           SELECT RAISE(ABORT, 'the log is append-only: entries cannot be changed'); END; \
         CREATE TRIGGER log_no_delete BEFORE DELETE ON log BEGIN \
           SELECT RAISE(ABORT, 'the log is append-only: entries cannot be deleted'); END;"
            .to_string()
    } else {
        "DROP TABLE log; DROP TABLE chain; DROP TABLE IF EXISTS seen_filters; \
         CREATE TABLE log (idx BIGINT PRIMARY KEY CHECK (idx >= 0), kind SMALLINT NOT NULL, \
           hash BYTEA NOT NULL CHECK (length(hash) = 32), entry BYTEA NOT NULL); \
         CREATE INDEX log_conflicts ON log (idx) WHERE kind = 9; \
         CREATE TRIGGER log_no_update_or_delete BEFORE UPDATE OR DELETE ON log \
           FOR EACH ROW EXECUTE FUNCTION klero_log_append_only(); \
         CREATE TRIGGER log_no_truncate BEFORE TRUNCATE ON log \
           FOR EACH STATEMENT EXECUTE FUNCTION klero_log_append_only();"
            .to_string()
    };
    sql.push_str(" DELETE FROM klero_schema WHERE version >= 11;");
    for e in &entries {
        let (mut hash, mut bytes) = (e.hash.0.to_vec(), e.bytes());
        edit(e.index, &mut hash, &mut bytes);
        sql.push_str(&format!(
            " INSERT INTO log (idx, kind, hash, entry) VALUES ({}, {}, {}, {});",
            e.index,
            e.event.tag(),
            blob_literal(url, &hash),
            blob_literal(url, &bytes)
        ));
    }
    execute(url, &sql).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_name_is_replaced() {
        assert_eq!(
            super::with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            super::with_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(
            super::with_database("postgres://u@h", "x"),
            "postgres://u@h/x"
        );
    }
}
