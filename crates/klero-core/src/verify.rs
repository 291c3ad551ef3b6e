//! The log as a whole: appending (for the writer) and replaying (for the verifier) through the same
//! checks (SPEC §9).

use crate::beacon::{BeaconReveal, BeaconSource};
use crate::day::Millis;
use crate::event::{Actor, Event, LogEntry, entry_bytes_into};
use crate::hash::entry_hash;
use crate::ids::{CaseId, Digest32};
use crate::merkle::CompactRange;
use crate::state::{RejectKind, Rejection, State, fmt_index};

/// The first entry at which a log fails to verify, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The position (0-based) of the first entry that fails.
    pub index: u64,
    /// The section of docs/SPEC.md whose requirement the entry breaks, e.g. `§7.8`.
    pub section: &'static str,
    /// What is wrong, in words a court official understands.
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "entry {} (SPEC {}): {}",
            fmt_index(self.index),
            self.section,
            self.message
        )
    }
}

/// The SPEC section an event's rejection breaks: the rule's own section when it has one, else the
/// section of the event's rules.
pub fn section_of(event: &Event, r: &Rejection) -> &'static str {
    r.section.unwrap_or(match event {
        Event::CredentialIssued { .. }
        | Event::CredentialRevoked { .. }
        | Event::EnrollmentOpened { .. } => "§7.9",
        Event::LogKeyPublished { .. } => "§5.1",
        Event::WitnessesConfigured { .. } | Event::CheckpointWitnessed { .. } => "§5.3",
        Event::Draw(_) => "§7.8",
        _ => "§7.1",
    })
}

impl std::error::Error for Failure {}

/// A log held in memory as its state, its head hash and its Merkle root. Both the writer and the
/// verifier use it: the writer through [`Log::append`] and [`Log::draw`], the verifier through
/// [`Log::push`].
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Log {
    state: State,
    range: CompactRange,
    head: Digest32,
    last_at: Millis,
    /// Reused for every entry's canonical bytes.
    #[serde(skip)]
    scratch: Vec<u8>,
    /// The Merkle root at every size from `roots_from` on, kept while witnesses are in force: a
    /// `checkpoint_witnessed` entry names a size after their configuration, and its cosignatures
    /// are checked against the root at that size (SPEC §5.3).
    roots: Vec<Digest32>,
    roots_from: u64,
    /// `w + 1` for the `witnesses_configured` entry `w` the roots are kept for (0 in a log
    /// serialized before this field: then `roots_from`).
    #[serde(default)]
    roots_for: u64,
    /// Keep only about this many of the latest roots (`None`, the default: all, as a verifier
    /// must). See [`Log::keep_recent_roots`].
    #[serde(default)]
    roots_keep: Option<u64>,
}

impl Log {
    /// An empty log.
    pub fn new() -> Log {
        Log::default()
    }

    /// Sizes the state's tables for a log of about `entries` entries in all: [`State::reserve`].
    pub fn reserve(&mut self, entries: u64) {
        self.state.reserve(entries);
    }

    /// The state after the entries so far.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The digests of the full filters of evicted cases that a log read back from its serialized
    /// form names without their words (see [`crate::resident::Seen`]).
    pub fn filter_stubs(&self) -> Vec<Digest32> {
        self.state.seen().stubs()
    }

    /// Gives the filters of evicted cases named `digest` their words (see
    /// [`crate::resident::Seen::attach`]).
    pub fn attach_filter(&mut self, digest: &Digest32, bytes: &[u8]) -> Result<usize, String> {
        self.state.seen_mut().attach(digest, bytes)
    }

    /// Puts evicted cases back before an entry that names them (see [`crate::resident`] and
    /// [`State::wants`]).
    pub fn restore(
        &mut self,
        cases: Vec<crate::resident::Archived>,
        latest: Option<(Digest32, usize)>,
    ) {
        self.state.restore(cases, latest);
    }

    /// Removes archived closed cases from memory: [`State::evict_closed`].
    pub fn evict_closed(&mut self) -> usize {
        self.state.evict_closed()
    }

    /// Evicts from this log and `twin` (a copy at the same position), sharing the filter of evicted
    /// cases between them: [`State::evict_closed_twins`].
    pub fn evict_closed_twins(&mut self, twin: &mut Log) -> usize {
        self.state.evict_closed_twins(&mut twin.state)
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.range.size()
    }

    /// Hash of the last entry (zeros when empty).
    pub fn head(&self) -> Digest32 {
        self.head
    }

    /// The RFC 9162 Merkle root over the entry hashes.
    pub fn root(&self) -> Digest32 {
        self.range.root()
    }

    /// The Merkle tree hash of the last 256 entries, when the log's size is a positive multiple of
    /// 256 ([`CompactRange::last_tile`]).
    pub fn last_tile(&self) -> Option<Digest32> {
        self.range.last_tile()
    }

    /// Time of the last entry.
    pub fn last_at(&self) -> Millis {
        self.last_at
    }

    /// The Merkle root at `size`, if the log kept it: every size after the configuration of the
    /// witnesses in force, up to the current one.
    pub fn root_at(&self, size: u64) -> Option<Digest32> {
        if size == self.size() {
            return Some(self.root());
        }
        let k = usize::try_from(size.checked_sub(self.roots_from)?).ok()?;
        self.roots.get(k).copied()
    }

    fn checkpoint_root(&self, event: &Event) -> Option<Digest32> {
        match event {
            Event::CheckpointWitnessed { size, .. } => self.root_at(*size),
            _ => None,
        }
    }

    /// Verifies one recorded entry against everything before it and applies it.
    pub fn push(&mut self, e: &LogEntry) -> Result<(), Failure> {
        self.push_with_leaf(e, None)
    }

    /// [`Log::push`], given the entry's Merkle leaf hash if the caller computed it already
    /// ([`crate::merkle::leaf_hash`] of `e.hash`, which a reader of tiles compares with the
    /// tile's): the entry is then hashed once instead of twice.
    pub fn push_with_leaf(&mut self, e: &LogEntry, leaf: Option<Digest32>) -> Result<(), Failure> {
        debug_assert!(leaf.is_none_or(|l| l == crate::merkle::leaf_hash(&e.hash.0)));
        let size = self.size();
        let fail = |section: &'static str, message: String| {
            Err(Failure {
                index: size,
                section,
                message,
            })
        };
        if e.index != size {
            return fail(
                "§9",
                format!(
                    "the entry in position {} says it is entry {}: an entry was deleted, inserted or moved",
                    fmt_index(size),
                    fmt_index(e.index)
                ),
            );
        }
        if e.prev != self.head {
            return fail("§4.1", "its link to the previous entry is broken: the entry before it was changed, removed or replaced".into());
        }
        if self.hash_of(e.index, e.at, &e.actor, &e.event, &e.prev) != e.hash {
            return fail("§4.1", "its contents do not match its recorded hash: the entry was altered after it was written".into());
        }
        if size > 0 && e.at < self.last_at {
            return fail(
                "§7.1",
                "its time is earlier than the previous entry's: entries must be in time order"
                    .into(),
            );
        }
        let root = self.checkpoint_root(&e.event);
        self.state
            .apply_entry(e.index, e.at, &e.hash, &e.actor, &e.event, root.as_ref())
            .or_else(|r| fail(section_of(&e.event, &r), r.message))?;
        self.advance(e.hash, e.at, leaf);
        Ok(())
    }

    fn hash_of(
        &mut self,
        index: u64,
        at: Millis,
        actor: &Actor,
        event: &Event,
        prev: &Digest32,
    ) -> Digest32 {
        self.scratch = entry_bytes_into(std::mem::take(&mut self.scratch), index, at, actor, event);
        entry_hash(prev, &self.scratch)
    }

    fn advance(&mut self, hash: Digest32, at: Millis, leaf: Option<Digest32>) {
        match leaf {
            Some(l) => self.range.push_leaf(l),
            None => self.range.push(&hash.0),
        }
        self.head = hash;
        self.last_at = at;
        if let Some(w) = self.state.witnesses_index() {
            if self.roots_for == 0 {
                self.roots_for = self.roots_from;
            }
            if self.roots_for != w + 1 {
                self.roots.clear();
                self.roots_from = w + 1;
                self.roots_for = w + 1;
            }
            self.roots.push(self.range.root());
            if let Some(keep) = self.roots_keep
                && self.roots.len() as u64 > 2 * keep
            {
                let drop = self.roots.len() - keep as usize;
                self.roots.drain(..drop);
                self.roots_from += drop as u64;
            }
        }
    }

    /// Keeps only the Merkle roots of about the latest `keep` sizes (at least `keep`, at most twice
    /// as many) instead of every size since the witnesses' configuration, so that memory does not
    /// grow with the log. For a writer, whose own `checkpoint_witnessed` entries name a recent
    /// size: such an entry naming an older size is then refused ("the log's root at size N is not
    /// known"). A verifier keeps every root (SPEC §5.3).
    pub fn keep_recent_roots(&mut self, keep: u64) {
        self.roots_keep = Some(keep.max(1));
    }

    /// Appends a new event at time `at` (never earlier than the last entry: a clock that went back is
    /// held at the last time). On refusal nothing changes.
    pub fn append(
        &mut self,
        at: Millis,
        actor: Actor,
        event: Event,
    ) -> Result<LogEntry, Rejection> {
        let at = at.max(self.last_at);
        let index = self.size();
        let prev = self.head;
        let hash = self.hash_of(index, at, &actor, &event, &prev);
        let root = self.checkpoint_root(&event);
        self.state
            .apply_entry(index, at, &hash, &actor, &event, root.as_ref())?;
        let entry = LogEntry {
            index,
            at,
            actor,
            event,
            prev: self.head,
            hash,
        };
        self.advance(hash, at, None);
        Ok(entry)
    }

    /// Appends the draw entry for `case`'s pending draw, taking a beacon value from `beacon` if the
    /// draw is random.
    pub fn draw(
        &mut self,
        at: Millis,
        case: &CaseId,
        beacon: &mut dyn BeaconSource,
    ) -> Result<LogEntry, Rejection> {
        let reveal = match self.state.beacon_needed(case) {
            None => None,
            Some((anchor, round)) => match beacon.reveal(&anchor, round) {
                Some(r) => Some(r),
                None => {
                    return Err(Rejection {
                        kind: RejectKind::DrawMismatch,
                        message: format!(
                            "the beacon cannot reveal round {round} of the current chain: anchor a new chain"
                        ),
                        section: Some("§6.1"),
                    });
                }
            },
        };
        let d = self.state.build_draw(case, reveal)?;
        self.append(at, Actor::system(), Event::Draw(d))
    }

    /// Appends the draw entry for `case`'s pending draw with the given beacon value (a drand
    /// round, SPEC §6.3).
    pub fn draw_with(
        &mut self,
        at: Millis,
        case: &CaseId,
        reveal: BeaconReveal,
    ) -> Result<LogEntry, Rejection> {
        let d = self.state.build_draw(case, Some(reveal))?;
        self.append(at, Actor::system(), Event::Draw(d))
    }
}

/// The outcome of verifying a whole log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Entries that verified (all of them when `failure` is `None`).
    pub verified: u64,
    /// Draw entries among them.
    pub draws: u64,
    /// Cases filed among them.
    pub cases: u64,
    /// The Merkle root of the verified entries.
    pub root: Digest32,
    /// The head hash of the verified entries.
    pub head: Digest32,
    /// The drand chain in force at the end (SPEC §6.3), if any: an observer checks that it is a
    /// public chain they trust (quicknet: [`crate::DrandChain::quicknet`]).
    pub drand: Option<crate::DrandChain>,
    /// The first failure, if any.
    pub failure: Option<Failure>,
}

impl Report {
    /// True when every entry verified.
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }
}

/// Verifies a log from its first entry: every hash link, the Merkle root, every beacon value, every
/// eligible pool, weight and outcome. Stops at the first failure.
pub fn verify<'a>(entries: impl IntoIterator<Item = &'a LogEntry>) -> Report {
    let mut v = Verifier::new();
    for e in entries {
        if v.push(e).is_err() {
            break;
        }
    }
    v.report()
}

/// A verifier fed one entry at a time (for streaming a file or a server's pages).
#[derive(Clone, Debug, Default)]
pub struct Verifier {
    log: Log,
    failure: Option<Failure>,
}

impl Verifier {
    /// A verifier at the start of a log.
    pub fn new() -> Verifier {
        Verifier::default()
    }

    /// Sizes the verifier's tables for a log of about `entries` entries in all, so that they do not
    /// regrow as it is replayed: a hint that changes capacity only ([`State::reserve`]).
    pub fn reserve(&mut self, entries: u64) {
        self.log.reserve(entries);
    }

    /// About how many entries an export of `len` bytes holds whose start is `head`: `len` over the
    /// mean length of the whole lines in `head` (a reader's first buffer), or `None` if `head`
    /// holds no whole line. Only a hint for [`Verifier::reserve`]: a log's first lines (the
    /// genesis, the judges) and a national log's later mix (short closings among the filings and
    /// draws) make it a few percent off either way.
    pub fn entries_in_export(len: u64, head: &[u8]) -> Option<u64> {
        let lines = head.iter().filter(|&&b| b == b'\n').count() as u64;
        (lines > 0).then(|| len / (head.len() as u64).div_ceil(lines).max(1))
    }

    /// Checks the next entry. After a failure every further call returns that failure.
    pub fn push(&mut self, e: &LogEntry) -> Result<(), Failure> {
        self.push_with_leaf(e, None)
    }

    /// [`Verifier::push`], given the entry's Merkle leaf hash if already computed (see
    /// [`Log::push_with_leaf`]).
    pub fn push_with_leaf(&mut self, e: &LogEntry, leaf: Option<Digest32>) -> Result<(), Failure> {
        if let Some(f) = &self.failure {
            return Err(f.clone());
        }
        self.log
            .push_with_leaf(e, leaf)
            .inspect_err(|f| self.failure = Some(f.clone()))
    }

    /// Records a failure found outside the entries themselves: an unreadable line (SPEC §8), say.
    pub fn fail(&mut self, section: &'static str, message: String) {
        if self.failure.is_none() {
            self.failure = Some(Failure {
                index: self.log.size(),
                section,
                message,
            });
        }
    }

    /// The first failure, if any.
    pub fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    /// The log as verified so far.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// The report so far.
    pub fn report(&self) -> Report {
        let s = self.log.state();
        Report {
            verified: self.log.size(),
            draws: s.draw_count(),
            cases: s.case_count() as u64,
            root: self.log.root(),
            head: self.log.head(),
            drand: s.drand().cloned(),
            failure: self.failure.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Verifier;

    #[test]
    fn an_export_is_estimated_from_its_length_and_its_first_lines() {
        // Two whole lines in 12 bytes: 6 bytes a line, so 1,000 bytes hold about 166 entries.
        assert_eq!(
            Verifier::entries_in_export(1000, b"abcd\nefgh\nij"),
            Some(166)
        );
        assert_eq!(Verifier::entries_in_export(1000, b"a\n"), Some(500));
        // No whole line: no estimate.
        assert_eq!(Verifier::entries_in_export(1000, b"abcd"), None);
        assert_eq!(Verifier::entries_in_export(1000, b""), None);
    }
}
