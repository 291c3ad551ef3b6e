//! The database side: connecting, migrating, and the few query shapes the store needs. One set of
//! SQL (with `$1` placeholders) serves both engines through sqlx's `Any` driver.

use std::str::FromStr;
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Row as _};

use crate::StoreError;
use crate::secrets::{SecretStore, fingerprint};

/// The engine behind a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// One shipped migration.
struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Every migration this code knows, in order. Never edit one that has shipped; append.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../../../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../../../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "secrets_out",
        sqlite: include_str!("../../../migrations/sqlite/0002_secrets_out.sql"),
        postgres: include_str!("../../../migrations/postgres/0002_secrets_out.sql"),
    },
    Migration {
        version: 3,
        name: "credentials_in_the_log",
        sqlite: include_str!("../../../migrations/sqlite/0003_credentials_in_the_log.sql"),
        postgres: include_str!("../../../migrations/postgres/0003_credentials_in_the_log.sql"),
    },
    Migration {
        version: 4,
        name: "compact_log",
        sqlite: include_str!("../../../migrations/sqlite/0004_compact_log.sql"),
        postgres: include_str!("../../../migrations/postgres/0004_compact_log.sql"),
    },
    Migration {
        version: 5,
        name: "case_archive",
        sqlite: include_str!("../../../migrations/sqlite/0005_case_archive.sql"),
        postgres: include_str!("../../../migrations/postgres/0005_case_archive.sql"),
    },
    Migration {
        version: 6,
        name: "snapshot_tree",
        sqlite: include_str!("../../../migrations/sqlite/0006_snapshot_tree.sql"),
        postgres: include_str!("../../../migrations/postgres/0006_snapshot_tree.sql"),
    },
    Migration {
        version: 7,
        name: "leaf_tiles",
        sqlite: include_str!("../../../migrations/sqlite/0007_leaf_tiles.sql"),
        postgres: include_str!("../../../migrations/postgres/0007_leaf_tiles.sql"),
    },
    Migration {
        version: 8,
        name: "lean_indexes",
        sqlite: include_str!("../../../migrations/sqlite/0008_lean_indexes.sql"),
        postgres: include_str!("../../../migrations/postgres/0008_lean_indexes.sql"),
    },
    Migration {
        version: 9,
        name: "canonical_log",
        sqlite: include_str!("../../../migrations/sqlite/0009_canonical_log.sql"),
        postgres: include_str!("../../../migrations/postgres/0009_canonical_log.sql"),
    },
    Migration {
        version: 10,
        name: "without_rowid",
        sqlite: include_str!("../../../migrations/sqlite/0010_without_rowid.sql"),
        postgres: include_str!("../../../migrations/postgres/0010_without_rowid.sql"),
    },
    Migration {
        version: 11,
        name: "hashes_in_tiles",
        sqlite: include_str!("../../../migrations/sqlite/0011_hashes_in_tiles.sql"),
        postgres: include_str!("../../../migrations/postgres/0011_hashes_in_tiles.sql"),
    },
    Migration {
        version: 12,
        name: "short_archive_macs",
        sqlite: include_str!("../../../migrations/sqlite/0012_short_archive_macs.sql"),
        postgres: include_str!("../../../migrations/postgres/0012_short_archive_macs.sql"),
    },
    Migration {
        version: 13,
        name: "seen_filters",
        sqlite: include_str!("../../../migrations/sqlite/0013_seen_filters.sql"),
        postgres: include_str!("../../../migrations/postgres/0013_seen_filters.sql"),
    },
    Migration {
        version: 14,
        name: "closed_in_archive",
        sqlite: include_str!("../../../migrations/sqlite/0014_closed_in_archive.sql"),
        postgres: include_str!("../../../migrations/postgres/0014_closed_in_archive.sql"),
    },
];

/// The version that stores the log compactly; the store moves the old rows after its SQL ran.
const COMPACT_LOG: i64 = 4;

/// The version that stores each entry as its canonical bytes; the store converts the old rows
/// after its SQL ran.
const CANONICAL_LOG: i64 = 9;

/// The version that stores no hash per log row; the store converts the old rows after its SQL ran.
const HASHES_IN_TILES: i64 = 11;

/// The version that adds the `tiles` table; the store fills it from the `hash` column after its
/// SQL ran.
const LEAF_TILES: i64 = 7;

/// The version that keeps closed cases only in the case archive; the store fills the archive's new
/// `court` column from each row's record after its SQL ran.
const CLOSED_IN_ARCHIVE: i64 = 14;

/// The version that drops the `secrets` table; its rows are moved to the secret store first.
const SECRETS_OUT: i64 = 2;

/// The newest schema version this code knows.
pub(crate) fn known_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

/// Connects to `url` ("sqlite://path", "postgres://...").
pub(crate) async fn connect(url: &str) -> Result<(AnyPool, Backend), StoreError> {
    sqlx::any::install_default_drivers();
    let backend = if url.starts_with("sqlite:") {
        Backend::Sqlite
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Backend::Postgres
    } else {
        return Err(StoreError::Database(format!(
            "the database address {url:?} is neither sqlite:// nor postgres://"
        )));
    };
    let url = match backend {
        // Create the file on first start.
        Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
            if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            }
        }
        _ => url.to_string(),
    };
    let opts = AnyConnectOptions::from_str(&url).map_err(db_err)?;
    // An in-memory database lives and dies with its one connection (tests and demos only).
    let memory = url.contains(":memory:") || url.contains("mode=memory");
    let pool = match backend {
        Backend::Sqlite => {
            AnyPoolOptions::new()
                // WAL lets readers run beside the one writer. synchronous=FULL makes every commit
                // durable before it returns: an acknowledged append survives a power cut.
                .max_connections(if memory { 1 } else { 4 })
                .min_connections(1)
                .idle_timeout(if memory {
                    None
                } else {
                    Some(Duration::from_secs(600))
                })
                .max_lifetime(if memory {
                    None
                } else {
                    Some(Duration::from_secs(1800))
                })
                .acquire_timeout(Duration::from_secs(30))
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        sqlx::raw_sql(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                        )
                        .execute(conn)
                        .await?;
                        Ok(())
                    })
                })
                .connect_with(opts)
                .await
        }
        Backend::Postgres => {
            AnyPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts)
                .await
        }
    }
    .map_err(|e| {
        StoreError::Database(format!(
            "cannot connect to the {} database: {e}",
            backend.name()
        ))
    })?;
    Ok((pool, backend))
}

fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

/// Applies the migrations the database lacks, in one transaction. Refuses a database whose schema
/// is newer than this code, or whose applied migrations differ from the shipped files. Before the
/// migration that drops the `secrets` table, every secret in it is moved to `secrets`. Returns how
/// many secrets were moved.
pub(crate) async fn migrate(
    pool: &AnyPool,
    backend: Backend,
    secrets: &dyn SecretStore,
) -> Result<usize, StoreError> {
    let mut moved = 0;
    let mut tx = match backend {
        // IMMEDIATE takes the write lock at once, so two processes opening a new file together do
        // not both migrate.
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => pool.begin().await,
    }
    .map_err(db_err)?;
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7236488251003625313)")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS klero_schema (
            version    BIGINT PRIMARY KEY,
            name       TEXT   NOT NULL,
            checksum   TEXT   NOT NULL,
            applied_at BIGINT NOT NULL
        )",
    )
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    let applied: Vec<(i64, String)> =
        sqlx::query("SELECT version, checksum FROM klero_schema ORDER BY version")
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db_err)?;
    let known = known_version();
    if let Some(&(found, _)) = applied.iter().find(|(v, _)| *v > known) {
        let found = applied.iter().map(|(v, _)| *v).max().unwrap_or(found);
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for m in MIGRATIONS {
        let sql = match backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        let sum = checksum(sql);
        match applied.iter().find(|(v, _)| *v == m.version) {
            Some((_, s)) if *s == sum => continue,
            Some(_) => {
                return Err(StoreError::Database(format!(
                    "migration {} ({}) in this database differs from the one this program ships: \
                     a shipped migration was edited",
                    m.version, m.name
                )));
            }
            None => {}
        }
        let mut pepper = None;
        if m.version == SECRETS_OUT {
            (moved, pepper) = move_secrets_out(&mut tx, backend, secrets).await?;
        }
        sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                StoreError::Database(format!("migration {} ({}) failed: {e}", m.version, m.name))
            })?;
        if m.version == COMPACT_LOG {
            compact_log(&mut tx).await?;
        }
        if m.version == LEAF_TILES {
            crate::tree::fill_tiles(&mut tx).await?;
        }
        if m.version == CANONICAL_LOG {
            canonical_log(&mut tx).await?;
        }
        if m.version == HASHES_IN_TILES {
            hashes_in_tiles(&mut tx).await?;
        }
        if m.version == CLOSED_IN_ARCHIVE {
            crate::archive::fill_courts(&mut tx, secrets).await?;
        }
        sqlx::query(
            "INSERT INTO klero_schema (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(sum)
        .bind(crate::now_ms())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if let Some(p) = pepper {
            sqlx::query(
                "INSERT INTO secret_fingerprints (name, fingerprint, created_at) VALUES ($1, $2, $3)",
            )
            .bind("pepper")
            .bind(fingerprint("pepper", &p))
            .bind(crate::now_ms())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
    }
    tx.commit().await.map_err(db_err)?;
    if moved > 0 && backend == Backend::Sqlite {
        // Copy the zeroed pages into the database file and empty the write-ahead log, so that
        // neither file holds the secrets any more.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(pool)
            .await
            .map_err(db_err)?;
    }
    Ok(moved)
}

/// Copies every row of the version-1 `secrets` table into `secrets` (durably) and returns how many
/// and the pepper among them; the migration that follows drops the table. On SQLite, turns
/// `secure_delete` on for the transaction's connection, so the dropped table's pages are zeroed.
async fn move_secrets_out(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    secrets: &dyn SecretStore,
) -> Result<(usize, Option<[u8; 32]>), StoreError> {
    if backend == Backend::Sqlite {
        sqlx::query("PRAGMA secure_delete = ON")
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
    }
    let rows = sqlx::query("SELECT name, value FROM secrets ORDER BY name")
        .fetch_all(&mut **tx)
        .await
        .map_err(db_err)?;
    let mut pepper = None;
    for row in &rows {
        let name: String = row.try_get(0).map_err(db_err)?;
        let value: String = row.try_get(1).map_err(db_err)?;
        let bytes: [u8; 32] = hex::decode(&value)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| {
                StoreError::Database(format!("the stored secret {name:?} is unreadable"))
            })?;
        // Version 1 named chain secrets `beacon/<anchor>`; a file name cannot hold a slash.
        let new_name = name.replace('/', "-");
        secrets.put(&new_name, &bytes)?;
        if new_name == "pepper" {
            pepper = Some(bytes);
        }
    }
    Ok((rows.len(), pepper))
}

/// Moves the rows of the version-3 log (`log_v3`: JSON text) into the version-4 one (compressed,
/// with the event type). A row whose JSON does not parse is moved as it is (kind `unreadable`):
/// the replay that follows names it.
async fn compact_log(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<(), StoreError> {
    convert_log(
        tx,
        "SELECT idx, at, entry, hash FROM log_v3",
        "INSERT INTO log (idx, at, kind, hash, entry)",
        "log_v3",
        |row| {
            let idx: i64 = row.try_get(0).map_err(db_err)?;
            let at: i64 = row.try_get(1).map_err(db_err)?;
            let json: String = row.try_get(2).map_err(db_err)?;
            let hash: String = row.try_get(3).map_err(db_err)?;
            let hash = hex::decode(&hash)
                .ok()
                .filter(|h| h.len() == 32)
                .unwrap_or_else(|| vec![0; 32]);
            let kind = klero_core::LogEntry::from_json_line(&json)
                .map_or("unreadable", |e| e.event.type_name());
            Ok((
                idx,
                vec![
                    Val::I(idx),
                    Val::I(at),
                    kind.into(),
                    Val::B(hash),
                    Val::B(crate::codec::compress_line(&json)),
                ],
            ))
        },
    )
    .await
}

/// Converts the rows of the version-8 log (`log_v8`: the JSON export line, deflated) into the
/// version-9 one (the entry's canonical bytes and its event tag). The row's `hash` is carried as
/// it is, so an entry whose JSON was altered still fails its hash check. A row whose JSON cannot
/// be read is carried as its stored bytes (kind -1), which do not decode: the replay that follows
/// names it.
async fn canonical_log(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<(), StoreError> {
    convert_log(
        tx,
        "SELECT idx, hash, entry FROM log_v8",
        "INSERT INTO log (idx, kind, hash, entry)",
        "log_v8",
        |row| {
            let idx: i64 = row.try_get(0).map_err(db_err)?;
            let hash: Vec<u8> = row.try_get(1).map_err(db_err)?;
            let stored: Vec<u8> = row.try_get(2).map_err(db_err)?;
            let (kind, bytes) = match crate::codec::decompress_line(&stored)
                .and_then(|json| klero_core::LogEntry::from_json_line(&json))
            {
                Ok(e) => (i64::from(e.event.tag()), e.bytes()),
                Err(_) => (-1, stored),
            };
            Ok((
                idx,
                vec![Val::I(idx), Val::I(kind), Val::B(hash), Val::B(bytes)],
            ))
        },
    )
    .await
}

/// Converts the rows of the version-10 log (`log_v10`: with each entry's hash, and its bytes
/// whole) into the version-11 one and fills `chain`, a page of tiles at a time, after checking
/// that no stored hash is lost: each row's hash is the hash of its bytes after the row before's
/// (SPEC §4.1), its bytes begin with version 1 and its `idx`, rows are contiguous from 0, and
/// every full tile's row in `tiles` holds the leaf hashes of its entries' hashes. The first row
/// that fails refuses the migration ([`StoreError::Corrupt`], naming the entry), so the
/// transaction is rolled back and the database stays at version 10.
async fn hashes_in_tiles(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<(), StoreError> {
    use klero_core::tiles::TILE_WIDTH;
    use klero_core::{Digest32, Failure};
    let refuse = |index: u64, message: String| {
        StoreError::Corrupt(Failure {
            index,
            section: "§9",
            message: format!("migration 11 refused (nothing was changed): {message}"),
        })
    };
    let count: i64 = sqlx::query("SELECT COUNT(*) FROM log_v10")
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)?
        .try_get(0)
        .map_err(db_err)?;
    let size = count as u64;
    // Every entry's hash from here on stays in `chain`: the partial tile.
    let partial_from = size / TILE_WIDTH * TILE_WIDTH;
    const PAGE_TILES: u64 = 20;
    let mut prev = Digest32::ZERO;
    let mut position = 0u64;
    while position < size {
        let upto = (position + PAGE_TILES * TILE_WIDTH).min(size);
        let rows = sqlx::query(
            "SELECT idx, CAST(kind AS BIGINT), hash, entry FROM log_v10 \
             WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(position as i64)
        .bind(upto as i64)
        .fetch_all(&mut **tx)
        .await
        .map_err(db_err)?;
        let mut log_rows = Vec::with_capacity(rows.len());
        let mut chain_rows = Vec::new();
        let mut leaves: Vec<u8> = Vec::with_capacity(rows.len() * 32);
        for row in &rows {
            let idx: i64 = row.try_get(0).map_err(db_err)?;
            if idx as u64 != position {
                return Err(refuse(
                    position,
                    "the stored log has no row for this entry: entries were deleted".into(),
                ));
            }
            let kind: i64 = row.try_get(1).map_err(db_err)?;
            let hash: Vec<u8> = row.try_get(2).map_err(db_err)?;
            let bytes: Vec<u8> = row.try_get(3).map_err(db_err)?;
            let mut head = vec![klero_core::ENTRY_VERSION];
            head.extend_from_slice(&position.to_be_bytes());
            if !bytes.starts_with(&head) {
                return Err(refuse(
                    position,
                    "the stored entry cannot be read: its bytes do not begin with version 1 and \
                     its index (SPEC §3.2)"
                        .into(),
                ));
            }
            let computed = klero_core::hash::entry_hash(&prev, &bytes);
            if hash[..] != computed.0[..] {
                return Err(refuse(
                    position,
                    "its contents do not match its recorded hash (SPEC §4.1): the entry, its hash \
                     or an earlier entry was altered"
                        .into(),
                ));
            }
            leaves.extend_from_slice(&klero_core::merkle::leaf_hash(&computed.0).0);
            let step = crate::writer::CHAIN_STEP;
            if position >= partial_from || position % step == step - 1 {
                chain_rows.push(vec![Val::I(idx), Val::B(hash)]);
            }
            log_rows.push(vec![
                Val::I(idx),
                Val::I(kind),
                Val::B(bytes[head.len()..].to_vec()),
            ]);
            prev = computed;
            position += 1;
        }
        if rows.is_empty() {
            return Err(refuse(
                position,
                "the stored log has no row for this entry: entries were deleted".into(),
            ));
        }
        // The full tiles of this page against their rows.
        let first_tile = (position - rows.len() as u64) / TILE_WIDTH;
        let full_end = position.min(partial_from) / TILE_WIDTH;
        if full_end > first_tile {
            let stored = sqlx::query(
                "SELECT idx, hashes FROM tiles WHERE idx >= $1 AND idx < $2 ORDER BY idx",
            )
            .bind(first_tile as i64)
            .bind(full_end as i64)
            .fetch_all(&mut **tx)
            .await
            .map_err(db_err)?;
            let mut stored = stored.iter();
            for t in first_tile..full_end {
                let k = ((t - first_tile) * TILE_WIDTH * 32) as usize;
                let want = &leaves[k..k + (TILE_WIDTH * 32) as usize];
                let row = stored.next();
                let same = match row {
                    Some(r) => {
                        let idx: i64 = r.try_get(0).map_err(db_err)?;
                        let hashes: Vec<u8> = r.try_get(1).map_err(db_err)?;
                        idx as u64 == t && hashes == want
                    }
                    None => false,
                };
                if !same {
                    return Err(refuse(
                        t * TILE_WIDTH,
                        format!(
                            "row {t} of the tiles table is missing or is not the leaf hashes of \
                             the stored hashes of entries {}..{}: the log or the tiles table was \
                             altered",
                            t * TILE_WIDTH,
                            (t + 1) * TILE_WIDTH
                        ),
                    ));
                }
            }
        }
        insert_rows(tx, "INSERT INTO log (idx, kind, entry)", 3, "", log_rows)
            .await
            .map_err(db_err)?;
        insert_rows(tx, "INSERT INTO chain (idx, hash)", 2, "", chain_rows)
            .await
            .map_err(db_err)?;
    }
    sqlx::query("DROP TABLE log_v10")
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Rewrites a renamed old log table into the new `log`, 5,000 rows at a time in `idx` order, then
/// drops it: `select` reads the old rows (`idx` first), `convert` turns one into its `idx` and the
/// values of `insert`'s columns. SQL cannot do the conversions (inflating, parsing JSON, encoding).
async fn convert_log(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    select: &str,
    insert: &str,
    old: &str,
    convert: impl Fn(&sqlx::any::AnyRow) -> Result<(i64, Vec<Val>), StoreError>,
) -> Result<(), StoreError> {
    let page = format!("{select} WHERE idx > $1 ORDER BY idx LIMIT 5000");
    let mut from = i64::MIN;
    loop {
        let rows = sqlx::query(AssertSqlSafe(page.clone()))
            .bind(from)
            .fetch_all(&mut **tx)
            .await
            .map_err(db_err)?;
        if rows.is_empty() {
            break;
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let (idx, values) = convert(row)?;
            out.push(values);
            from = idx;
        }
        let width = out[0].len();
        insert_rows(tx, insert, width, "", out)
            .await
            .map_err(db_err)?;
    }
    sqlx::query(AssertSqlSafe(format!("DROP TABLE {old}")))
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// A value bound into a built statement.
#[derive(Clone, Debug)]
pub(crate) enum Val {
    I(i64),
    T(String),
    NullT,
    B(Vec<u8>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I(v)
    }
}
impl From<u64> for Val {
    fn from(v: u64) -> Val {
        Val::I(v as i64)
    }
}
impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::T(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::T(v.to_string())
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Val {
        v.map_or(Val::NullT, Val::T)
    }
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    vals: impl IntoIterator<Item = Val>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for v in vals {
        q = match v {
            Val::I(i) => q.bind(i),
            Val::T(s) => q.bind(s),
            Val::NullT => q.bind(None::<String>),
            Val::B(b) => q.bind(b),
        };
    }
    q
}

/// The most values one multi-row `INSERT` binds on SQLite (see [`insert_rows`]).
const SQLITE_PARAMS: usize = 120;

/// Runs one statement with the given values.
pub(crate) async fn exec(
    conn: &mut AnyConnection,
    sql: &'static str,
    vals: Vec<Val>,
) -> Result<(), sqlx::Error> {
    bind_all(sqlx::query(sql), vals).execute(conn).await?;
    Ok(())
}

/// Inserts rows of `cols` values each with multi-row `INSERT ... VALUES (...), (...)` statements
/// (one round trip per few hundred rows, which is what makes group commit fast on PostgreSQL).
/// `tail` follows the VALUES list (an `ON CONFLICT` clause, say).
///
/// On SQLite a statement takes at most [`SQLITE_PARAMS`] values (there is no round trip to save),
/// and its placeholders are anonymous (`?`): sqlx binds a named one (`$n`) by asking SQLite its
/// name, which SQLite looks up in a list as long as the statement's parameters, so binding was
/// quadratic in them (with 900 parameters about 15% of the writer's CPU, and still 3% with 120:
/// `perf`, issue 10).
pub(crate) async fn insert_rows(
    conn: &mut AnyConnection,
    head: &str,
    cols: usize,
    tail: &str,
    rows: Vec<Vec<Val>>,
) -> Result<(), sqlx::Error> {
    let sqlite = conn.backend_name() == "SQLite";
    let params = if sqlite { SQLITE_PARAMS } else { 900 };
    let per = (params / cols).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Val>> = rows.by_ref().take(per).collect();
        let mut sql = String::with_capacity(head.len() + chunk.len() * cols * 6 + tail.len());
        sql.push_str(head);
        sql.push_str(" VALUES ");
        let mut n = 0;
        for (i, row) in chunk.iter().enumerate() {
            debug_assert_eq!(row.len(), cols);
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            for c in 0..cols {
                if c > 0 {
                    sql.push(',');
                }
                if sqlite {
                    sql.push('?');
                } else {
                    n += 1;
                    sql.push('$');
                    sql.push_str(&n.to_string());
                }
            }
            sql.push(')');
        }
        sql.push_str(tail);
        bind_all(sqlx::query(AssertSqlSafe(sql)), chunk.into_iter().flatten())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
