#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod archive;
pub mod codec;
mod db;
mod project;
pub mod secrets;
mod snapshot;
pub mod testing;
mod tree;
mod writer;

pub use secrets::{FileSecrets, MemorySecrets, SecretStore, default_secrets_dir};

use std::fmt;
use std::sync::{Arc, Mutex, RwLock};

use klero_core::tiled::{LeafTile, TiledTree, TreeError};
use klero_core::{
    Actor, ActorId, Digest32, Event, Failure, Log, LogEntry, Policy, Rejection, Role, State,
};
use sqlx::{AnyPool, Row as _};
use tokio::sync::{mpsc, oneshot};

use crate::db::{Backend, db_err};
use crate::tree::read_leaf_tiles;
use crate::writer::{Job, Outcome, Shared, SubmitJob, Writer, closed, os_random, read_range_in};

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
    /// Write a state snapshot (in the batch's transaction) whenever the log crosses a multiple of
    /// this many entries, so that a start replays only the entries after the latest one. Default
    /// 100,000; 0 writes none.
    pub snapshot_every: u64,
    /// Replay and verify the whole log at open, ignoring any snapshot (as `klero verify` does).
    /// Default `false`: start from the latest snapshot that passes its checks (see the crate
    /// documentation, *Start*).
    pub full_check: bool,
    /// How many full level-0 tiles (256 entries each) of the Merkle tree stay in memory beside the
    /// partial one, so the proofs of entries just appended need no database read. Default
    /// [`klero_core::tiled::RECENT_TILES`]; older tiles are read from the `tiles` table.
    pub recent_tiles: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            chain_length: 1 << 20,
            max_batch: 512,
            secrets: None,
            snapshot_every: 100_000,
            full_check: false,
            recent_tiles: klero_core::tiled::RECENT_TILES,
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
    /// The seed of the log's Ed25519 signing key (secret `log-key`).
    log_key_seed: [u8; 32],
    /// The signing key, built once the genesis entry names the log (its origin never changes).
    log_key: std::sync::OnceLock<klero_core::checkpoint::LogKey>,
    secrets_moved: usize,
    /// The log's size after each published batch.
    size_rx: tokio::sync::watch::Receiver<u64>,
    /// The latest checkpoint note with the witnesses' cosignatures gathered for it (SPEC §5.3).
    cosigned: RwLock<Option<(u64, String)>>,
    /// How this open started: see [`Store::start_report`].
    start: StartReport,
    /// The case archive's MAC key.
    archive: archive::ArchiveKey,
    /// Set when a check found that the stored log does not verify: from then on the store refuses
    /// writes and the reads that serve log data (see [`Store::refusal`]).
    refusal: RwLock<Option<Failure>>,
    /// Held while a full check runs, so two never run at once.
    checking: tokio::sync::Mutex<()>,
}

/// The writer's archive lookups: before applying an event, it reads from the case archive the
/// evicted cases the event may name (`klero_core::State::wants`: case numbers at or below the
/// highest evicted one of their prefix, and duplicate keys the filter of evicted cases answers
/// "maybe" for).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArchiveLookups {
    /// Names (case numbers and duplicate keys) looked up.
    pub names: u64,
    /// Those the archive did not hold: the filter's false positives (and numbers never filed).
    pub missed: u64,
    /// Microseconds the writer spent on the lookups (each holds up every submission behind it).
    pub micros: u64,
}

/// How a [`Store`] started: from a snapshot or by a full replay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StartReport {
    /// The size of the snapshot the state was loaded from (`None`: a full replay from entry 0).
    pub snapshot: Option<u64>,
    /// Entries replayed and verified at open (after the snapshot, or all of them).
    pub replayed: u64,
    /// Why the latest snapshot was refused (then the whole log was replayed), as a sentence.
    pub refused: Option<String>,
}

/// How many of the latest Merkle roots the server's log keeps for `checkpoint_witnessed` entries
/// (at least this many, at most twice; 8 MB at most): see `klero_core::Log::keep_recent_roots`.
const RECENT_ROOTS: u64 = 1 << 17;

/// A closed case as its case archive row gives it: see [`Store::closed_cases`].
#[derive(Clone, Debug)]
pub struct ClosedCase {
    /// Case number.
    pub case: String,
    /// Division.
    pub division: String,
    /// Case type.
    pub case_type: String,
    /// Time of the filing entry (ms).
    pub filed_at: i64,
    /// How it was closed (the closing reason's name), as recorded.
    pub closing_reason: Option<String>,
    /// Its judges when it closed, the presiding judge first.
    pub judges: Vec<String>,
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

/// The party pepper from `secrets`, checked against the fingerprint this database recorded; made
/// (and its fingerprint recorded) on the first open of a new database.
async fn load_pepper(pool: &AnyPool, secrets: &dyn SecretStore) -> Result<[u8; 32], StoreError> {
    let recorded = || secrets::recorded_pepper(pool);
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
        return Err(secrets::foreign_pepper(secrets));
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
        let log_key_seed = match secrets.get("log-key")? {
            Some(k) => k,
            None => {
                let k = os_random()?;
                secrets.put("log-key", &k)?;
                k
            }
        };

        let mut shared = Shared {
            log: Log::new(),
            tree: TiledTree::keeping(options.recent_tiles),
            lookups: ArchiveLookups::default(),
        };
        let mut start = StartReport::default();
        if !options.full_check {
            match snapshot::load(&pool, &snapshot::key(&pepper), options.recent_tiles).await {
                Ok(Some((log, tree))) => {
                    start.snapshot = Some(log.size());
                    shared = Shared {
                        log,
                        tree,
                        lookups: ArchiveLookups::default(),
                    };
                }
                Ok(None) => {}
                Err(e) => start.refused = Some(e.to_string()),
            }
        }
        let archive = archive::ArchiveKey::from_pepper(&pepper);
        // Closed cases go to the archive and out of memory as the replay goes (bounded memory,
        // issue 10).
        start.replayed =
            writer::replay_into(&pool, &archive, &mut shared.log, &mut shared.tree).await?;
        // The writer's own checkpoint_witnessed entries name a recent size (its latest cosigned
        // checkpoint): it need not keep the root of every size since the witnesses' configuration.
        shared.log.keep_recent_roots(RECENT_ROOTS);
        let work = shared.log.clone();
        let (size_tx, size_rx) = tokio::sync::watch::channel(shared.log.size());
        let shared = Arc::new(RwLock::new(shared));
        let mut w = Writer {
            pool: pool.clone(),
            shared: shared.clone(),
            work,
            chain: None,
            chain_length: options.chain_length.max(1),
            max_batch: options.max_batch.max(1),
            secrets,
            log_key_seed,
            size_tx,
            snapshot_every: options.snapshot_every,
            snapshot_task: None,
            archive,
            snapshot_key: snapshot::key(&pepper),
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
                log_key_seed,
                log_key: std::sync::OnceLock::new(),
                secrets_moved,
                size_rx,
                cosigned: RwLock::new(None),
                start,
                archive,
                refusal: RwLock::new(None),
                checking: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// How this open started: from which snapshot, how many entries it replayed, and why a
    /// snapshot was refused, if one was.
    pub fn start_report(&self) -> &StartReport {
        &self.inner.start
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
        if !matches!(job, Job::Close { .. } | Job::Rebuild { .. }) {
            self.refused()?;
        }
        self.inner.jobs.send(job).map_err(|_| closed())
    }

    /// Why this store refuses to serve the log, if a check found that the stored log does not
    /// verify (see [`Store::full_check`]): the first failure found, naming its entry. Once set it
    /// stays set until the store is reopened; appends and the reads that serve log data
    /// (entries, proofs, tiles, roots) fail with [`StoreError::Corrupt`].
    pub fn refusal(&self) -> Option<Failure> {
        self.inner
            .refusal
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn refused(&self) -> Result<(), StoreError> {
        match self.refusal() {
            Some(f) => Err(StoreError::Corrupt(f)),
            None => Ok(()),
        }
    }

    /// Enters the refusing state with `f` (the first failure is kept) and says so through
    /// `tracing`.
    fn refuse(&self, f: Failure) -> StoreError {
        let mut r = self
            .inner
            .refusal
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if r.is_none() {
            tracing::error!(
                entry = f.index,
                "the stored log does not verify: {f}; the store now refuses writes and serves no \
                 log data until the database is repaired and the server restarted"
            );
            *r = Some(f.clone());
        }
        StoreError::Corrupt(r.clone().unwrap_or(f))
    }

    /// Writes the genesis entry (with a fresh beacon chain) and, in the same commit, entry 1
    /// `log_key_published` with the log's checkpoint key. [`StoreError::Conflict`] if the log
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
                read_range_in(&self.inner.pool, first, first + count, None).await?,
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

    /// Appends the draws of open drand draws whose round is in `rounds` (round -> signature), in
    /// trigger order, stopping at the first draw whose round is not given (SPEC §7.7). A signature
    /// that does not verify is refused ([`StoreError::Rejected`]) and nothing is written.
    pub async fn append_drand_draws(
        &self,
        rounds: std::collections::BTreeMap<u64, klero_core::DrandSignature>,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.send(Job::DrandDraws { rounds, reply })?;
        rx.await.map_err(|_| closed())?
    }

    /// Follows the published log's size: a receiver that changes whenever entries are published
    /// (to wait for a pending draw).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.size_rx.clone()
    }

    /// Reads the in-memory state as of the last acknowledged batch.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        let s = self.inner.shared.read().unwrap_or_else(|p| p.into_inner());
        f(s.log.state())
    }

    /// The writer's archive lookups since the store opened (see [`ArchiveLookups`]).
    pub fn archive_lookups(&self) -> ArchiveLookups {
        let s = self.inner.shared.read().unwrap_or_else(|p| p.into_inner());
        s.lookups
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
        self.refused()?;
        let end = end.min(self.checkpoint().0);
        if start >= end {
            return Ok(Vec::new());
        }
        read_range_in(&self.inner.pool, start, end, None).await
    }

    /// The `conflict_declared` entries of `judge`, in log order, read from the database. The log
    /// holds only commitments, so this is how a judge's page learns when each of their conflicts
    /// was declared. The rows of that type are found by their `kind` column (its event tag, 9 for
    /// `conflict_declared`: partial index `log_conflicts`); every one is read as a whole entry and
    /// checked exactly.
    pub async fn conflict_declarations(
        &self,
        judge: &klero_core::JudgeId,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let size = self.checkpoint().0;
        // The literal (not a parameter) lets the database use the partial index `log_conflicts`.
        let rows = sqlx::query("SELECT idx FROM log WHERE kind = 9 AND idx < $1 ORDER BY idx")
            .bind(size.min(i64::MAX as u64) as i64)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            let idx: i64 = row.try_get(0).map_err(db_err)?;
            let e = self.entry(idx as u64).await?;
            if matches!(&e.event, klero_core::Event::ConflictDeclared { judge: j, .. } if j == judge)
            {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// A case, open or closed: from memory, or, for a closed case the writer has evicted, from the
    /// case archive (checked against its MAC). `None` if no such case was filed.
    pub async fn case(
        &self,
        id: &klero_core::CaseId,
    ) -> Result<Option<klero_core::state::CaseState>, StoreError> {
        if let Some(c) = self.read(|s| s.case(id).cloned()) {
            return Ok(Some(c));
        }
        let archived = archive::case(&self.inner.pool, &self.inner.archive, id).await?;
        // Archived before the acknowledged log ends: a case closed by an entry not yet published
        // is still in memory, so a row found here is of a published close.
        Ok(archived.map(|a| a.case))
    }

    /// The highest number of a *closed* case of `court` that starts with `prefix` (case numbers the
    /// portal gives out are `PREFIX-YEAR-NNNNNN`), from the case archive (its row checked, as
    /// [`Store::closed_cases`] checks every row); `None` if there is none. Every number that has
    /// left memory is one of these (only closed cases leave it); the open ones are in the state.
    pub async fn last_case_number(
        &self,
        court: &klero_core::CourtId,
        prefix: &str,
    ) -> Result<Option<String>, StoreError> {
        let like = format!(
            "{}%",
            prefix
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let last =
            archive::last_of_court(&self.inner.pool, &self.inner.archive, court.as_str(), &like)
                .await?;
        Ok(last.map(|a| a.case.id.as_str().to_owned()))
    }

    /// The closed cases of `court` in the acknowledged log, in filing order, read from the case
    /// archive (closed cases leave memory, and from schema 14 `cases` and `assignments` hold only
    /// open ones), each row checked against its MAC: those filed in `[from_ms, until_ms)`, whose
    /// number contains `needle` (upper case), and on which `judge` sits, if given; each with its
    /// current judges when it closed, the presiding judge first. A row that does not pass its
    /// check refuses the whole answer ([`StoreError::Database`], "altered"): an edited case is
    /// never shown.
    pub async fn closed_cases(
        &self,
        court: &klero_core::CourtId,
        needle: Option<&str>,
        from_ms: Option<i64>,
        until_ms: Option<i64>,
        judge: Option<&klero_core::JudgeId>,
    ) -> Result<Vec<ClosedCase>, StoreError> {
        let (from, until) = (from_ms.unwrap_or(i64::MIN), until_ms.unwrap_or(i64::MAX));
        let mut out = Vec::new();
        self.closed_of_court(court, |case, judges| {
            if case.filed_at < from
                || case.filed_at >= until
                || needle.is_some_and(|n| !case.id.as_str().to_ascii_uppercase().contains(n))
                || judge.is_some_and(|j| !judges.contains(&j.as_str()))
            {
                return;
            }
            out.push(ClosedCase {
                case: case.id.as_str().to_owned(),
                division: case.division.as_str().to_owned(),
                case_type: case.case_type.as_str().to_owned(),
                filed_at: case.filed_at,
                closing_reason: case.closed.as_ref().map(project::name),
                judges: judges.iter().map(|j| (*j).to_owned()).collect(),
            });
        })
        .await?;
        Ok(out)
    }

    /// The closed cases of `court` in the acknowledged log (closed cases leave memory, so a
    /// court's statistics count them here), from the case archive, each row checked as
    /// [`Store::closed_cases`] checks it: how many there are, and per judge how many they sat on
    /// when the case closed and on how many of those they presided (the first of the case's
    /// current seats in the order drawn).
    pub async fn closed_counts(
        &self,
        court: &klero_core::CourtId,
    ) -> Result<(u64, std::collections::HashMap<String, (u64, u64)>), StoreError> {
        let mut total = 0u64;
        let mut per_judge: std::collections::HashMap<String, (u64, u64)> = Default::default();
        self.closed_of_court(court, |_, judges| {
            total += 1;
            for (seat, j) in judges.iter().enumerate() {
                let e = per_judge.entry((*j).to_owned()).or_default();
                e.0 += 1;
                e.1 += u64::from(seat == 0);
            }
        })
        .await?;
        Ok((total, per_judge))
    }

    /// Calls `each` with every closed case of `court` in the case archive, in filing order, and its
    /// current judges (presiding first), a page of rows at a time. A case whose closing the
    /// acknowledged log does not hold yet (committed, not yet published: still open in memory) is
    /// left out, as [`Store::case`] gives it as open; its judges may not be in the acknowledged
    /// state's judge table yet. A judge index beyond that table can then only be a record that
    /// passed its MAC without this store having written it: refused, never a panic.
    async fn closed_of_court(
        &self,
        court: &klero_core::CourtId,
        mut each: impl FnMut(&klero_core::state::CaseState, &[&str]),
    ) -> Result<(), StoreError> {
        archive::of_court(
            &self.inner.pool,
            &self.inner.archive,
            court.as_str(),
            |page| {
                self.read(|st| {
                    for a in &page {
                        if st.case(&a.case.id).is_some_and(|c| c.closed.is_none()) {
                            continue;
                        }
                        let judges = st
                            .checked_case_judges(&a.case)
                            .map(|js| js.into_iter().map(|j| j.as_str()).collect::<Vec<_>>())
                            .ok_or_else(|| {
                                StoreError::Database(format!(
                                    "the archived record of case {} does not pass its check (it \
                                 names a judge the log never registered): it was altered in the \
                                 database; rebuild the projections from the log (klero rebuild)",
                                    a.case.id
                                ))
                            })?;
                        each(&a.case, &judges);
                    }
                    Ok(())
                })
            },
        )
        .await
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

    /// RFC 9162 inclusion proof of entry `index` in the tree of the first `size` entries; `None`
    /// if they are out of range. Entries of the latest few tiles are proven from memory; an older
    /// one reads the stored row of its tile (256 leaf hashes, one row of the `tiles` table) and
    /// checks it against the tree.
    pub async fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<Option<Vec<Digest32>>, StoreError> {
        self.with_tiles(
            |t| t.missing_for_inclusion(index, size),
            |t, tiles| t.prove_inclusion(index, size, tiles),
        )
        .await
    }

    /// The inclusion proofs of each of `indices` in the tree of the first `size` entries, in the
    /// order given, as [`Store::inclusion_proof`] gives them; `None` if any is out of range. The
    /// tiles they need are read once, in one query (a case proof proves several entries that are
    /// often in the same tile).
    pub async fn inclusion_proofs(
        &self,
        indices: &[u64],
        size: u64,
    ) -> Result<Option<Vec<Vec<Digest32>>>, StoreError> {
        self.with_tiles(
            |t| {
                let mut want: Vec<u64> = indices
                    .iter()
                    .flat_map(|&i| t.missing_for_inclusion(i, size))
                    .collect();
                want.sort_unstable();
                want.dedup();
                want
            },
            |t, tiles| {
                indices
                    .iter()
                    .map(|&i| t.prove_inclusion(i, size, tiles))
                    .collect()
            },
        )
        .await
    }

    /// RFC 9162 consistency proof from the tree of `old` entries to the tree of `new` entries;
    /// `None` unless `0 < old <= new <= size`.
    pub async fn consistency_proof(
        &self,
        old: u64,
        new: u64,
    ) -> Result<Option<Vec<Digest32>>, StoreError> {
        self.with_tiles(
            |t| t.missing_for_consistency(old, new),
            |t, tiles| t.prove_consistency(old, new, tiles),
        )
        .await
    }

    /// The hashes of tlog-tiles tile `index` at `level`, `width` of them (SPEC §5.4); `None` if
    /// the acknowledged log does not hold them all. Level 0 is a row of the `tiles` table
    /// (checked against the tree) or the leaves in memory, higher levels come from memory.
    pub async fn tile(
        &self,
        level: u8,
        index: u64,
        width: u16,
    ) -> Result<Option<Vec<Digest32>>, StoreError> {
        self.with_tiles(
            |t| t.missing_for_tile(level, index, width),
            |t, tiles| t.tile(level, index, width, tiles),
        )
        .await
    }

    /// The Merkle root of the first `size` entries; `None` if the log is shorter.
    pub async fn root_at(&self, size: u64) -> Result<Option<Digest32>, StoreError> {
        self.with_tiles(
            |t| t.missing_for_root(size),
            |t, tiles| t.root_at(size, tiles),
        )
        .await
    }

    /// Answers `answer` from the tree, first reading from the database the level-0 tiles that
    /// `missing` says the tree does not hold. Out of range is `None`; a stored tile that is missing
    /// or does not fit the tree puts the store in the refusing state.
    async fn with_tiles<R>(
        &self,
        missing: impl Fn(&TiledTree) -> Vec<u64>,
        answer: impl Fn(&TiledTree, &[LeafTile]) -> Result<R, TreeError>,
    ) -> Result<Option<R>, StoreError> {
        self.refused()?;
        let mut tiles: Vec<LeafTile> = Vec::new();
        let mut want = {
            let s = self.inner.shared.read().unwrap_or_else(|p| p.into_inner());
            let want = missing(&s.tree);
            if want.is_empty() {
                return self.tree_answer(answer(&s.tree, &[]));
            }
            want
        };
        // A tile the tree held a moment ago may have left its memory since: fetch it and retry.
        for _ in 0..3 {
            match read_leaf_tiles(&self.inner.pool, &want).await {
                Ok(t) => tiles.extend(t),
                Err(StoreError::Corrupt(f)) => return Err(self.refuse(f)),
                Err(e) => return Err(e),
            }
            let s = self.inner.shared.read().unwrap_or_else(|p| p.into_inner());
            match answer(&s.tree, &tiles) {
                Err(TreeError::MissingTile(t)) => want = vec![t],
                r => return self.tree_answer(r),
            }
        }
        Err(StoreError::Database(
            "the tiles a proof needs kept leaving memory while they were read".into(),
        ))
    }

    fn tree_answer<R>(&self, r: Result<R, TreeError>) -> Result<Option<R>, StoreError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(TreeError::OutOfRange) => Ok(None),
            Err(e @ (TreeError::MissingTile(t) | TreeError::TileMismatch(t))) => {
                Err(self.refuse(Failure {
                    index: t * klero_core::tiles::TILE_WIDTH,
                    section: "§5",
                    message: format!("{e}: the tiles table was altered"),
                }))
            }
        }
    }

    /// Replays and verifies the whole stored log from the database, a page of entries at a time
    /// (memory: one page, the verifier's state and the replayed tree's upper levels), up to the
    /// size published when the check began, and compares what it rebuilt with what the server
    /// serves: each full tile's stored row (its leaf hashes) and Merkle hash, the root and the
    /// head at that size. Meant to run in the
    /// background while the server serves (`klero serve --check-every`). Returns the number of
    /// entries checked.
    ///
    /// If the stored log does not verify, or does not give the tree the server serves from, the
    /// store enters the refusing state ([`Store::refusal`]), says so through `tracing`, and this
    /// returns [`StoreError::Corrupt`] naming the first bad entry. A database error is returned
    /// as it is (the check can be run again). Two checks never run at once.
    pub async fn full_check(&self) -> Result<u64, StoreError> {
        let _one = self.inner.checking.lock().await;
        self.refused()?;
        let (size, root, head) = {
            let s = self.inner.shared.read().unwrap_or_else(|p| p.into_inner());
            (s.log.size(), s.log.root(), s.log.head())
        };
        let mut log = Log::new();
        let mut tree = TiledTree::keeping(0);
        // The leaf hashes of the tile being replayed, and the full tiles not yet compared with
        // their stored rows (from tile `first_tile` on).
        let mut leaves = Vec::with_capacity(klero_core::tiles::TILE_WIDTH as usize);
        let (mut first_tile, mut full_tiles) = (0, Vec::new());
        while log.size() < size {
            let from = log.size();
            let end = from.saturating_add(writer::PAGE).min(size);
            let hint = (from > 0).then(|| log.head());
            let page = match read_range_in(&self.inner.pool, from, end, hint).await {
                Ok(p) => p,
                Err(StoreError::Corrupt(f)) => return Err(self.refuse(f)),
                Err(e) => return Err(e),
            };
            if page.is_empty() {
                return Err(self.refuse(Failure {
                    index: from,
                    section: "§9",
                    message: format!(
                        "the stored log ends here, but the server published {size} entries: \
                         entries were deleted"
                    ),
                }));
            }
            for e in &page {
                // Closed cases leave memory as the server's own replay does; an entry that names
                // one reads it back from the (MAC-checked) archive.
                let wanted = log.state().wants(&e.event);
                if !wanted.is_empty() {
                    let (cases, latest) =
                        archive::fetch(&self.inner.pool, &self.inner.archive, &wanted).await?;
                    log.restore(cases, latest);
                }
                log.push(e).map_err(|f| self.refuse(f))?;
                tree.push(e.hash);
                leaves.push(klero_core::merkle::leaf_hash(&e.hash.0));
                if leaves.len() as u64 == klero_core::tiles::TILE_WIDTH {
                    full_tiles.push(std::mem::take(&mut leaves));
                }
            }
            match tree::check_tile_rows(&self.inner.pool, first_tile, &full_tiles).await {
                Ok(()) => {}
                Err(StoreError::Corrupt(f)) => return Err(self.refuse(f)),
                Err(e) => return Err(e),
            }
            first_tile += full_tiles.len() as u64;
            full_tiles.clear();
            log.evict_closed();
            // A page is verified at a time; let the server's requests run between pages.
            tokio::task::yield_now().await;
        }
        let differs = {
            let s = self.inner.shared.read().unwrap_or_else(|p| p.into_inner());
            let live = s.tree.tile_hashes();
            tree.tile_hashes()
                .iter()
                .zip(live)
                .position(|(a, b)| a != b)
        };
        if let Some(t) = differs {
            let first = t as u64 * klero_core::tiles::TILE_WIDTH;
            return Err(self.refuse(Failure {
                index: first,
                section: "§5",
                message: format!(
                    "the stored entries {first}..{} do not give the Merkle tree the server \
                     serves proofs from (loaded from a snapshot that does not fit them)",
                    first + klero_core::tiles::TILE_WIDTH
                ),
            }));
        }
        if size > 0 && (log.root() != root || log.head() != head) {
            return Err(self.refuse(Failure {
                index: size - 1,
                section: "§5",
                message: format!(
                    "the stored log of {size} entries has another root or head than the one the \
                     server published at that size"
                ),
            }));
        }
        tracing::info!(entries = size, "full check: the stored log verifies");
        Ok(size)
    }

    /// Runs [`Store::full_check`] every `every`, the first one `every` after this call, in a
    /// background task, until the store refuses (then it stops), is closed or dropped, or the task
    /// is aborted. A check
    /// that fails on a database error is logged and tried again at the next period.
    pub fn spawn_full_checks(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // Stop with the store: dropped, or closed.
                let Some(inner) = weak.upgrade() else { return };
                let store = Store { inner };
                if store.inner.pool.is_closed() {
                    return;
                }
                match store.full_check().await {
                    Ok(_) => {}
                    Err(StoreError::Corrupt(_)) => return,
                    Err(e) => tracing::warn!("the full check could not run: {e}"),
                }
            }
        })
    }

    /// The log's signing key (SPEC §5.1), named by the genesis `log_id`; `None` before genesis. Its
    /// seed lives in the secret store as `log-key`, never in the database.
    pub fn log_key(&self) -> Option<&klero_core::checkpoint::LogKey> {
        if let Some(k) = self.inner.log_key.get() {
            return Some(k);
        }
        let origin = self.read(|s| s.log_id().cloned())?;
        let key = klero_core::checkpoint::LogKey::new(origin.as_str(), &self.inner.log_key_seed)
            .expect("a log id is a valid key name");
        Some(self.inner.log_key.get_or_init(|| key))
    }

    /// The latest checkpoint as a signed note (SPEC §5.1); `None` before genesis.
    pub fn signed_checkpoint(&self) -> Option<String> {
        let key = self.log_key()?;
        let (size, root) = self.checkpoint();
        Some(key.sign(size, &root))
    }

    /// Keeps `note`, the signed checkpoint of `size` entries with the witnesses' cosignatures
    /// gathered for it, as the one [`Store::cosigned_checkpoint`] serves; an older one than the
    /// one kept is ignored.
    pub fn set_cosigned_checkpoint(&self, size: u64, note: String) {
        let mut c = self
            .inner
            .cosigned
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if c.as_ref().is_none_or(|(s, _)| *s <= size) {
            *c = Some((size, note));
        }
    }

    /// The latest checkpoint note cosigned by witnesses, with its size; `None` if no witness has
    /// cosigned one since the store opened.
    pub fn cosigned_checkpoint(&self) -> Option<(u64, String)> {
        self.inner
            .cosigned
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The secret pepper for party commitments (`klero_core::hash::party_commitment`).
    pub fn pepper(&self) -> [u8; 32] {
        self.inner.pepper
    }

    /// A fresh secret for a credential or an enrollment code: `prefix` and 64 hex digits from the
    /// operating system's randomness. Only its fingerprint is ever written anywhere.
    pub fn new_secret(prefix: &str) -> Result<String, StoreError> {
        Ok(format!("{prefix}{}", hex::encode(os_random()?)))
    }

    /// Issues the installation's first credential, to the system administrator `holder`, as the
    /// allocator (SPEC §7.9, the bootstrap), and returns its secret. Refused once any credential
    /// exists: every later one is issued by a person.
    pub async fn bootstrap_admin(&self, holder: ActorId) -> Result<String, StoreError> {
        let secret = Store::new_secret("klero_")?;
        let credential = klero_core::hash::credential_fingerprint(&secret);
        self.submit(move |_| {
            Ok((
                Actor::system(),
                Event::CredentialIssued {
                    credential,
                    role: Role::SystemAdmin,
                    holder,
                    court: None,
                    enrollment: None,
                },
            ))
        })
        .await?;
        Ok(secret)
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
