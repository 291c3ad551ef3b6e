//! `klero monitor`: what an observer leaves running beside a court's log.
//!
//! Each round it fetches the server's signed checkpoint, checks the log key's signature, proves
//! that the new checkpoint extends the one it holds (RFC 9162 consistency), fetches only the new
//! entries and replays them through the same verifier as `klero verify` (every hash link, beacon
//! value, pool, weight and draw), and keeps its position on disk. It never re-reads from the server
//! what it has already verified: on a restart it replays its own copy of the log from its state
//! directory.
//!
//! It reads the log either through the server's JSON API (`--url`: the cosigned checkpoint, RFC
//! 9162 consistency proofs, pages of entries) or as C2SP tlog-tiles (`--tiles`: `checkpoint`, hash
//! tiles and entry bundles under `tile/`, which any static web server, object store or CDN can
//! mirror, SPEC §5.4). From tiles, consistency is shown by the tiles of the new tree starting with
//! the hashes of the held tree's partial tiles; each bundle's entries are checked against the
//! level-0 tile beside it, and every tile of level 1 or more that the new entries complete or
//! change is checked against the hashes the monitor computes from the entries, whose root must be
//! the signed one.
//!
//! The state directory holds:
//! - `log-key`: the log key pinned on the first run (from `--log-key`, else the server's, trust on
//!   first use);
//! - `checkpoint.note`: the last signed checkpoint whose entries were all verified;
//! - `entries.jsonl`: those entries, in the export format (SPEC §8);
//! - `evidence/`: on an alarm, the two signed checkpoints that conflict and a report in words.
//!
//! Anything inconsistent is an [`Alarm`]: a plain-words report, written to `evidence/` and returned,
//! which the command line prints before exiting non-zero.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use klero_core::checkpoint::{self, Checkpoint};
use klero_core::state::fmt_index;
use klero_core::{Digest32, LogEntry, Verifier};

use klero_core::merkle::leaf_hash;
use klero_core::tiles::{self, TILE_WIDTH, Tile, TileFrontier};

use crate::tiles::Source;
use crate::verify::{Replay, agent, get, get_bytes, problem_detail, replay_lines};

/// An inconsistency the monitor found: what happened, in words, and where the evidence is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alarm {
    /// What kind of inconsistency.
    pub kind: AlarmKind,
    /// The report, in plain words.
    pub report: String,
    /// The directory holding the evidence (the conflicting signed checkpoints, the report).
    pub evidence: PathBuf,
}

/// The kinds of inconsistency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlarmKind {
    /// The server signed a checkpoint smaller than one it signed before.
    Rollback,
    /// Two signed checkpoints that no consistency proof joins: two histories.
    Fork,
    /// The checkpoint is not signed by the pinned log key, the log publishes another key, or a
    /// witness's cosignature on it does not verify.
    BadSignature,
    /// An entry does not replay (a hash, a beacon value, a pool, a weight or a draw is wrong), or
    /// an entry bundle is not framed as SPEC §5.4 says.
    BadEntry,
    /// A hash tile does not hold the hashes of the entries (SPEC §5.4): the mirror or the server
    /// serves tiles that would mislead a reader's proofs.
    BadTile,
    /// The entries do not give the checkpoint's root.
    RootMismatch,
}

/// What one round did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The checkpoint's size before the round.
    pub from: u64,
    /// The checkpoint's size after the round.
    pub to: u64,
    /// Its root.
    pub root: Digest32,
    /// The witnesses in force (§5.3) whose cosignatures on it verify, with their times.
    pub cosigned: Vec<(String, u64)>,
    /// The quorum in force (0 without witnesses).
    pub quorum: u8,
}

impl Progress {
    /// Whether the checkpoint carries the cosignatures of a quorum of the witnesses in force.
    pub fn witnessed(&self) -> bool {
        self.quorum > 0 && self.cosigned.len() >= self.quorum as usize
    }
}

/// Why a round could not be completed, other than an inconsistency (the server is unreachable,
/// the state directory cannot be written): the monitor tries again later.
pub type Trouble = String;

/// The outcome of one round.
pub type Round = Result<Progress, Result<Alarm, Trouble>>;

/// Tiles of level 1 or more completed by new entries: level, index and their 256 hashes.
type Completed = Vec<(u8, u64, Vec<Digest32>)>;

/// Where a monitor reads the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Feed {
    /// A server's JSON API at this base address (`klero serve`).
    Api(String),
    /// tlog-tiles under this prefix: a base address (`klero serve`, or any static web server
    /// serving a directory written by `klero export-tiles`), or such a directory itself.
    Tiles(String),
}

impl Feed {
    fn base(&self) -> &str {
        match self {
            Feed::Api(b) | Feed::Tiles(b) => b,
        }
    }
}

/// A monitor with its state directory open and its copy of the log replayed.
pub struct Monitor {
    base: String,
    /// The tiles' source, when following tiles.
    tiles: Option<Source>,
    dir: PathBuf,
    key: String,
    held: Option<(String, Checkpoint)>,
    verifier: Verifier,
    /// The partial tiles of the verified entries' tree (kept when following tiles).
    frontier: TileFrontier,
    agent: ureq::Agent,
}

/// The verifier and, when following tiles, the frontier, fed together.
struct Follow<'a> {
    verifier: &'a mut Verifier,
    frontier: Option<&'a mut TileFrontier>,
    /// Tiles of level 1 or more completed by the entries pushed.
    completed: Completed,
}

impl Replay for Follow<'_> {
    fn push(&mut self, e: &LogEntry) -> bool {
        if !Replay::push(self.verifier, e) {
            return false;
        }
        if let Some(f) = self.frontier.as_deref_mut() {
            self.completed.extend(f.push(&e.hash));
        }
        true
    }
    fn fail(&mut self, section: &'static str, message: String) {
        Replay::fail(self.verifier, section, message)
    }
    fn failed(&self) -> bool {
        Replay::failed(self.verifier)
    }
    fn log(&self) -> &klero_core::Log {
        Replay::log(self.verifier)
    }
    fn reserve(&mut self, entries: u64) {
        Replay::reserve(self.verifier, entries)
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

impl Monitor {
    /// Opens (or starts) the state directory `dir` for the server at `base`. `pinned` is the log
    /// key an observer noted from a source they trust; without it, a new directory pins the key the
    /// server publishes (and says so through `say`). Replays the directory's copy of the log,
    /// reporting progress through `say`.
    pub fn open(
        base: &str,
        dir: &Path,
        pinned: Option<&str>,
        say: &mut dyn FnMut(String),
    ) -> Result<Monitor, String> {
        Monitor::open_feed(&Feed::Api(base.to_owned()), dir, pinned, say)
    }

    /// [`Monitor::open`] for either feed. Following tiles, a new directory without `pinned` pins
    /// the key the log publishes in its `log_key_published` entry (read from the first bundle).
    pub fn open_feed(
        feed: &Feed,
        dir: &Path,
        pinned: Option<&str>,
        say: &mut dyn FnMut(String),
    ) -> Result<Monitor, String> {
        let base = feed.base().trim_end_matches('/').to_owned();
        let tiles = match feed {
            Feed::Api(_) => None,
            Feed::Tiles(_) => Some(Source::parse(&base)),
        };
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let agent = agent();
        let key_path = dir.join("log-key");
        let stored = match fs::read_to_string(&key_path) {
            Ok(k) => Some(k.trim().to_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("cannot read {}: {e}", key_path.display())),
        };
        let key = match (stored, pinned.map(|k| k.trim().to_owned())) {
            (Some(s), Some(p)) if s != p => {
                return Err(format!(
                    "{} pins the log key {s}, not the {p} given with --log-key; use another state directory to follow another log",
                    key_path.display()
                ));
            }
            (Some(s), _) => s,
            (None, Some(p)) => p,
            (None, None) if tiles.is_some() => {
                let k = published_key(tiles.as_ref().expect("tiles"), &agent)?;
                say(format!(
                    "pinned the log key the log publishes in its log_key_published entry (trust on first use; compare it with a source you trust): {k}"
                ));
                k
            }
            (None, None) => {
                let (status, body) = get(&agent, &format!("{base}/api/v1/log/key"))?;
                if status != 200 {
                    return Err(format!(
                        "the server answered {status} for its log key: {}",
                        problem_detail(&body)
                    ));
                }
                let k = body.trim().to_owned();
                say(format!(
                    "pinned the log key the server publishes (trust on first use; compare it with a source you trust): {k}"
                ));
                k
            }
        };
        // A key that does not parse is refused before it is pinned.
        checkpoint::check_verifier_key(&key)?;
        write_atomic(&key_path, format!("{key}\n").as_bytes())?;

        let held = match fs::read_to_string(dir.join("checkpoint.note")) {
            Ok(note) => {
                let cp = checkpoint::verify(&note, &key).map_err(|m| {
                    format!(
                        "the checkpoint held in {} does not verify: {m}",
                        dir.display()
                    )
                })?;
                Some((note, cp))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("cannot read the held checkpoint: {e}")),
        };
        let mut m = Monitor {
            base,
            tiles,
            dir: dir.to_owned(),
            key,
            held,
            verifier: Verifier::new(),
            frontier: TileFrontier::new(),
            agent,
        };
        m.load(say)?;
        Ok(m)
    }

    /// Replays the directory's copy of the log up to the held checkpoint into a new verifier (and
    /// frontier), dropping entries written after that checkpoint was saved.
    fn load(&mut self, say: &mut dyn FnMut(String)) -> Result<(), String> {
        let dir = self.dir.clone();
        let held_size = self.size();
        let mut verifier = Verifier::new();
        let mut frontier = TileFrontier::new();
        let entries = dir.join("entries.jsonl");
        if entries.exists() {
            // Entries written after the last checkpoint was saved (a stop between the two) are
            // dropped: they are fetched and checked again against the next checkpoint.
            let kept = truncate_lines(&entries, held_size)?;
            if kept < held_size {
                return Err(format!(
                    "{} holds {} entries, fewer than its checkpoint's {}: the state directory is damaged",
                    entries.display(),
                    fmt_index(kept),
                    fmt_index(held_size)
                ));
            }
            let f =
                BufReader::with_capacity(1 << 20, File::open(&entries).map_err(|e| e.to_string())?);
            let mut tick = |n: u64| say(format!("replayed {} held entries...", fmt_index(n)));
            let mut follow = Follow {
                verifier: &mut verifier,
                frontier: self.tiles.is_some().then_some(&mut frontier),
                completed: Vec::new(),
            };
            // The held checkpoint names how many entries there are.
            follow.reserve(held_size);
            replay_lines(f, &mut follow, 100_000, &mut tick);
            if let Some(f) = verifier.failure() {
                return Err(format!(
                    "the copy of the log in {} does not verify ({f}): the state directory is damaged",
                    dir.display()
                ));
            }
            if let Some((_, cp)) = &self.held
                && verifier.log().root() != cp.root
            {
                return Err(format!(
                    "the copy of the log in {} does not give its checkpoint's root: the state directory is damaged",
                    dir.display()
                ));
            }
        } else if held_size > 0 {
            return Err(format!(
                "{} is missing: the state directory is damaged",
                entries.display()
            ));
        }
        self.verifier = verifier;
        self.frontier = frontier;
        Ok(())
    }

    /// The pinned log key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The size of the last checkpoint verified.
    pub fn size(&self) -> u64 {
        self.held.as_ref().map_or(0, |(_, c)| c.size)
    }

    /// One round: fetch the signed checkpoint, prove it extends the held one, verify the new
    /// entries, save the position.
    pub fn round(&mut self, say: &mut dyn FnMut(String)) -> Round {
        // A round that stopped half-way (the server went away between two pages) left entries
        // past the held checkpoint in the verifier: start again from the held copy.
        if self.verifier.log().size() != self.size() {
            self.load(say).map_err(Err)?;
        }
        let note = match &self.tiles {
            Some(src) => {
                let bytes = src.get(&self.agent, "checkpoint").map_err(Err)?;
                String::from_utf8_lossy(&bytes).into_owned()
            }
            None => {
                let url = format!("{}/api/v1/log/checkpoint", self.base);
                let (status, note) =
                    get_bytes(&self.agent, &url, Some("text/plain"), 1 << 20).map_err(Err)?;
                let note = String::from_utf8_lossy(&note).into_owned();
                if status != 200 {
                    return Err(Err(format!(
                        "the server answered {status} for its signed checkpoint: {}",
                        problem_detail(&note)
                    )));
                }
                note
            }
        };
        let cp = match checkpoint::verify(&note, &self.key) {
            Ok(cp) => cp,
            Err(m) => {
                return Err(Ok(self.alarm(
                    AlarmKind::BadSignature,
                    format!(
                        "the server's checkpoint is not signed by the pinned log key {} (SPEC §5.1): {m}",
                        self.key
                    ),
                    Some(&note),
                )));
            }
        };
        let from = self.size();
        if let Some((_, held)) = &self.held {
            if cp.size < held.size {
                let report = format!(
                    "ROLLBACK: the server now signs a log of {} entries, but it signed {} entries before (root {}); a log only grows (SPEC §5.1)",
                    fmt_index(cp.size),
                    fmt_index(held.size),
                    held.root
                );
                return Err(Ok(self.alarm(AlarmKind::Rollback, report, Some(&note))));
            }
            let consistent = if cp.size == held.size {
                cp.root == held.root
            } else if self.tiles.is_some() {
                self.tiles_consistent(cp.size, &note)?
            } else {
                let url = format!(
                    "{}/api/v1/log/consistency?old={}&new={}",
                    self.base, held.size, cp.size
                );
                let (status, body) = get(&self.agent, &url).map_err(Err)?;
                if status != 200 {
                    false
                } else {
                    let proof: Vec<Digest32> = serde_json::from_str::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| serde_json::from_value(v.get("proof")?.clone()).ok())
                        .unwrap_or_default();
                    klero_core::merkle::verify_consistency(
                        held.size, &held.root, cp.size, &cp.root, &proof,
                    )
                }
            };
            if !consistent {
                let split = self.find_split(cp.size.min(held.size), cp.size);
                if self.tiles.is_some() && split == Some(cp.size.min(held.size)) {
                    // Every entry the server serves is the one held: its tiles lie, not its
                    // entries.
                    let report = format!(
                        "the hash tiles served for the checkpoint of {} entries (root {}) do not hold the hashes of the entries this monitor verified, though every entry served up to {} is the one held (SPEC §5.4)",
                        fmt_index(cp.size),
                        cp.root,
                        fmt_index(cp.size.min(held.size))
                    );
                    return Err(Ok(self.alarm(AlarmKind::BadTile, report, Some(&note))));
                }
                let report = format!(
                    "FORK: the server's checkpoint of {} entries (root {}) does not extend the one it signed before, of {} entries (root {}); {}",
                    fmt_index(cp.size),
                    cp.root,
                    fmt_index(held.size),
                    held.root,
                    match split {
                        Some(i) => format!(
                            "the two histories split at entry {}: the entry the server serves there is not the one this monitor verified",
                            fmt_index(i)
                        ),
                        None =>
                            "the server's entries could not be compared with the held copy".into(),
                    }
                );
                return Err(Ok(self.alarm(AlarmKind::Fork, report, Some(&note))));
            }
        }
        if cp.size > from {
            let mut completed = Vec::new();
            if self.tiles.is_some() {
                completed = self.fetch_tiles(from, cp.size, say)?;
            } else {
                self.fetch(from, cp.size, say)?;
            }
            if self.verifier.log().root() != cp.root {
                let report = format!(
                    "the server's checkpoint gives root {} for {} entries, but the entries it served give {} (SPEC §5)",
                    cp.root,
                    fmt_index(cp.size),
                    self.verifier.log().root()
                );
                return Err(Ok(self.alarm(AlarmKind::RootMismatch, report, Some(&note))));
            }
            if self.tiles.is_some() {
                self.check_upper_tiles(from, cp.size, completed, &note)?;
            }
        }
        // The key the log itself publishes (§5.1) must be the pinned one.
        let state = self.verifier.log().state();
        if let Some(published) = state.log_key()
            && published != self.key
        {
            let report = format!(
                "the log publishes the log key {published}, but this monitor follows {} (SPEC §5.1)",
                self.key
            );
            return Err(Ok(self.alarm(AlarmKind::BadSignature, report, Some(&note))));
        }
        // Cosignatures of the witnesses in force (§5.3): a forged one is an alarm; too few is
        // said in the progress (a witness may be offline), not an alarm.
        let (cosigned, quorum) = match state.witnesses() {
            None => (vec![], 0),
            Some((witnesses, quorum)) => {
                match checkpoint::verify_cosigned(&note, &self.key, witnesses, 0) {
                    Ok((_, c)) => (c, quorum),
                    Err(m) => {
                        let report = format!(
                            "the server's checkpoint carries a bad cosignature (SPEC §5.3): {m}"
                        );
                        return Err(Ok(self.alarm(AlarmKind::BadSignature, report, Some(&note))));
                    }
                }
            }
        };
        write_atomic(&self.dir.join("checkpoint.note"), note.as_bytes()).map_err(Err)?;
        let root = cp.root;
        let to = cp.size;
        self.held = Some((note, cp));
        Ok(Progress {
            from,
            to,
            root,
            cosigned,
            quorum,
        })
    }

    /// Fetches, verifies and saves the entries `from..to`.
    fn fetch(
        &mut self,
        from: u64,
        to: u64,
        say: &mut dyn FnMut(String),
    ) -> Result<(), Result<Alarm, Trouble>> {
        let path = self.dir.join("entries.jsonl");
        let mut out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Err(format!("cannot write {}: {e}", path.display())))?;
        let mut start = from;
        while start < to {
            let end = (start + klero_portal::MAX_PAGE).min(to);
            let url = format!("{}/api/v1/log/entries?start={start}&end={end}", self.base);
            let (status, body) = get(&self.agent, &url).map_err(Err)?;
            if status != 200 {
                return Err(Err(format!(
                    "the server could not serve the entries from {} ({status}): {}",
                    fmt_index(start),
                    problem_detail(&body)
                )));
            }
            let mut got = 0;
            for line in body.split_inclusive('\n') {
                let entry = LogEntry::from_export_line(line.as_bytes());
                let ok = match &entry {
                    Ok(e) if e.index == start + got => Replay::push(&mut self.verifier, e),
                    Ok(e) => {
                        Replay::fail(
                            &mut self.verifier,
                            "§8",
                            format!(
                                "the server sent entry {} where entry {} belongs",
                                fmt_index(e.index),
                                fmt_index(start + got)
                            ),
                        );
                        false
                    }
                    Err(m) => {
                        Replay::fail(
                            &mut self.verifier,
                            "§8",
                            format!("the server sent something that is not a log entry: {m}"),
                        );
                        false
                    }
                };
                if !ok {
                    let f = self
                        .verifier
                        .failure()
                        .map(|f| f.to_string())
                        .unwrap_or_default();
                    let report = format!("an entry the server serves does not verify: {f}");
                    return Err(Ok(self.alarm(AlarmKind::BadEntry, report, None)));
                }
                out.write_all(line.as_bytes())
                    .map_err(|e| Err(format!("cannot write {}: {e}", path.display())))?;
                got += 1;
            }
            if got == 0 {
                return Err(Err(format!(
                    "the server signed {} entries but served none from {}",
                    fmt_index(to),
                    fmt_index(start)
                )));
            }
            start += got;
            say(format!(
                "verified {} of {} entries",
                fmt_index(start),
                fmt_index(to)
            ));
        }
        out.sync_all()
            .map_err(|e| Err(format!("cannot write {}: {e}", path.display())))
    }

    /// The first index below `limit` where the server's entries differ from the held copy, read
    /// page by page (or bundle by bundle, from the tiles of a log of `size` entries) from both.
    fn find_split(&self, limit: u64, size: u64) -> Option<u64> {
        let f = File::open(self.dir.join("entries.jsonl")).ok()?;
        let mut held = BufReader::new(f).lines();
        let mut start = 0;
        while start < limit {
            let served: Vec<Vec<u8>> = match &self.tiles {
                Some(src) => {
                    let b = bundle_at(start / TILE_WIDTH, size);
                    let bytes = src.get(&self.agent, &b.path()).ok()?;
                    let items = tiles::decode_bundle(&bytes, b.width).ok()?;
                    let skip = (start - b.index * TILE_WIDTH) as usize;
                    items[skip..].iter().map(|i| i.to_vec()).collect()
                }
                None => {
                    let end = (start + klero_portal::MAX_PAGE).min(limit);
                    let url = format!("{}/api/v1/log/entries?start={start}&end={end}", self.base);
                    let (status, body) = get(&self.agent, &url).ok()?;
                    if status != 200 {
                        return None;
                    }
                    body.lines().map(|l| l.as_bytes().to_vec()).collect()
                }
            };
            if served.is_empty() {
                return None;
            }
            for line in served {
                if start >= limit {
                    break;
                }
                let mine = held.next()?.ok()?;
                if mine.as_bytes() != line {
                    return Some(start);
                }
                start += 1;
            }
        }
        // Every entry up to the smaller size agrees: the histories split right after it.
        Some(limit)
    }

    /// Whether the tiles of the tree of `size` entries start, at every level, with the hashes of
    /// the held tree's partial tiles (the tiles' form of a consistency proof). A tile that cannot
    /// be fetched is trouble; one that is not a tile is an alarm.
    fn tiles_consistent(&self, size: u64, note: &str) -> Result<bool, Result<Alarm, Trouble>> {
        let src = self.tiles.as_ref().expect("following tiles");
        for (t, hs) in self.frontier.consistency_tiles(size) {
            let bytes = src.get(&self.agent, &t.path()).map_err(Err)?;
            let got = match tiles::decode_hashes(&bytes, t.width) {
                Ok(g) => g,
                Err(m) => {
                    let report =
                        format!("the tile {} is not a hash tile: {m} (SPEC §5.4)", t.path());
                    return Err(Ok(self.alarm(AlarmKind::BadTile, report, Some(note))));
                }
            };
            if got[..hs.len()] != *hs {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Fetches the entry bundles holding entries `from..to` with their level-0 tiles, checks each
    /// entry's leaf hash against its tile, verifies and saves the entries; returns the tiles of
    /// level 1 or more that they completed.
    fn fetch_tiles(
        &mut self,
        from: u64,
        to: u64,
        say: &mut dyn FnMut(String),
    ) -> Result<Completed, Result<Alarm, Trouble>> {
        let src = self.tiles.clone().expect("following tiles");
        let path = self.dir.join("entries.jsonl");
        let mut out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Err(format!("cannot write {}: {e}", path.display())))?;
        let mut completed = Vec::new();
        let mut line = Vec::with_capacity(4096);
        let mut last_said = from;
        for n in from / TILE_WIDTH..to.div_ceil(TILE_WIDTH) {
            let b = bundle_at(n, to);
            let level0 = Tile {
                level: Some(0),
                ..b
            };
            let bytes = src.get(&self.agent, &b.path()).map_err(Err)?;
            let tile = src.get(&self.agent, &level0.path()).map_err(Err)?;
            let hs = match tiles::decode_hashes(&tile, b.width) {
                Ok(h) => h,
                Err(m) => {
                    let report = format!(
                        "the tile {} is not a hash tile: {m} (SPEC §5.4)",
                        level0.path()
                    );
                    return Err(Ok(self.alarm(AlarmKind::BadTile, report, None)));
                }
            };
            let items = match tiles::decode_bundle(&bytes, b.width) {
                Ok(i) => i,
                Err(m) => {
                    let report = format!(
                        "the entry bundle {} is not framed as SPEC §5.4 says: {m}",
                        b.path()
                    );
                    return Err(Ok(self.alarm(AlarmKind::BadEntry, report, None)));
                }
            };
            let first = b.index * TILE_WIDTH;
            // The held entries of this bundle: the tile must hold the leaves verified before.
            let held = (from.max(first) - first) as usize;
            if hs[..held] != *self.frontier.partial(0) {
                let report = format!(
                    "the tile {} does not hold the leaf hashes of the entries this monitor verified before (SPEC §5.4)",
                    level0.path()
                );
                return Err(Ok(self.alarm(AlarmKind::BadTile, report, None)));
            }
            for (k, item) in items.iter().enumerate().skip(held) {
                let index = first + k as u64;
                line.clear();
                line.extend_from_slice(item);
                line.push(b'\n');
                let entry = match LogEntry::from_export_line(&line) {
                    Ok(e) if e.index == index => e,
                    Ok(e) => {
                        let report = format!(
                            "an entry the server serves does not verify: entry {} (SPEC §8): the bundle {} holds entry {} where entry {} belongs",
                            fmt_index(index),
                            b.path(),
                            fmt_index(e.index),
                            fmt_index(index)
                        );
                        return Err(Ok(self.alarm(AlarmKind::BadEntry, report, None)));
                    }
                    Err(m) => {
                        let report = format!(
                            "an entry the server serves does not verify: entry {} (SPEC §8): item {k} of {} is not a log entry: {m}",
                            fmt_index(index),
                            b.path()
                        );
                        return Err(Ok(self.alarm(AlarmKind::BadEntry, report, None)));
                    }
                };
                // The tile is checked against the hash the entry states before the entry is
                // replayed (which checks that hash), as `klero verify --tiles` does.
                let leaf = leaf_hash(&entry.hash.0);
                if leaf != hs[k] {
                    let report = format!(
                        "entry {}'s leaf hash is {leaf}, but the tile {} holds {} (SPEC §5.4)",
                        fmt_index(index),
                        level0.path(),
                        hs[k]
                    );
                    return Err(Ok(self.alarm(AlarmKind::BadTile, report, None)));
                }
                let mut follow = Follow {
                    verifier: &mut self.verifier,
                    frontier: Some(&mut self.frontier),
                    completed: Vec::new(),
                };
                if !follow.push(&entry) {
                    let f = self
                        .verifier
                        .failure()
                        .map(|f| f.to_string())
                        .unwrap_or_default();
                    let report = format!("an entry the server serves does not verify: {f}");
                    return Err(Ok(self.alarm(AlarmKind::BadEntry, report, None)));
                }
                completed.extend(follow.completed);
                out.write_all(&line)
                    .map_err(|e| Err(format!("cannot write {}: {e}", path.display())))?;
            }
            let at = (first + u64::from(b.width)).min(to);
            if at - last_said >= klero_portal::MAX_PAGE || at == to {
                say(format!(
                    "verified {} of {} entries",
                    fmt_index(at),
                    fmt_index(to)
                ));
                last_said = at;
            }
        }
        out.sync_all()
            .map_err(|e| Err(format!("cannot write {}: {e}", path.display())))?;
        Ok(completed)
    }

    /// After the entries `from..to` gave the signed root: every tile of level 1 or more that they
    /// completed, and every partial tile of the tree of `to` entries that changed since `from`,
    /// must hold the hashes the monitor computed.
    fn check_upper_tiles(
        &self,
        from: u64,
        to: u64,
        completed: Completed,
        note: &str,
    ) -> Result<(), Result<Alarm, Trouble>> {
        let src = self.tiles.as_ref().expect("following tiles");
        let mut expect: Vec<(Tile, Vec<Digest32>)> = completed
            .into_iter()
            .map(|(level, index, hs)| {
                (
                    Tile {
                        level: Some(level),
                        index,
                        width: TILE_WIDTH as u16,
                    },
                    hs,
                )
            })
            .collect();
        for level in 1..=63u8 {
            let n = to >> (8 * u32::from(level));
            if n == 0 {
                break;
            }
            let hs = self.frontier.partial(level);
            if !hs.is_empty() && n != from >> (8 * u32::from(level)) {
                expect.push((tiles::tile_for(to, level, n - 1), hs.to_vec()));
            }
        }
        for (t, hs) in expect {
            let bytes = src.get(&self.agent, &t.path()).map_err(Err)?;
            if tiles::decode_hashes(&bytes, t.width).ok() != Some(hs) {
                let report = format!(
                    "the tile {} does not hold the hashes of the entries, whose root is the signed one {} (SPEC §5.4)",
                    t.path(),
                    self.verifier.log().root()
                );
                return Err(Ok(self.alarm(AlarmKind::BadTile, report, Some(note))));
            }
        }
        Ok(())
    }

    /// Records an alarm's evidence in `evidence/` and returns it.
    fn alarm(&self, kind: AlarmKind, report: String, new_note: Option<&str>) -> Alarm {
        let evidence = self.dir.join("evidence");
        let _ = fs::create_dir_all(&evidence);
        if let Some((held, _)) = &self.held {
            let _ = write_atomic(&evidence.join("held-checkpoint.note"), held.as_bytes());
        }
        if let Some(n) = new_note {
            let _ = write_atomic(&evidence.join("served-checkpoint.note"), n.as_bytes());
        }
        let text = format!(
            "{report}\nserver: {}\nlog key: {}\nheld checkpoint: {}\nserved checkpoint: {}\n",
            self.base,
            self.key,
            if self.held.is_some() {
                "held-checkpoint.note"
            } else {
                "none"
            },
            if new_note.is_some() {
                "served-checkpoint.note"
            } else {
                "none"
            },
        );
        let _ = write_atomic(&evidence.join("report.txt"), text.as_bytes());
        Alarm {
            kind,
            report,
            evidence,
        }
    }
}

/// Entry bundle `n` of a log of `size` entries: full, or the partial one of that size.
fn bundle_at(n: u64, size: u64) -> Tile {
    let width = (size - n * TILE_WIDTH).min(TILE_WIDTH) as u16;
    Tile {
        level: None,
        index: n,
        width,
    }
}

/// The key a log publishes in its `log_key_published` entry, read from its first entry bundle
/// (SPEC §5.1); the entries before it are replayed, so a bundle that does not verify is refused.
fn published_key(src: &Source, agent: &ureq::Agent) -> Result<String, String> {
    let note = String::from_utf8(src.get(agent, "checkpoint")?)
        .map_err(|_| "the checkpoint is not UTF-8".to_owned())?;
    let (size, _) = crate::tiles::unverified(&note)?;
    if size == 0 {
        return Err("the log holds no entry yet: give its key with --log-key".into());
    }
    let b = bundle_at(0, size);
    let bytes = src.get(agent, &b.path())?;
    let items = tiles::decode_bundle(&bytes, b.width).map_err(|m| format!("{}: {m}", b.path()))?;
    let mut v = Verifier::new();
    for item in items {
        let mut line = item.to_vec();
        line.push(b'\n');
        let e = LogEntry::from_export_line(&line)
            .map_err(|m| format!("{} holds something that is not a log entry: {m}", b.path()))?;
        v.push(&e)
            .map_err(|f| format!("the first entries do not verify: {f}"))?;
        if let Some(k) = v.log().state().log_key() {
            return Ok(k.to_owned());
        }
    }
    Err(format!(
        "the log's first {} entries publish no log key: give it with --log-key",
        fmt_index(u64::from(b.width))
    ))
}

/// Keeps the first `n` lines of the file at `path` (rewriting it only when it has more); returns
/// how many it has now.
fn truncate_lines(path: &Path, n: u64) -> Result<u64, String> {
    let f = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut r = BufReader::with_capacity(1 << 20, f);
    let mut count = 0u64;
    let mut bytes = 0u64;
    let mut line = Vec::new();
    while count < n {
        line.clear();
        let got = r
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if got == 0 || line.last() != Some(&b'\n') {
            break;
        }
        count += 1;
        bytes += got as u64;
    }
    let len = fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len > bytes {
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        f.set_len(bytes)
            .and_then(|_| f.sync_all())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(count)
}

/// `klero monitor`: opens the state directory, then runs rounds every `interval` seconds (or one
/// with `once`), printing progress on standard error. An unreachable server is reported and tried
/// again (with `once`, it is an error). Returns exit code 1 with the report printed on an alarm.
pub fn run(
    feed: &Feed,
    dir: &Path,
    pinned: Option<&str>,
    interval: u64,
    once: bool,
) -> Result<std::process::ExitCode, String> {
    let mut say = |m: String| eprintln!("{m}");
    let mut m = Monitor::open_feed(feed, dir, pinned, &mut say)?;
    let (base, what) = match feed {
        Feed::Api(b) => (b, "the API of"),
        Feed::Tiles(b) => (b, "the tiles of"),
    };
    eprintln!(
        "following {what} {base} with log key {}; {} entries held",
        m.key(),
        fmt_index(m.size())
    );
    loop {
        match m.round(&mut say) {
            Ok(p) => {
                if p.to > p.from || once {
                    let witnesses = if p.quorum == 0 {
                        "no witnesses configured: signed by the log alone".to_owned()
                    } else if p.cosigned.is_empty() && matches!(feed, Feed::Tiles(_)) {
                        format!(
                            "the tiles' checkpoint carries no cosignature of the quorum of {} witnesses (a server's /checkpoint is signed by the log alone, SPEC §5.4); follow --url to check the witnesses",
                            p.quorum
                        )
                    } else {
                        let names: Vec<&str> = p.cosigned.iter().map(|(n, _)| n.as_str()).collect();
                        format!(
                            "{} of a quorum of {} witnesses cosigned{}{}",
                            p.cosigned.len(),
                            p.quorum,
                            if names.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", names.join(", "))
                            },
                            if p.witnessed() {
                                ""
                            } else {
                                "; NOT witnessed yet (a witness may be offline)"
                            }
                        )
                    };
                    println!(
                        "OK: {} entries, root {} (+{} verified); {witnesses}",
                        fmt_index(p.to),
                        p.root,
                        fmt_index(p.to - p.from)
                    );
                }
            }
            Err(Ok(alarm)) => {
                println!("ALARM: {}", alarm.report);
                println!("evidence kept in {}", alarm.evidence.display());
                return Ok(std::process::ExitCode::from(1));
            }
            Err(Err(trouble)) if once => return Err(trouble),
            Err(Err(trouble)) => eprintln!("will try again: {trouble}"),
        }
        if once {
            return Ok(std::process::ExitCode::SUCCESS);
        }
        std::thread::sleep(std::time::Duration::from_secs(interval.max(1)));
    }
}
