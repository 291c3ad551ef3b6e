//! The one writer. Every append goes through here, one batch at a time: the batch is applied to
//! the writer's working copy of the log, written in one transaction, and only then published to
//! readers and acknowledged.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, RwLock};

use klero_core::tiled::TiledTree;
use klero_core::tiles::TILE_WIDTH;
use klero_core::{
    Actor, ActorId, BeaconReveal, ChainAnchor, Digest32, DrandSignature, Event, Failure, HashChain,
    Log, LogEntry, Policy, Rejection, State,
};
use sqlx::{AnyConnection, AnyPool, Row as _};
use tokio::sync::{mpsc, oneshot};

use crate::db::{Val, db_err, insert_rows};
use crate::project::{Op, project};
use crate::secrets::SecretStore;
use crate::{StoreError, now_ms};

/// What readers see: the log as of the last committed batch, and its Merkle tree (in bounded
/// memory: older level-0 tiles are read from the `tiles` table when a proof needs them).
#[derive(Default)]
pub(crate) struct Shared {
    pub log: Log,
    pub tree: TiledTree,
    /// The writer's archive lookups since the store opened.
    pub lookups: crate::ArchiveLookups,
}

/// The closure a submission runs inside the writer.
pub(crate) type SubmitFn =
    Box<dyn FnOnce(&State) -> Result<(Actor, Event), Rejection> + Send + 'static>;

/// How a submission was answered.
pub(crate) enum Outcome {
    /// Appended now.
    Fresh(Vec<LogEntry>),
    /// An earlier submission with the same idempotency key appended these entries.
    Replay { first: u64, count: u64 },
}

pub(crate) struct SubmitJob {
    pub f: SubmitFn,
    pub idem: Option<(String, String)>,
    pub reply: oneshot::Sender<Result<Outcome, StoreError>>,
}

pub(crate) enum Job {
    Submit(SubmitJob),
    Genesis {
        actor: Actor,
        log_id: ActorId,
        policy: Policy,
        reply: oneshot::Sender<Result<LogEntry, StoreError>>,
    },
    Rebuild {
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
    Close {
        reply: oneshot::Sender<()>,
    },
    /// Appends the draws of open drand draws whose round is among `rounds`, in trigger order,
    /// stopping at the first whose round is not (SPEC §7.7).
    DrandDraws {
        rounds: std::collections::BTreeMap<u64, DrandSignature>,
        reply: oneshot::Sender<Result<Vec<LogEntry>, StoreError>>,
    },
}

/// The actor of a `beacon_anchored` entry the store appends by itself when a chain runs out. (The
/// core reserves role `system` for draws, so the rotation is recorded as a system-administration
/// act with a self-explaining id.)
fn rotation_actor() -> Actor {
    Actor::system()
}

/// The name of a chain's secret in the secret store.
pub(crate) fn secret_name(anchor: &ChainAnchor) -> String {
    format!("beacon-{}", anchor.anchor.to_hex())
}

/// 32 bytes from the operating system. Used for secrets only, never for outcomes.
pub(crate) fn os_random() -> Result<[u8; 32], StoreError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| {
        StoreError::Database(format!("the operating system gave no randomness: {e}"))
    })?;
    Ok(b)
}

async fn build_chain(secret: Digest32, length: u64) -> Result<HashChain, StoreError> {
    tokio::task::spawn_blocking(move || HashChain::new(secret, length))
        .await
        .map_err(|e| StoreError::Database(format!("building the beacon chain failed: {e}")))
}

/// A fresh chain, its secret already durable in the secret store: the entry that anchors it may
/// be committed only after this returns, so a published anchor always has its secret.
async fn fresh_chain(length: u64, secrets: &Arc<dyn SecretStore>) -> Result<HashChain, StoreError> {
    let secret = Digest32(os_random()?);
    let chain = build_chain(secret, length).await?;
    let (secrets, name) = (secrets.clone(), secret_name(&chain.anchor()));
    tokio::task::spawn_blocking(move || secrets.put(&name, &secret.0))
        .await
        .map_err(|e| StoreError::Secrets(format!("storing a beacon secret failed: {e}")))??;
    Ok(chain)
}

/// Everything one transaction writes.
#[derive(Default)]
struct Batch {
    entries: Vec<LogEntry>,
    ops: Vec<Op>,
    idem: Vec<(String, String, u64, u64)>,
}

impl Batch {
    fn push(&mut self, state: &State, e: LogEntry) {
        project(state, &e, &mut self.ops);
        self.entries.push(e);
    }
}

/// Where one submission of a batch stands before the commit.
enum Answer {
    Rejected(Rejection),
    Failed(StoreError),
    /// `entries[start..end]` of the batch.
    Fresh(usize, usize),
    Replay(u64, u64),
}

pub(crate) struct Writer {
    pub pool: AnyPool,
    pub shared: Arc<RwLock<Shared>>,
    pub work: Log,
    pub chain: Option<HashChain>,
    pub chain_length: u64,
    pub max_batch: usize,
    pub secrets: Arc<dyn SecretStore>,
    /// The seed of the log's signing key, whose verifier key the genesis commit publishes.
    pub log_key_seed: [u8; 32],
    /// Told the log's size after every published batch (the witnessing task waits on it).
    pub size_tx: tokio::sync::watch::Sender<u64>,
    /// Write a state snapshot whenever the log crosses a multiple of this many entries (0: never).
    pub snapshot_every: u64,
    /// The task writing the latest snapshot, awaited before the next one starts and at close.
    pub snapshot_task: Option<tokio::task::JoinHandle<()>>,
    /// The case archive's MAC key (from the pepper).
    pub archive: crate::archive::ArchiveKey,
    /// The snapshots' digest key (from the pepper).
    pub snapshot_key: [u8; 32],
}

impl Writer {
    pub async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Job>) {
        let mut closing: Option<oneshot::Sender<()>> = None;
        while let Some(first) = rx.recv().await {
            let mut jobs = vec![first];
            while jobs.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            let mut submits = Vec::new();
            for job in jobs {
                match job {
                    Job::Submit(s) => {
                        if closing.is_some() {
                            let _ = s.reply.send(Err(closed()));
                        } else {
                            submits.push(s);
                        }
                    }
                    other => {
                        if !submits.is_empty() {
                            self.submit_batch(std::mem::take(&mut submits)).await;
                        }
                        match other {
                            Job::Genesis {
                                actor,
                                log_id,
                                policy,
                                reply,
                            } => {
                                let r = if closing.is_some() {
                                    Err(closed())
                                } else {
                                    self.genesis(actor, log_id, policy).await
                                };
                                let _ = reply.send(r);
                            }
                            Job::Rebuild { reply } => {
                                let _ = reply.send(self.rebuild().await);
                            }
                            Job::Close { reply } => {
                                closing.get_or_insert(reply);
                            }
                            Job::DrandDraws { rounds, reply } => {
                                let r = if closing.is_some() {
                                    Err(closed())
                                } else {
                                    self.drand_draws(rounds).await
                                };
                                let _ = reply.send(r);
                            }
                            Job::Submit(_) => unreachable!("handled above"),
                        }
                    }
                }
            }
            if !submits.is_empty() {
                self.submit_batch(submits).await;
            }
            if closing.is_some() {
                break;
            }
        }
        // Answer whatever is still queued, then let `close` proceed.
        rx.close();
        while let Ok(job) = rx.try_recv() {
            refuse(job);
        }
        // A snapshot still being written is finished before the store reports itself closed.
        if let Some(t) = self.snapshot_task.take() {
            let _ = t.await;
        }
        if let Some(c) = closing {
            let _ = c.send(());
        }
    }

    /// Makes `self.chain` the operator's side of the log's current chain.
    pub async fn load_chain(&mut self) -> Result<(), StoreError> {
        let Some((anchor, _)) = self.work.state().next_beacon_round() else {
            self.chain = None;
            return Ok(());
        };
        if self.chain.as_ref().is_some_and(|c| c.anchor() == anchor) {
            return Ok(());
        }
        self.chain = None;
        let (secrets, name) = (self.secrets.clone(), secret_name(&anchor));
        let found = tokio::task::spawn_blocking(move || secrets.get(&name))
            .await
            .map_err(|e| StoreError::Secrets(format!("reading a beacon secret failed: {e}")))??;
        let Some(secret) = found else {
            return Err(StoreError::Secrets(format!(
                "the secret of the current beacon chain (anchor {}) is not in {}: no draw can be \
                 made until it is restored there",
                anchor.anchor.to_hex(),
                self.secrets.describe()
            )));
        };
        let secret = Digest32(secret);
        let chain = build_chain(secret, anchor.length).await?;
        if chain.anchor() != anchor {
            return Err(StoreError::Secrets(format!(
                "the beacon secret in {} does not produce the anchor in the log",
                self.secrets.describe()
            )));
        }
        self.chain = Some(chain);
        Ok(())
    }

    /// If the current chain has no value left, appends a `beacon_anchored` entry with a fresh one.
    async fn rotate_if_exhausted(&mut self, batch: &mut Batch) -> Result<(), StoreError> {
        let Some((anchor, round)) = self.work.state().next_beacon_round() else {
            return Ok(());
        };
        if round <= anchor.length {
            return Ok(());
        }
        let chain = fresh_chain(self.chain_length, &self.secrets).await?;
        let e = self
            .work
            .append(
                now_ms(),
                rotation_actor(),
                Event::BeaconAnchored {
                    beacon: chain.anchor(),
                },
            )
            .map_err(StoreError::Rejected)?;
        batch.push(self.work.state(), e);
        self.chain = Some(chain);
        Ok(())
    }

    /// Rebuilds the working log from the published one plus `kept` (entries of the current batch
    /// that stay), after a submission failed half-way.
    fn restore(&mut self, kept: &[LogEntry]) {
        let mut w = self
            .shared
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .log
            .clone();
        for e in kept {
            w.push(e).expect("an entry the writer appended replays");
        }
        self.work = w;
    }

    async fn submit_batch(&mut self, jobs: Vec<SubmitJob>) {
        let keys: Vec<(String, String)> = jobs.iter().filter_map(|j| j.idem.clone()).collect();
        let mut known = match self.lookup(&keys).await {
            Ok(k) => k,
            Err(e) => {
                for j in jobs {
                    let _ = j.reply.send(Err(e.clone()));
                }
                return;
            }
        };
        // Room for a filing's two entries a submission: grown from empty, the vector was copied
        // into new pages at each doubling (a fifth of the page faults of filing at 10.39M).
        let mut batch = Batch {
            entries: Vec::with_capacity(2 * jobs.len()),
            ..Batch::default()
        };
        if let Err(e) = self.prepare().await {
            for j in jobs {
                let _ = j.reply.send(Err(e.clone()));
            }
            return;
        }
        if let Err(e) = self.rotate_if_exhausted(&mut batch).await {
            for j in jobs {
                let _ = j.reply.send(Err(e.clone()));
            }
            self.restore(&[]);
            return;
        }
        let mut answers = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        for job in jobs {
            replies.push(job.reply);
            if let Some(k) = &job.idem
                && let Some(&(first, count)) = known.get(k)
            {
                answers.push(Answer::Replay(first, count));
                continue;
            }
            let answer = self.apply_one(job.f, &mut batch).await;
            if let (Answer::Fresh(s, e), Some(k)) = (&answer, job.idem) {
                let first = batch.entries[*s].index;
                let count = (e - s) as u64;
                batch.idem.push((k.0.clone(), k.1.clone(), first, count));
                known.insert(k, (first, count));
            }
            answers.push(answer);
        }
        let result = if batch.entries.is_empty() {
            Ok(())
        } else {
            self.write(&batch).await
        };
        match result {
            Ok(()) => {
                self.publish(&batch.entries);
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let r = match answer {
                        Answer::Rejected(r) => Err(StoreError::Rejected(r)),
                        Answer::Failed(e) => Err(e),
                        Answer::Fresh(s, e) => Ok(Outcome::Fresh(batch.entries[s..e].to_vec())),
                        Answer::Replay(first, count) => Ok(Outcome::Replay { first, count }),
                    };
                    let _ = reply.send(r);
                }
            }
            Err(e) => {
                // Nothing of this batch is acknowledged. The database may or may not hold it (a
                // commit can fail after it persisted); re-read it, which is the truth either way.
                let e = match self.resync().await {
                    Ok(()) => e,
                    Err(e2) => StoreError::Database(format!("{e}; then re-reading the log: {e2}")),
                };
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let r = match answer {
                        Answer::Rejected(r) => Err(StoreError::Rejected(r)),
                        _ => Err(e.clone()),
                    };
                    let _ = reply.send(r);
                }
            }
        }
    }

    /// Loads the chain if needed before a batch.
    async fn prepare(&mut self) -> Result<(), StoreError> {
        self.load_chain().await
    }

    /// Runs one submission against the working log: its event and, if it opens a draw, the draw.
    async fn apply_one(&mut self, f: SubmitFn, batch: &mut Batch) -> Answer {
        let state = self.work.state();
        let (actor, event) = match std::panic::catch_unwind(AssertUnwindSafe(|| f(state))) {
            Ok(Ok(x)) => x,
            Ok(Err(r)) => return Answer::Rejected(r),
            Err(_) => {
                return Answer::Failed(StoreError::Database(
                    "the submission's code panicked inside the writer; nothing was written".into(),
                ));
            }
        };
        if matches!(event, Event::Genesis { .. }) {
            return Answer::Rejected(Rejection::new(
                klero_core::RejectKind::Invalid,
                "a genesis entry is written by Store::genesis, not submitted",
            ));
        }
        // Closed cases the event names may have been evicted: read them back first (into the
        // published log too, which applies the same entry when the batch commits).
        let wanted = self.work.state().wants(&event);
        if !wanted.is_empty() {
            let t = std::time::Instant::now();
            match crate::archive::fetch(&self.pool, &self.archive, &wanted).await {
                Ok((cases, latest)) => {
                    // A name the archive does not hold: a false positive of the filter of keys
                    // (or a number below the highest evicted one that was never filed).
                    let found = |id: &klero_core::CaseId| cases.iter().any(|a| &a.case.id == id);
                    let missed = wanted.cases.iter().filter(|id| !found(id)).count() as u64
                        + u64::from(wanted.duplicate_key.is_some() && latest.is_none());
                    let asked =
                        wanted.cases.len() as u64 + u64::from(wanted.duplicate_key.is_some());
                    let mut s = self.shared.write().unwrap_or_else(|p| p.into_inner());
                    s.lookups.names += asked;
                    s.lookups.missed += missed;
                    s.lookups.micros += t.elapsed().as_micros() as u64;
                    s.log.restore(cases.clone(), latest);
                    drop(s);
                    self.work.restore(cases, latest);
                }
                Err(e) => return Answer::Failed(e),
            }
        }
        let start = batch.entries.len();
        let ops_mark = batch.ops.len();
        let at = now_ms();
        let e = match self.work.append(at, actor, event) {
            Ok(e) => e,
            Err(r) => return Answer::Rejected(r),
        };
        let opens = e.event.opens_draw().cloned();
        batch.push(self.work.state(), e);
        // With drand in force a random draw waits for its round: the background task appends it.
        let opens = opens.filter(|c| self.work.state().pending_drand_of(c).is_none());
        if let Some(case) = opens {
            let drawn = match self.chain.as_mut() {
                Some(chain) => self.work.draw(at, &case, chain),
                None => self.work.draw(at, &case, &mut NoBeacon),
            };
            match drawn {
                Ok(d) => batch.push(self.work.state(), d),
                Err(r) => {
                    // The trigger was accepted but its draw cannot be made: take the trigger back.
                    batch.entries.truncate(start);
                    batch.ops.truncate(ops_mark);
                    let kept = batch.entries.clone();
                    self.restore(&kept);
                    return Answer::Rejected(r);
                }
            }
        }
        let end = batch.entries.len();
        // The draw may have used the chain's last value: anchor the next chain now, before any
        // later filing is committed, so no filing is ever drawn on a chain anchored after it.
        if let Err(err) = self.rotate_if_exhausted(batch).await {
            batch.entries.truncate(start);
            batch.ops.truncate(ops_mark);
            let kept = batch.entries.clone();
            self.restore(&kept);
            return Answer::Failed(err);
        }
        Answer::Fresh(start, end)
    }

    async fn lookup(
        &self,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), (u64, u64)>, StoreError> {
        let mut out = HashMap::new();
        for chunk in keys.chunks(400) {
            let mut sql =
                String::from("SELECT scope, key, first_idx, count FROM idempotency WHERE key IN (");
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("${}", i + 1));
            }
            sql.push(')');
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (_, k) in chunk {
                q = q.bind(k.clone());
            }
            for row in q.fetch_all(&self.pool).await.map_err(db_err)? {
                let scope: String = row.try_get(0).map_err(db_err)?;
                let key: String = row.try_get(1).map_err(db_err)?;
                let first: i64 = row.try_get(2).map_err(db_err)?;
                let count: i64 = row.try_get(3).map_err(db_err)?;
                out.insert((scope, key), (first as u64, count as u64));
            }
        }
        Ok(out)
    }

    async fn write(&mut self, b: &Batch) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let rows = b
            .entries
            .iter()
            .map(|e| {
                vec![
                    Val::from(e.index),
                    Val::I(i64::from(e.event.tag())),
                    Val::B(stored_bytes(e)),
                ]
            })
            .collect();
        insert_rows(&mut tx, "INSERT INTO log (idx, kind, entry)", 3, "", rows)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(
                    "another writer appended to this log at the same position: this store has \
                     re-read the log; retry"
                        .into(),
                ),
                _ => db_err(e),
            })?;
        // The level-0 tiles this batch completes, in the same transaction as their last entries.
        let first = b.entries.first().map_or(0, |e| e.index);
        let partial = {
            let s = self.shared.read().unwrap_or_else(|p| p.into_inner());
            (s.tree.size() == first).then(|| s.tree.partial_tile().leaf_hashes().to_vec())
        };
        let partial = match partial {
            Some(p) => p,
            // Not expected (the published tree is where the batch starts); read the stored entries.
            None => read_range(&mut tx, first / TILE_WIDTH * TILE_WIDTH, first, None)
                .await?
                .iter()
                .map(|e| klero_core::merkle::leaf_hash(&e.hash.0))
                .collect(),
        };
        crate::tree::write_tiles(&mut tx, crate::tree::completed_tiles(&partial, &b.entries))
            .await
            .map_err(db_err)?;
        // The stored entry hashes (`chain`): those of the partial tile after this batch and the
        // last of each group of 32 in full tiles. The rows of the tiles this batch completes go, as their tile
        // row now holds them. (An upsert: a row of an entry that was deleted from the end of the
        // log may still be there.)
        let size = first + b.entries.len() as u64;
        let full_from = size / TILE_WIDTH * TILE_WIDTH;
        let chain = b
            .entries
            .iter()
            .filter(|e| e.index >= full_from || e.index % CHAIN_STEP == CHAIN_STEP - 1)
            .map(|e| vec![Val::from(e.index), Val::B(e.hash.0.to_vec())])
            .collect();
        insert_rows(
            &mut tx,
            "INSERT INTO chain (idx, hash)",
            2,
            " ON CONFLICT (idx) DO UPDATE SET hash = excluded.hash",
            chain,
        )
        .await
        .map_err(db_err)?;
        let was_full = first / TILE_WIDTH * TILE_WIDTH;
        if full_from > was_full {
            sqlx::query("DELETE FROM chain WHERE idx >= $1 AND idx < $2 AND idx % 32 <> 31")
                .bind(was_full as i64)
                .bind(full_from as i64)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        let now = now_ms();
        crate::project::write(&mut tx, b.ops.clone(), &self.archive).await?;
        let idem = b
            .idem
            .iter()
            .map(|(s, k, f, c)| {
                vec![
                    s.as_str().into(),
                    k.as_str().into(),
                    Val::from(*f),
                    Val::from(*c),
                    Val::I(now),
                ]
            })
            .collect();
        insert_rows(
            &mut tx,
            "INSERT INTO idempotency (scope, key, first_idx, count, at)",
            5,
            "",
            idem,
        )
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        // When the log crosses a multiple of `snapshot_every`, a snapshot of the state after this
        // batch, written off the writer's path: from a copy of the working log, encoded and stored
        // in its own transaction by a task, so that filing does not wait for it. A snapshot is
        // bound to its (size, head, root), which a start checks against the stored log, so it
        // need not commit with the batch; one lost in a crash only costs a longer replay.
        let size = self.work.size();
        let before = size - b.entries.len() as u64;
        if self.snapshot_every > 0 && size / self.snapshot_every > before / self.snapshot_every {
            if let Some(t) = self.snapshot_task.take() {
                let _ = t.await;
            }
            let (pool, log, key) = (self.pool.clone(), self.work.clone(), self.snapshot_key);
            let (shared, mut sizes) = (self.shared.clone(), self.size_tx.subscribe());
            self.snapshot_task = Some(tokio::spawn(async move {
                // The tree's height-8 hashes at `size`, once this batch is published (the tree
                // only grows, so a later one holds them too).
                if sizes.wait_for(|&n| n >= size).await.is_err() {
                    return;
                }
                let tiles = {
                    let s = shared.read().unwrap_or_else(|p| p.into_inner());
                    let full = (size / klero_core::tiles::TILE_WIDTH) as usize;
                    s.tree.tile_hashes()[..full].to_vec()
                };
                // Not an error of the batch: the next start replays a longer tail.
                if let Err(e) = crate::snapshot::write_apart(&pool, &key, log, tiles).await {
                    tracing::warn!("a state snapshot was not written: {e}");
                }
            }));
        }
        Ok(())
    }

    /// Makes committed entries visible to readers.
    fn publish(&mut self, entries: &[LogEntry]) {
        let mut s = self.shared.write().unwrap_or_else(|p| p.into_inner());
        for e in entries {
            if s.log.push(e).is_err() {
                // Cannot happen: the writer's own log accepted the same entries.
                s.log = self.work.clone();
            }
            s.tree.push(e.hash);
        }
        // The cases these entries closed are archived in the same commit: memory may let them go.
        // Both copies evict the same cases and then share one filter of the evicted ones.
        s.log.evict_closed_twins(&mut self.work);
        self.size_tx.send_replace(s.log.size());
    }

    /// Brings the published log up to the database (which may hold a batch that reported failure)
    /// and restarts the working copy from it.
    async fn resync(&mut self) -> Result<(), StoreError> {
        let (mut log, mut tree) = {
            let s = self.shared.read().unwrap_or_else(|p| p.into_inner());
            (s.log.clone(), s.tree.clone())
        };
        // Replay the tail onto a copy, then publish it in one step.
        let r = replay_into(&self.pool, &self.archive, &mut log, &mut tree).await;
        if r.is_ok() {
            let mut s = self.shared.write().unwrap_or_else(|p| p.into_inner());
            s.tree = tree;
            s.log = log;
            self.size_tx.send_replace(s.log.size());
        }
        self.restore(&[]);
        // The chain may have changed with the entries (or not, if the batch that rotated it was
        // lost); it is reloaded before the next batch.
        r.map(|_| ())
    }

    async fn genesis(
        &mut self,
        actor: Actor,
        log_id: ActorId,
        policy: Policy,
    ) -> Result<LogEntry, StoreError> {
        if self.work.size() > 0 {
            return Err(StoreError::Conflict(
                "the log already has a genesis entry: a log is started once".into(),
            ));
        }
        let chain = fresh_chain(self.chain_length, &self.secrets).await?;
        let key = klero_core::checkpoint::LogKey::new(log_id.as_str(), &self.log_key_seed)
            .map_err(|m| StoreError::Conflict(format!("the log id cannot name its key: {m}")))?;
        let at = now_ms();
        let e = self
            .work
            .append(
                at,
                actor,
                Event::Genesis {
                    log_id,
                    policy,
                    beacon: chain.anchor(),
                },
            )
            .map_err(StoreError::Rejected)?;
        let mut batch = Batch::default();
        batch.push(self.work.state(), e.clone());
        // Entry 1, in the same commit: the log's checkpoint key, so a monitor pins it from the
        // start (SPEC §5.1).
        let published = self
            .work
            .append(
                at,
                Actor::system(),
                Event::LogKeyPublished {
                    key: key.verifier_key().to_owned(),
                },
            )
            .map_err(StoreError::Rejected);
        match published {
            Ok(p) => batch.push(self.work.state(), p),
            Err(err) => {
                self.restore(&[]);
                return Err(err);
            }
        }
        match self.write(&batch).await {
            Ok(()) => {
                self.publish(&batch.entries);
                self.chain = Some(chain);
                Ok(e)
            }
            Err(err) => {
                let _ = self.resync().await;
                Err(match err {
                    StoreError::Conflict(_) => StoreError::Conflict(
                        "the log already has a genesis entry: a log is started once".into(),
                    ),
                    other => other,
                })
            }
        }
    }

    /// Appends, in one transaction, the draws of the open drand draws whose round is given, in
    /// trigger order, stopping at the first whose round is missing (or not yet known).
    async fn drand_draws(
        &mut self,
        rounds: std::collections::BTreeMap<u64, DrandSignature>,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let mut batch = Batch::default();
        for p in self.work.state().pending_drand() {
            let Some(signature) = p.round.and_then(|r| rounds.get(&r)) else {
                break;
            };
            let reveal = BeaconReveal::Drand {
                round: p.round.expect("known"),
                signature: *signature,
            };
            match self.work.draw_with(now_ms(), &p.case, reveal) {
                Ok(e) => batch.push(self.work.state(), e),
                Err(r) => {
                    // A round that does not verify: nothing of this batch is written.
                    self.restore(&[]);
                    return Err(StoreError::Rejected(r));
                }
            }
        }
        if batch.entries.is_empty() {
            return Ok(vec![]);
        }
        match self.write(&batch).await {
            Ok(()) => {
                self.publish(&batch.entries);
                Ok(batch.entries)
            }
            Err(e) => {
                let e = match self.resync().await {
                    Ok(()) => e,
                    Err(e2) => StoreError::Database(format!("{e}; then re-reading the log: {e2}")),
                };
                Err(e)
            }
        }
    }

    /// Deletes and rewrites every projection row from the log, in one transaction, reading the
    /// log a page at a time.
    async fn rebuild(&mut self) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        for t in ["assignments", "cases", "judge_loads", "case_archive"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {t}")))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        let mut log = Log::new();
        loop {
            let from = log.size();
            let page =
                read_range(&mut tx, from, from + PAGE, (from > 0).then(|| log.head())).await?;
            let mut ops = Vec::new();
            for e in &page {
                log.push(e).map_err(StoreError::Corrupt)?;
                project(log.state(), e, &mut ops);
            }
            crate::project::write(&mut tx, ops, &self.archive).await?;
            if (page.len() as u64) < PAGE {
                break;
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(log.size())
    }
}

/// Rows read per query when replaying the log.
pub(crate) const PAGE: u64 = 10_000;

/// Entries read at a time by [`replay_into`] (a start's tail, a resync): small, so that what a
/// page takes in memory while it is replayed stays small beside the state.
const REPLAY_PAGE: u64 = 2_000;

/// A beacon that has nothing (used only if the chain's secret could not be loaded).
struct NoBeacon;

impl klero_core::BeaconSource for NoBeacon {
    fn reveal(&mut self, _: &ChainAnchor, _: u64) -> Option<klero_core::BeaconReveal> {
        None
    }
}

pub(crate) fn closed() -> StoreError {
    StoreError::Database("the store is closed".into())
}

fn refuse(job: Job) {
    match job {
        Job::Submit(s) => {
            let _ = s.reply.send(Err(closed()));
        }
        Job::Genesis { reply, .. } => {
            let _ = reply.send(Err(closed()));
        }
        Job::Rebuild { reply } => {
            let _ = reply.send(Err(closed()));
        }
        Job::DrandDraws { reply, .. } => {
            let _ = reply.send(Err(closed()));
        }
        Job::Close { reply } => {
            let _ = reply.send(());
        }
    }
}

/// Reads, checks and pushes every stored entry from `log.size()` on into `log` (and `tree`), a
/// page at a time; returns how many. After each page the cases it closed go to the archive (if
/// not there already) and out of memory, so that a long replay (a full check, a start far from
/// its snapshot) holds no more than a page's closed cases beside the open ones.
pub(crate) async fn replay_into(
    pool: &AnyPool,
    archive: &crate::archive::ArchiveKey,
    log: &mut Log,
    tree: &mut TiledTree,
) -> Result<u64, StoreError> {
    let mut added = 0;
    loop {
        let from = log.size();
        let page = read_range_in(
            pool,
            from,
            from + REPLAY_PAGE,
            (from > 0).then(|| log.head()),
        )
        .await?;
        let n = page.len() as u64;
        for e in page {
            // A log restored from a snapshot may have evicted the closed cases an entry names.
            let wanted = log.state().wants(&e.event);
            if !wanted.is_empty() {
                let (cases, latest) = crate::archive::fetch(pool, archive, &wanted).await?;
                log.restore(cases, latest);
            }
            log.push(&e).map_err(StoreError::Corrupt)?;
            tree.push(e.hash);
            added += 1;
        }
        // A log replayed from an older snapshot (or from entry 0) holds the cases it closed;
        // those archived before are not rewritten.
        crate::archive::backfill(pool, archive, log).await?;
        log.evict_closed();
        if n < REPLAY_PAGE {
            return Ok(added);
        }
    }
}

/// Inside full tiles, `chain` keeps the hash of every entry whose index is `CHAIN_STEP - 1`
/// modulo this (schema 11): a reader starting inside a full tile hashes at most `CHAIN_STEP - 1`
/// entries before its first, for about 1.2 bytes an entry. (The SQL that deletes the other rows
/// names 32 and 31.)
pub(crate) const CHAIN_STEP: u64 = 32;

/// The bytes a `log` row's `entry` column leaves out (schema 11): SPEC §3.2's version byte (1)
/// and the entry's index, which is the row's `idx`.
pub(crate) const LEFT_OUT: usize = 9;

/// What a `log` row stores of `e` (schema 11): its canonical bytes after the version byte and
/// the index.
pub(crate) fn stored_bytes(e: &LogEntry) -> Vec<u8> {
    let mut b = e.bytes();
    b.drain(..LEFT_OUT);
    b
}

/// The canonical bytes of the entry stored at `idx` as `stored` (schema 11): the version byte,
/// the index, then the stored bytes.
pub(crate) fn canonical_bytes(idx: u64, stored: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(LEFT_OUT + stored.len());
    b.push(klero_core::ENTRY_VERSION);
    b.extend_from_slice(&idx.to_be_bytes());
    b.extend_from_slice(stored);
    b
}

fn corrupt_at(index: u64, message: String) -> StoreError {
    StoreError::Corrupt(Failure {
        index,
        section: "§9",
        message,
    })
}

/// The stored hash of entry `idx` in the `chain` table, if it has a row.
async fn chain_hash(conn: &mut AnyConnection, idx: u64) -> Result<Option<Digest32>, StoreError> {
    let row = sqlx::query("SELECT hash FROM chain WHERE idx = $1")
        .bind(idx.min(i64::MAX as u64) as i64)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    match row {
        None => Ok(None),
        Some(r) => {
            let h: Vec<u8> = r.try_get(0).map_err(db_err)?;
            Ok(Some(stored_hash(&h)))
        }
    }
}

/// Entries with `start <= idx < end`, in order, decoded from their stored bytes (schema 11);
/// `prev`, if given, is the hash of entry `start - 1` (a replay's verified head).
///
/// No hash is stored per `log` row. An entry's `hash` is what is stored for it in `chain` (the
/// entries of the partial tile, and in full tiles the last entry of each group of 32): a claim, which
/// [`klero_core::Log::push`] and the verifiers compare with the hash of its bytes (SPEC §4.1),
/// naming an entry whose bytes, or whose predecessor's hash, were altered, as before. An entry
/// without a `chain` row (inside a full tile) gets the hash of its bytes after its predecessor's,
/// and that must be the leaf its tile's row in `tiles` holds (for an entry with both, the
/// `chain` row must be that leaf too): else, or if it has neither, it is [`StoreError::Corrupt`],
/// named here. The `prev` of the first entry is `prev`, the `chain` row of entry `start - 1`
/// or, if it has none, that of the last entry of the group of 32 before `start`'s, from which the
/// entries of `start`'s group before `start` (at most 31) are read and hashed too; zeros before
/// entry 0. A row whose bytes do not decode, or whose `kind` column disagrees with its entry, is
/// [`StoreError::Corrupt`]. A row found where an earlier one is missing (deleted) is returned
/// last, as it is, so the chain names the position.
///
/// The queries run in the order `log`, `chain`, `tiles`, which needs no transaction: a `chain`
/// row is deleted only in the commit that writes its tile's row, so an entry whose `chain` row is
/// gone when `chain` is read has its tile row when `tiles` is read after.
pub(crate) async fn read_range(
    conn: &mut AnyConnection,
    start: u64,
    end: u64,
    prev: Option<Digest32>,
) -> Result<Vec<LogEntry>, StoreError> {
    let end = end.min(i64::MAX as u64);
    if start >= end {
        return Ok(Vec::new());
    }
    // Where hashing starts, and the hash before it.
    let (from, mut prev) = match prev {
        Some(p) => (start, p),
        None if start == 0 => (0, Digest32::ZERO),
        None => match chain_hash(conn, start - 1).await? {
            Some(h) => (start, h),
            None => {
                let from = start / CHAIN_STEP * CHAIN_STEP;
                if from == 0 {
                    (0, Digest32::ZERO)
                } else {
                    match chain_hash(conn, from - 1).await? {
                        Some(h) => (from, h),
                        None => {
                            return Err(corrupt_at(
                                from - 1,
                                "the stored hash of this entry, the last of its group of 32, is missing \
                                 from the chain table: the table was altered"
                                    .into(),
                            ));
                        }
                    }
                }
            }
        },
    };
    let rows = sqlx::query(
        "SELECT idx, CAST(kind AS BIGINT), entry FROM log WHERE idx >= $1 AND idx < $2 \
         ORDER BY idx",
    )
    .bind(from as i64)
    .bind(end as i64)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let last = from + rows.len() as u64 - 1;
    let chained: HashMap<u64, Digest32> =
        sqlx::query("SELECT idx, hash FROM chain WHERE idx >= $1 AND idx <= $2")
            .bind(from as i64)
            .bind(last as i64)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|r| {
                let idx: i64 = r.try_get(0)?;
                let h: Vec<u8> = r.try_get(1)?;
                Ok((idx as u64, stored_hash(&h)))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db_err)?;
    let tiles: HashMap<u64, Vec<u8>> =
        sqlx::query("SELECT idx, hashes FROM tiles WHERE idx >= $1 AND idx <= $2")
            .bind((from / TILE_WIDTH) as i64)
            .bind((last / TILE_WIDTH) as i64)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|r| Ok((r.try_get::<i64, _>(0)? as u64, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db_err)?;
    let mut out = Vec::with_capacity(end.saturating_sub(start).min(rows.len() as u64) as usize);
    // The first entry whose claimed hash is not the hash of its bytes: `Log::push` names it, but
    // if this read fails further on, that failure is reported at it instead, so the first bad
    // entry is named.
    let mut mismatch: Option<u64> = None;
    let earliest = |e: StoreError, mismatch: Option<u64>| match mismatch {
        Some(q) => corrupt_at(
            q,
            "its contents do not match its recorded hash (chain table): the entry, its stored \
             hash or an earlier entry was altered"
                .into(),
        ),
        None => e,
    };
    for (i, row) in rows.iter().enumerate() {
        let position = from + i as u64;
        let idx: i64 = row.try_get(0).map_err(db_err)?;
        let kind: i64 = row.try_get(1).map_err(db_err)?;
        let stored: Vec<u8> = row.try_get(2).map_err(db_err)?;
        let idx = idx as u64;
        if idx != position && position < start {
            return Err(corrupt_at(
                position,
                format!(
                    "the stored log has no row for this entry, but has one for entry {idx}: \
                     entries were deleted"
                ),
            ));
        }
        let bytes = canonical_bytes(idx, &stored);
        let (index, at, actor, event) = klero_core::decode_entry_bytes(&bytes).map_err(|m| {
            corrupt_at(
                position,
                format!(
                    "the stored entry (row idx {idx}) cannot be read: its bytes are not a \
                     canonical entry (SPEC §3): {m}"
                ),
            )
        })?;
        if idx == position && i64::from(event.tag()) != kind {
            return Err(corrupt_at(
                position,
                format!(
                    "the row's kind column ({kind}) does not match its entry: the row was altered"
                ),
            ));
        }
        // What is stored for the entry: its hash in `chain` (which `Log::push` and the
        // verifiers compare with the hash of its bytes), else the hash of its bytes, which its
        // tile's row must hold.
        let computed = klero_core::hash::entry_hash(&prev, &bytes);
        let hash = match chained.get(&idx) {
            Some(h) => {
                if *h != computed && mismatch.is_none() {
                    mismatch = Some(position);
                }
                *h
            }
            None => computed,
        };
        let tile = tiles.get(&(idx / TILE_WIDTH));
        if let Some(tile) = tile {
            let t = idx / TILE_WIDTH;
            let k = (idx % TILE_WIDTH) as usize * 32;
            let leaf = klero_core::merkle::leaf_hash(&hash.0);
            if tile.len() != 32 * TILE_WIDTH as usize || tile[k..k + 32] != leaf.0 {
                return Err(earliest(
                    corrupt_at(
                        position,
                        format!(
                            "its hash is not the leaf that row {t} of the tiles table holds for \
                             it: the entry, an earlier entry or the tiles table was altered"
                        ),
                    ),
                    mismatch,
                ));
            }
        } else if !chained.contains_key(&idx) {
            return Err(earliest(
                corrupt_at(
                    position,
                    "no stored hash holds this entry (no chain row, no tiles row): rows were \
                     deleted, or the entry was inserted"
                        .into(),
                ),
                mismatch,
            ));
        }
        let e = LogEntry {
            index,
            at,
            actor,
            event,
            prev,
            hash,
        };
        prev = hash;
        if idx != position {
            // A row is missing before this one: the chain names the position.
            out.push(e);
            return Ok(out);
        }
        if position >= start {
            out.push(e);
        }
    }
    Ok(out)
}

/// Reads [`read_range`] on a connection of `pool`.
pub(crate) async fn read_range_in(
    pool: &AnyPool,
    start: u64,
    end: u64,
    prev: Option<Digest32>,
) -> Result<Vec<LogEntry>, StoreError> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    read_range(&mut conn, start, end, prev).await
}

/// A stored hash as a digest (the columns are 32 bytes by a CHECK constraint; anything else reads
/// as zeros, which no entry hashes to).
fn stored_hash(bytes: &[u8]) -> Digest32 {
    bytes.try_into().map_or(Digest32::ZERO, Digest32)
}
