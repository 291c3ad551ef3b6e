#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod db;
mod project;
pub mod secrets;
pub mod testing;
mod writer;

pub use secrets::{FileSecrets, MemorySecrets, SecretStore, default_secrets_dir};

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, RwLock};

use klero_core::merkle::MerkleTree;
use klero_core::{
    Actor, ActorId, CourtId, Digest32, Event, Failure, JudgeId, Log, LogEntry, Policy, Rejection,
    State,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use sqlx::{AnyPool, Row as _};
use tokio::sync::{mpsc, oneshot};

use crate::db::{Backend, db_err};
use crate::writer::{Job, Outcome, Shared, SubmitJob, Writer, closed, os_random, read_range};

/// Why a store operation failed. The `Display` text is a plain sentence for a person.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// The core refused the event: nothing was written. The rejection's kind says which rule.
    #[error("{0}")]
    Rejected(Rejection),
    /// The thing asked for does not exist (an entry past the end of the log, say).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with what is stored (a second genesis, a race with another writer).
    #[error("{0}")]
    Conflict(String),
    /// The database was written by a newer version of this program.
    #[error(
        "the database schema is version {found}, but this program knows versions up to {known}: \
         run a newer version of the program"
    )]
    SchemaTooNew {
        /// The newest schema version found in the database.
        found: i64,
        /// The newest version this program knows.
        known: i64,
    },
    /// The stored log does not verify: it was altered outside the store. The failure names the
    /// first bad entry.
    #[error("the stored log does not verify, {0}")]
    Corrupt(Failure),
    /// The database failed or is unreachable; the operation may be retried.
    #[error("the database failed: {0}")]
    Database(String),
    /// The secret store failed, or lacks or contradicts a secret this database needs. The message
    /// names the secret and where it was looked for, never its value.
    #[error("{0}")]
    Secrets(String),
}

/// The role a bearer token grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenRole {
    /// A court clerk.
    Clerk,
    /// A judge (the token names the judge).
    Judge,
    /// A court administrator.
    CourtAdmin,
    /// A system administrator.
    SystemAdmin,
}

impl TokenRole {
    /// The name used in the database, JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenRole::Clerk => "clerk",
            TokenRole::Judge => "judge",
            TokenRole::CourtAdmin => "court_admin",
            TokenRole::SystemAdmin => "system_admin",
        }
    }
}

impl fmt::Display for TokenRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TokenRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "clerk" => Ok(TokenRole::Clerk),
            "judge" => Ok(TokenRole::Judge),
            "court_admin" => Ok(TokenRole::CourtAdmin),
            "system_admin" => Ok(TokenRole::SystemAdmin),
            _ => Err(format!(
                "{s:?} is not a role: use clerk, judge, court_admin or system_admin"
            )),
        }
    }
}

/// What a bearer token grants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// The role.
    pub role: TokenRole,
    /// The court it is limited to, if any.
    pub court: Option<CourtId>,
    /// The judge it speaks for, if any.
    pub judge: Option<JudgeId>,
}

/// Settings of a store beyond its address.
#[derive(Clone, Debug)]
pub struct Options {
    /// Length of each built-in beacon hash chain (values per chain). Default `1 << 20`; building a
    /// chain costs this many hashes, at genesis, at every open and at every rotation.
    pub chain_length: u64,
    /// The most submissions one transaction carries. Default 512.
    pub max_batch: usize,
    /// Where the pepper and the beacon chains' secrets are kept. `None`: files in
    /// [`default_secrets_dir`] for a SQLite file, memory for an in-memory database; a PostgreSQL
    /// store must be given one.
    pub secrets: Option<Arc<dyn SecretStore>>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            chain_length: 1 << 20,
            max_batch: 512,
            secrets: None,
        }
    }
}

struct Inner {
    pool: AnyPool,
    backend: Backend,
    shared: Arc<RwLock<Shared>>,
    jobs: mpsc::UnboundedSender<Job>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    pepper: [u8; 32],
    secrets_moved: usize,
}

/// The store: the log and its projections in SQLite or PostgreSQL, with one writer. Cheap to clone;
/// every clone is the same store. See the crate documentation for the contract.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (size, root) = self.checkpoint();
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("size", &size)
            .field("root", &root)
            .finish_non_exhaustive()
    }
}

/// Milliseconds since the Unix epoch from the system clock.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A token's identifier: the hex SHA-256 of the token, which is also all the database keeps of it.
/// It names the token for revocation without being able to act as it.
pub fn token_id(token: &str) -> String {
    token_hash(token)
}

/// A token as stored, found by its identifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredToken {
    /// The identifier ([`token_id`]).
    pub id: String,
    /// What it grants.
    pub info: TokenInfo,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// Reads `role, court, judge` (the first three columns) of a `tokens` row.
fn token_info(row: &sqlx::any::AnyRow) -> Result<TokenInfo, StoreError> {
    let role: String = row.try_get(0).map_err(db_err)?;
    let court: Option<String> = row.try_get(1).map_err(db_err)?;
    let judge: Option<String> = row.try_get(2).map_err(db_err)?;
    let bad = |what: &str| StoreError::Database(format!("a stored token has an invalid {what}"));
    Ok(TokenInfo {
        role: role.parse().map_err(|_| bad("role"))?,
        court: court
            .map(CourtId::parse)
            .transpose()
            .map_err(|_| bad("court"))?,
        judge: judge
            .map(JudgeId::parse)
            .transpose()
            .map_err(|_| bad("judge"))?,
    })
}

/// The party pepper from `secrets`, checked against the fingerprint this database recorded; made
/// (and its fingerprint recorded) on the first open of a new database.
async fn load_pepper(pool: &AnyPool, secrets: &dyn SecretStore) -> Result<[u8; 32], StoreError> {
    let recorded = || async {
        let row = sqlx::query("SELECT fingerprint FROM secret_fingerprints WHERE name = 'pepper'")
            .fetch_optional(pool)
            .await
            .map_err(db_err)?;
        row.map(|r| r.try_get::<String, _>(0).map_err(db_err))
            .transpose()
    };
    let pepper = match (recorded().await?, secrets.get("pepper")?) {
        (Some(_), None) => {
            return Err(StoreError::Secrets(format!(
                "this database's party pepper is not in {}: restore it there from a backup (a new \
                 pepper would silently stop every declared conflict from matching new filings)",
                secrets.describe()
            )));
        }
        (_, Some(p)) => p,
        (None, None) => {
            let p = writer::os_random()?;
            secrets.put("pepper", &p)?;
            // Another process may have made one at the same moment: the secret store keeps the
            // first, so read it back.
            secrets.get("pepper")?.ok_or_else(|| {
                StoreError::Secrets(format!(
                    "the pepper just written to {} is gone",
                    secrets.describe()
                ))
            })?
        }
    };
    sqlx::query(
        "INSERT INTO secret_fingerprints (name, fingerprint, created_at) VALUES ('pepper', $1, $2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(secrets::fingerprint("pepper", &pepper))
    .bind(now_ms())
    .execute(pool)
    .await
    .map_err(db_err)?;
    if recorded().await?.as_deref() != Some(secrets::fingerprint("pepper", &pepper).as_str()) {
        return Err(StoreError::Secrets(format!(
            "the party pepper in {} is not this database's: name the secrets directory that \
             belongs to this database",
            secrets.describe()
        )));
    }
    Ok(pepper)
}

impl Store {
    /// Opens (and on first start creates and migrates) the database at `url`: `sqlite://path` or
    /// `postgres://...`. Replays and verifies the whole log; fails with [`StoreError::Corrupt`]
    /// naming the first entry that does not verify, or [`StoreError::SchemaTooNew`].
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, Options::default()).await
    }

    /// [`Store::open`] with explicit [`Options`].
    pub async fn open_with(url: &str, options: Options) -> Result<Store, StoreError> {
        let secrets: Arc<dyn SecretStore> = match options.secrets.clone() {
            Some(s) => s,
            None => match default_secrets_dir(url) {
                Some(dir) => Arc::new(FileSecrets::new(dir)),
                None if url.starts_with("sqlite:") && url.contains(":memory:") => {
                    Arc::new(MemorySecrets::default())
                }
                None => {
                    return Err(StoreError::Secrets(
                        "this database needs a secrets directory outside it, for the pepper and \
                         the beacon's secrets: name one (klero: --secrets-dir or \
                         KLERO_SECRETS_DIR)"
                            .into(),
                    ));
                }
            },
        };
        let (pool, backend) = db::connect(url).await?;
        match Store::start(pool.clone(), backend, options, secrets).await {
            Ok(s) => Ok(s),
            Err(e) => {
                pool.close().await;
                Err(e)
            }
        }
    }

    async fn start(
        pool: AnyPool,
        backend: Backend,
        options: Options,
        secrets: Arc<dyn SecretStore>,
    ) -> Result<Store, StoreError> {
        let secrets_moved = db::migrate(&pool, backend, &*secrets).await?;
        let pepper = load_pepper(&pool, &*secrets).await?;

        let mut shared = Shared {
            log: Log::new(),
            tree: MerkleTree::new(),
        };
        writer::replay_into(&pool, &mut shared.log, &mut shared.tree).await?;
        let work = shared.log.clone();
        let shared = Arc::new(RwLock::new(shared));
        let mut w = Writer {
            pool: pool.clone(),
            shared: shared.clone(),
            work,
            chain: None,
            chain_length: options.chain_length.max(1),
            max_batch: options.max_batch.max(1),
            secrets,
        };
        w.load_chain().await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = tokio::spawn(w.run(rx));
        Ok(Store {
            inner: Arc::new(Inner {
                pool,
                backend,
                shared,
                jobs: tx,
                writer: Mutex::new(Some(handle)),
                pepper,
                secrets_moved,
            }),
        })
    }

    /// How many secrets this open moved out of a version-1 database's `secrets` table into the
    /// secret store (0 but once).
    pub fn secrets_moved(&self) -> usize {
        self.inner.secrets_moved
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        self.inner.backend.name()
    }

    fn send(&self, job: Job) -> Result<(), StoreError> {
        self.inner.jobs.send(job).map_err(|_| closed())
    }

    /// Writes the genesis entry (with a fresh beacon chain). [`StoreError::Conflict`] if the log
    /// is not empty.
    pub async fn genesis(
        &self,
        actor: Actor,
        log_id: ActorId,
        policy: Policy,
    ) -> Result<LogEntry, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.send(Job::Genesis {
            actor,
            log_id,
            policy,
            reply,
        })?;
        rx.await.map_err(|_| closed())?
    }

    async fn submit_inner(
        &self,
        idem: Option<(String, String)>,
        f: writer::SubmitFn,
    ) -> Result<(Vec<LogEntry>, bool), StoreError> {
        let (reply, rx) = oneshot::channel();
        self.send(Job::Submit(SubmitJob { f, idem, reply }))?;
        match rx.await.map_err(|_| closed())?? {
            Outcome::Fresh(v) => Ok((v, false)),
            Outcome::Replay { first, count } => Ok((
                read_range(&self.inner.pool, first, first + count).await?,
                true,
            )),
        }
    }

    /// Runs `f` inside the writer against the current state, appends the event it returns and, if
    /// that event opens a draw, the draw entry; returns the entries once they are durable. If `f`
    /// or the core refuses, nothing is written ([`StoreError::Rejected`]).
    pub async fn submit<F>(&self, f: F) -> Result<Vec<LogEntry>, StoreError>
    where
        F: FnOnce(&State) -> Result<(Actor, Event), Rejection> + Send + 'static,
    {
        self.submit_inner(None, Box::new(f)).await.map(|(v, _)| v)
    }

    /// [`Store::submit`] under an idempotency key: the first accepted submission with this
    /// (`scope`, `key`) appends; any later one (even concurrent) appends nothing and returns the
    /// first one's entries with `true`. A rejected submission stores no key.
    pub async fn submit_idempotent<F>(
        &self,
        scope: String,
        key: String,
        f: F,
    ) -> Result<(Vec<LogEntry>, bool), StoreError>
    where
        F: FnOnce(&State) -> Result<(Actor, Event), Rejection> + Send + 'static,
    {
        self.submit_inner(Some((scope, key)), Box::new(f)).await
    }

    /// Reads the in-memory state as of the last acknowledged batch.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        let s = self.inner.shared.read().unwrap_or_else(|p| p.into_inner());
        f(s.log.state())
    }

    /// The size and Merkle root of the log as of the last acknowledged batch.
    pub fn checkpoint(&self) -> (u64, Digest32) {
        let s = self.inner.shared.read().unwrap_or_else(|p| p.into_inner());
        (s.log.size(), s.log.root())
    }

    /// The hash of the last acknowledged entry (zeros when the log is empty).
    pub fn head(&self) -> Digest32 {
        self.inner
            .shared
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .log
            .head()
    }

    /// Entries `start..end` (clipped to the acknowledged size), read from the database.
    pub async fn entries(&self, start: u64, end: u64) -> Result<Vec<LogEntry>, StoreError> {
        let end = end.min(self.checkpoint().0);
        if start >= end {
            return Ok(Vec::new());
        }
        read_range(&self.inner.pool, start, end).await
    }

    /// One entry; [`StoreError::NotFound`] if `index` is not below the acknowledged size.
    pub async fn entry(&self, index: u64) -> Result<LogEntry, StoreError> {
        let size = self.checkpoint().0;
        self.entries(index, index.saturating_add(1))
            .await?
            .pop()
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "the log has no entry {index}: it holds {size} entries"
                ))
            })
    }

    /// RFC 9162 inclusion proof of entry `index` in the tree of the first `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<Digest32>> {
        let s = self.inner.shared.read().unwrap_or_else(|p| p.into_inner());
        s.tree.prove_inclusion(index, size)
    }

    /// RFC 9162 consistency proof from the tree of `old` entries to the tree of `new` entries.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Option<Vec<Digest32>> {
        let s = self.inner.shared.read().unwrap_or_else(|p| p.into_inner());
        s.tree.prove_consistency(old, new)
    }

    /// The Merkle root of the first `size` entries.
    pub fn root_at(&self, size: u64) -> Option<Digest32> {
        let s = self.inner.shared.read().unwrap_or_else(|p| p.into_inner());
        s.tree.root_at(size)
    }

    /// The secret pepper for party commitments (`klero_core::hash::party_commitment`).
    pub fn pepper(&self) -> [u8; 32] {
        self.inner.pepper
    }

    /// Creates a bearer token and returns it (`klero_` and 64 hex digits). Only its SHA-256 is
    /// stored; the token itself cannot be recovered later.
    pub async fn create_token(
        &self,
        role: TokenRole,
        court: Option<CourtId>,
        judge: Option<JudgeId>,
    ) -> Result<String, StoreError> {
        let token = format!("klero_{}", hex::encode(os_random()?));
        sqlx::query(
            "INSERT INTO tokens (hash, role, court, judge, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash(&token))
        .bind(role.as_str())
        .bind(court.map(|c| c.as_str().to_string()))
        .bind(judge.map(|j| j.as_str().to_string()))
        .bind(now_ms())
        .execute(&self.inner.pool)
        .await
        .map_err(db_err)?;
        Ok(token)
    }

    /// What `token` grants, or `None` if it is unknown or revoked.
    pub async fn token(&self, token: &str) -> Result<Option<TokenInfo>, StoreError> {
        if !token.starts_with("klero_") {
            return Ok(None);
        }
        let row =
            sqlx::query("SELECT role, court, judge FROM tokens WHERE hash = $1 AND revoked = $2")
                .bind(token_hash(token))
                .bind(false)
                .fetch_optional(&self.inner.pool)
                .await
                .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        token_info(&row).map(Some)
    }

    /// The token with identifier `id` ([`token_id`]), revoked or not; `None` if there is none.
    pub async fn token_by_id(&self, id: &str) -> Result<Option<StoredToken>, StoreError> {
        // Two plain queries rather than reading the boolean column, whose type differs by engine.
        for revoked in [false, true] {
            let row = sqlx::query(
                "SELECT role, court, judge FROM tokens WHERE hash = $1 AND revoked = $2",
            )
            .bind(id)
            .bind(revoked)
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(db_err)?;
            if let Some(row) = row {
                return Ok(Some(StoredToken {
                    id: id.to_owned(),
                    info: token_info(&row)?,
                    revoked,
                }));
            }
        }
        Ok(None)
    }

    /// Revokes a token. [`StoreError::NotFound`] if it is unknown or already revoked.
    pub async fn revoke_token(&self, token: &str) -> Result<(), StoreError> {
        self.revoke_token_id(&token_hash(token)).await
    }

    /// Revokes the token with identifier `id` ([`token_id`]); every lookup after this returns
    /// `None`, in this process and in any other on the same database. [`StoreError::NotFound`] if
    /// it is unknown or already revoked.
    pub async fn revoke_token_id(&self, id: &str) -> Result<(), StoreError> {
        let r = sqlx::query("UPDATE tokens SET revoked = $1 WHERE hash = $2 AND revoked = $3")
            .bind(true)
            .bind(id)
            .bind(false)
            .execute(&self.inner.pool)
            .await
            .map_err(db_err)?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(
                "no such token, or it was already revoked".into(),
            ));
        }
        Ok(())
    }

    /// Deletes and rewrites the projection tables from the log, in one transaction, serialized
    /// with appends. Returns the number of entries replayed.
    pub async fn rebuild_projections(&self) -> Result<u64, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.send(Job::Rebuild { reply })?;
        rx.await.map_err(|_| closed())?
    }

    /// Finishes the submissions already queued, stops the writer and closes the database.
    /// Submissions made after this (through other clones) fail.
    pub async fn close(self) {
        let (reply, rx) = oneshot::channel();
        if self.inner.jobs.send(Job::Close { reply }).is_ok() {
            let _ = rx.await;
        }
        let handle = self
            .inner
            .writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(h) = handle {
            let _ = h.await;
        }
        self.inner.pool.close().await;
    }
}
