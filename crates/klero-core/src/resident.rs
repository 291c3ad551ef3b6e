//! Which cases a [`crate::State`] keeps in memory (issue 10, bounded memory).
//!
//! A state replayed from the log knows every case ever filed. A long-running server need not hold
//! them all: a closed case never changes again, and the rules read it only when a later filing
//! names it (its own number must be new; a duplicate binds to the latest filing of the matter; a
//! related case shares its judges; an earlier instance's judges are excluded, SPEC §7.1–7.7). So
//! the store may *evict* closed cases once it has archived them, and *restore* them before it
//! applies an event that names them: [`crate::State::wants`] says which cases an event needs,
//! [`crate::State::restore`] puts them back. None of this changes what any rule decides — a
//! state that evicts and restores gives the same entries, draws and refusals as one that never
//! evicts (the core's tests replay the conformance log both ways) — only what is in memory.
//!
//! [`Cases`] is the case table with holes where evicted cases were; [`Seen`] remembers which
//! numbers and duplicate keys may belong to an evicted case, so that an event naming something
//! never filed does not send the store to its archive: numbers exactly (the highest evicted one
//! of each prefix: the number a new filing takes is above it), keys in a few bits per case.

use std::collections::BTreeMap;
use std::ops::{Index, IndexMut};
use std::sync::Arc;

use crate::hash::sha256;
use crate::ids::{CaseId, Digest32};
use crate::state::CaseState;

/// The case table: case ordinal (order of filing, from 0) to case, with evicted cases absent.
///
/// Until the first eviction the table is a vector indexed by ordinal: a verifier, which never
/// evicts, finds any case in one step however many were filed. At the first eviction it becomes
/// a B-tree of the cases in memory, so that a server's table does not grow with the log. In the
/// tree each case is behind an [`Arc`] of its own: a case is a few hundred bytes, which the tree
/// would otherwise move about as it splits and merges its nodes and shifts their values; and a
/// copy of the table (the store's state snapshot, taken on the writer's path while filings wait)
/// shares the cases instead of copying each one, a case being copied only when it changes while
/// the snapshot still holds it. The vector holds its cases in place, in blocks of [`BLOCK`] cases
/// rather than one allocation a case (the first eviction moves them into their own allocations
/// once), and grows a block at a time: a case never moves once placed. (A single vector doubles
/// by copying every case into a new allocation, the old one still held, unless the allocator can
/// move its pages, as glibc's `mremap` does and jemalloc does not.)
///
/// Both forms serialize alike: `next` and `map`, the cases in memory by ordinal, in order.
#[derive(Clone, Debug)]
pub struct Cases {
    /// The ordinal the next filing gets: the number of cases ever filed.
    next: usize,
    table: Table,
}

/// Cases a block of the vector form holds (a block is allocated whole, its pages touched only as
/// cases fill it). Smaller in the unit tests, so that they cross blocks with few cases.
const BLOCK: usize = if cfg!(test) { 1 << 6 } else { 1 << 14 };

#[derive(Clone, Debug)]
enum Table {
    /// Never evicted from: the case with ordinal `i` is at `i % BLOCK` of block `i / BLOCK`
    /// (every one below `next`); each block but the last is full.
    Dense(Vec<Vec<CaseState>>),
    /// The cases in memory, after an eviction or as read back.
    Sparse(BTreeMap<usize, Arc<CaseState>>),
}

impl Default for Cases {
    fn default() -> Cases {
        Cases {
            next: 0,
            table: Table::Dense(Vec::new()),
        }
    }
}

/// The serialized form of [`Cases`], as the derived form of its earlier B-tree-only self.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename = "Cases")]
struct CasesForm<M> {
    next: usize,
    map: M,
}

/// The cases in memory as a map from ordinal to case, in order (how a B-tree serializes).
struct InOrder<'a>(&'a Cases);

impl serde::Serialize for InOrder<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        // The length first, as a B-tree gives it (in CBOR, a map of definite length), however
        // the table holds its cases: the blocks' iterator does not know its length exactly.
        let mut m = s.serialize_map(Some(self.0.resident()))?;
        for (ci, c) in self.0.ordinals() {
            m.serialize_entry(&ci, c)?;
        }
        m.end()
    }
}

impl serde::Serialize for Cases {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        CasesForm {
            next: self.next,
            map: InOrder(self),
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Cases {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Cases, D::Error> {
        let f = CasesForm::<BTreeMap<usize, Arc<CaseState>>>::deserialize(d)?;
        Ok(Cases {
            next: f.next,
            table: Table::Sparse(f.map),
        })
    }
}

impl Cases {
    /// Number of cases ever filed (resident or not).
    pub fn len(&self) -> usize {
        self.next
    }

    /// True when no case was ever filed.
    pub fn is_empty(&self) -> bool {
        self.next == 0
    }

    /// Number of cases in memory.
    pub fn resident(&self) -> usize {
        match &self.table {
            Table::Dense(_) => self.next,
            Table::Sparse(m) => m.len(),
        }
    }

    /// Makes room for the blocks of `additional` more cases, if the table is an array (never
    /// evicted from) and the memory is there: capacity of the list of blocks only (each block is
    /// allocated when the first case enters it), nothing else changes.
    pub fn try_reserve(&mut self, additional: usize) {
        if let Table::Dense(v) = &mut self.table {
            let _ = v.try_reserve(additional.div_ceil(BLOCK));
        }
    }

    /// Appends a newly filed case; returns its ordinal.
    pub fn push(&mut self, c: CaseState) -> usize {
        let ci = self.next;
        match &mut self.table {
            Table::Dense(v) => match v.last_mut() {
                Some(b) if b.len() < BLOCK => b.push(c),
                _ => {
                    let mut b = Vec::with_capacity(BLOCK);
                    b.push(c);
                    v.push(b);
                }
            },
            Table::Sparse(m) => {
                m.insert(ci, Arc::new(c));
            }
        }
        self.next += 1;
        ci
    }

    /// Takes back the case just pushed (a filing refused half-way).
    pub fn pop(&mut self) {
        self.next -= 1;
        match &mut self.table {
            Table::Dense(v) => {
                if let Some(b) = v.last_mut() {
                    b.pop();
                    if b.is_empty() {
                        v.pop();
                    }
                }
            }
            Table::Sparse(m) => {
                m.remove(&self.next);
            }
        }
    }

    /// The case with ordinal `ci`, if in memory.
    pub fn get(&self, ci: usize) -> Option<&CaseState> {
        match &self.table {
            Table::Dense(v) => v.get(ci / BLOCK)?.get(ci % BLOCK),
            Table::Sparse(m) => m.get(&ci).map(|c| &**c),
        }
    }

    fn get_mut(&mut self, ci: usize) -> Option<&mut CaseState> {
        match &mut self.table {
            Table::Dense(v) => v.get_mut(ci / BLOCK)?.get_mut(ci % BLOCK),
            // Copied first only if a snapshot's copy of the table still shares it.
            Table::Sparse(m) => m.get_mut(&ci).map(Arc::make_mut),
        }
    }

    /// The B-tree of the cases in memory, made from the vector at the first eviction.
    fn sparse(&mut self) -> &mut BTreeMap<usize, Arc<CaseState>> {
        if let Table::Dense(v) = &mut self.table {
            let map = std::mem::take(v)
                .into_iter()
                .flatten()
                .map(Arc::new)
                .enumerate()
                .collect();
            self.table = Table::Sparse(map);
        }
        match &mut self.table {
            Table::Sparse(m) => m,
            Table::Dense(_) => unreachable!("made sparse above"),
        }
    }

    /// Removes a case from memory.
    pub(crate) fn evict(&mut self, ci: usize) -> Option<CaseState> {
        self.sparse().remove(&ci).map(Arc::unwrap_or_clone)
    }

    /// Puts an evicted case back.
    pub(crate) fn restore(&mut self, ci: usize, c: CaseState) {
        debug_assert!(ci < self.next, "only a case once filed is restored");
        self.sparse().insert(ci, Arc::new(c));
    }

    /// The cases in memory with their ordinals, in the order filed.
    fn ordinals(&self) -> Box<dyn Iterator<Item = (usize, &CaseState)> + '_> {
        match &self.table {
            Table::Dense(v) => Box::new(v.iter().flatten().enumerate()),
            Table::Sparse(m) => Box::new(m.iter().map(|(&ci, c)| (ci, &**c))),
        }
    }

    /// The cases in memory, in the order filed.
    pub fn iter(&self) -> impl Iterator<Item = &CaseState> {
        self.ordinals().map(|(_, c)| c)
    }
}

impl Index<usize> for Cases {
    type Output = CaseState;
    fn index(&self, ci: usize) -> &CaseState {
        // The store restores every case an event names before applying it (State::wants); a case
        // missing here is a bug in that contract, not bad input.
        self.get(ci).unwrap_or_else(|| {
            panic!("case {ci} is not in memory: it was evicted and not restored")
        })
    }
}

impl IndexMut<usize> for Cases {
    fn index_mut(&mut self, ci: usize) -> &mut CaseState {
        self.get_mut(ci).unwrap_or_else(|| {
            panic!("case {ci} is not in memory: it was evicted and not restored")
        })
    }
}

/// What the store must look up in its archive: the numbers and duplicate keys of evicted cases.
///
/// **Numbers** are kept exactly, as the highest evicted number of each prefix ([`Numbers`]): a
/// number above it was never evicted (the number a new filing takes, in particular), one at or
/// below it is looked up. A number of another form goes to the filter below.
///
/// **Keys** go to a Bloom filter that grows. It answers "maybe" for everything it was given and,
/// for anything else, "no" except for a bounded share of false positives (which only cost the
/// store one archive lookup that finds nothing). It is a *scalable* Bloom filter: filters of
/// doubling capacity up to [`MOST`] items, then of that capacity, each with a tighter error target
/// than the one before (filter `i` aims at `2^-(11 + i/4)`: 0.05%, then a factor `2^-1/4` less
/// each time), so the chance that any of them answers "maybe" for something never given stays
/// under `0.05% / (1 - 2^-1/4)`, about 0.3%, however many filters there are: one filing in 300 or
/// so is looked up for nothing. (Filters written before this aimed at `2^-(9 + i/4)`, and before
/// those at 10 bits an item and 7 probes each; they still read as they were, and a snapshot taken
/// by an older store keeps them and adds tighter ones. Their filters hold numbers as well as
/// keys, and until the state is replayed from the log again ([`Numbers`] is then *unknown*),
/// numbers go on being asked of the filter.)
///
/// A full filter never changes again: filters are held by [`Arc`], so the clones of a state (the
/// store's working and published copies, a snapshot being written) share them, and the filter
/// that still takes items is copied only when one clone adds to it while another holds it.
/// [`crate::State::evict_closed_twins`] lets two copies that evict the same cases share even that
/// one.
///
/// **Serialized form** (the store's state snapshot): `numbers`, and `keys` (or, for filters that
/// hold numbers too, `parts`), one per filter, with the words of the filter that still takes
/// items, and only the digest ([`SealedFilter::digest`]) of each full one, whose words the store
/// keeps apart and writes once ([`Seen::sealed`]). A state read back holds such filters as
/// *stubs* until [`Seen::attach`] gives them their words; a stub answers "maybe" for everything
/// (never a wrong "no"). The capacity cap keeps what a snapshot carries
/// in full under about 2.5 MB however long the log: before it, the last filter held about half
/// of all the bits (16 MB at 10M entries), encoded and written every 100,000 entries.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "SeenForm", into = "SeenForm")]
pub struct Seen {
    /// Filters of doubling capacity (up to [`MOST`]); the last one takes new items.
    filters: Vec<Arc<Bits>>,
    /// The highest number among evicted cases, by prefix (see [`Numbers`]).
    numbers: Numbers,
}

/// The highest number any evicted case has, for each prefix of case numbers: an exact answer to
/// "may an evicted case have this number?" for numbers of the form `PREFIX-DIGITS`.
///
/// A case number is read as `PREFIX-DIGITS` (split at its last `-`; `DIGITS`, of at most 19
/// digits, is its *value*; a number without `-` has the empty prefix). An evicted case may have
/// number `n` exactly when the prefix of `n` has an entry and the value of `n` is not above it: an
/// evicted number with the same text has the same prefix and value. So the number a new filing
/// takes (the portal's next number, above every number of its court and year) is never looked up,
/// and a number at or below the entry is looked up without asking the filter (a case below the
/// highest evicted one and not in memory was, almost always, evicted too). A number of another
/// form (no digits after the last `-`; SPEC §2.3 leaves a case number's form free) goes to the
/// filter, and so does every number while the map is *unknown*: a snapshot written before it
/// existed has filters that hold numbers, and no map.
///
/// One entry per prefix: the portal's numbers have one per court and year.
/// `None` while unknown (read from an older snapshot: its filters hold cases the map would not).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Numbers(Option<BTreeMap<String, u64>>);

impl Default for Numbers {
    /// Nothing evicted yet: the empty map is exact.
    fn default() -> Numbers {
        Numbers(Some(BTreeMap::new()))
    }
}

impl Numbers {
    /// `id` as prefix and value, if it has the form `PREFIX-DIGITS`.
    fn split(id: &CaseId) -> Option<(&str, u64)> {
        let s = id.as_str();
        let (prefix, digits) = s.rsplit_once('-').unwrap_or(("", s));
        if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some((prefix, digits.parse().ok()?))
    }

    /// Remembers `id` if the map is known and `id` has the form: false if the filter must.
    fn note(&mut self, id: &CaseId) -> bool {
        let (Some(highest), Some((prefix, n))) = (self.0.as_mut(), Numbers::split(id)) else {
            return false;
        };
        match highest.get_mut(prefix) {
            Some(h) => *h = (*h).max(n),
            None => {
                highest.insert(prefix.to_owned(), n);
            }
        }
        true
    }

    /// Whether an evicted case may have number `id`, if the map decides it (see [`Numbers`]).
    fn decides(&self, id: &CaseId) -> Option<bool> {
        let (prefix, n) = Numbers::split(id)?;
        Some(self.0.as_ref()?.get(prefix).is_some_and(|&h| n <= h))
    }
}

/// The serialized form of [`Seen`]: `keys` and `numbers` (this form: filters of keys, and the
/// numbers apart), or `parts` (filters that hold numbers too: written while the numbers are
/// unknown) or, read only, `tiers`/`filters` (the layout before full filters were kept apart:
/// every filter with its words, as CBOR integers). An older store finds neither `parts` nor
/// `tiers` in a snapshot with filters of keys only, and refuses it (replaying the log) rather than
/// read them as holding every evicted number; it found no `tiers` in `parts` either, rather than
/// read stubs as empty filters.
#[derive(serde::Serialize, serde::Deserialize)]
struct SeenForm {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keys: Option<Vec<Part>>,
    /// The highest evicted number of each prefix ([`Numbers`]), beside `keys`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    numbers: Option<BTreeMap<String, u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parts: Option<Vec<Part>>,
    #[serde(default, alias = "filters", skip_serializing)]
    tiers: Option<Vec<Bits>>,
}

/// One filter in the serialized form.
#[derive(serde::Serialize, serde::Deserialize)]
struct Part {
    items: u64,
    capacity: u64,
    probes: u32,
    /// How many 64-bit words the filter has.
    words: u64,
    /// The words, 8 bytes each, little-endian; empty for a full filter (kept apart).
    #[serde(with = "le_words")]
    bits: Vec<u64>,
    /// A full filter's digest, by which the store finds its words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    apart: Option<Digest32>,
}

impl From<Seen> for SeenForm {
    fn from(s: Seen) -> SeenForm {
        let parts = s
            .filters
            .iter()
            .map(|f| Part {
                items: f.items,
                capacity: f.capacity,
                probes: f.probes,
                words: f.len,
                bits: if f.full() {
                    Vec::new()
                } else {
                    f.words.clone()
                },
                apart: f.full().then(|| f.digest()),
            })
            .collect();
        // Filters of keys beside their numbers; while the numbers are unknown, `parts`.
        let (keys, parts) = match s.numbers.0 {
            Some(_) => (Some(parts), None),
            None => (None, Some(parts)),
        };
        SeenForm {
            keys,
            numbers: s.numbers.0,
            parts,
            tiers: None,
        }
    }
}

impl TryFrom<SeenForm> for Seen {
    type Error = String;
    fn try_from(f: SeenForm) -> Result<Seen, String> {
        let (filters, known) = match (f.keys, f.numbers, f.parts, f.tiers) {
            (Some(keys), Some(highest), None, None) => (from_parts(keys)?, Some(highest)),
            (None, None, Some(parts), None) => (from_parts(parts)?, None),
            (None, None, None, Some(tiers)) => (
                tiers
                    .into_iter()
                    .map(|mut b| {
                        b.len = b.words.len() as u64;
                        Arc::new(b)
                    })
                    .collect(),
                None,
            ),
            _ => {
                return Err(
                    "a filter of evicted cases has none, or more than one, of keys \
                            with numbers, parts and tiers"
                        .into(),
                );
            }
        };
        // No map and no filters: nothing was ever evicted, so the empty map is exact.
        let numbers = Numbers(known.or_else(|| filters.is_empty().then(BTreeMap::new)));
        Ok(Seen { filters, numbers })
    }
}

/// The filters of the serialized form's `keys` or `parts`, checked against their sizes.
fn from_parts(parts: Vec<Part>) -> Result<Vec<Arc<Bits>>, String> {
    parts
        .into_iter()
        .map(|p| {
            let stub = p.apart.is_some();
            if p.probes == 0
                || (stub && !p.bits.is_empty())
                || (!stub && p.bits.len() as u64 != p.words)
            {
                return Err(format!(
                    "a filter of evicted cases has {} words where it says {} (and {} probes)",
                    p.bits.len(),
                    p.words,
                    p.probes
                ));
            }
            let digest = std::sync::OnceLock::new();
            if let Some(d) = p.apart {
                let _ = digest.set(d);
            }
            Ok(Arc::new(Bits {
                words: p.bits,
                len: p.words,
                items: p.items,
                capacity: p.capacity,
                probes: p.probes,
                digest,
            }))
        })
        .collect()
}

/// `Vec<u64>` as one byte string, 8 bytes a word, little-endian (a CBOR byte string is copied,
/// where an array of integers is written one item at a time).
mod le_words {
    use std::fmt;

    use serde::de::{self, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(words: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        s.serialize_bytes(&bytes)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        struct Words;
        impl<'de> Visitor<'de> for Words {
            type Value = Vec<u64>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a byte string of 8-byte words")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u64>, E> {
                if !v.len().is_multiple_of(8) {
                    return Err(E::custom(format!("{} bytes are not whole words", v.len())));
                }
                Ok(v.chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect())
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u64>, E> {
                self.visit_bytes(&v)
            }
            // A format without byte strings (JSON) writes them as an array of numbers.
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u64>, A::Error> {
                let mut bytes = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    bytes.push(b);
                }
                self.visit_bytes(&bytes)
            }
        }
        d.deserialize_byte_buf(Words)
    }
}

#[derive(serde::Deserialize, Debug)]
struct Bits {
    /// The words: `len` of them, or none in a stub (a full filter read back before
    /// [`Seen::attach`]).
    words: Vec<u64>,
    /// How many words the filter has (the old form has no such field: set from `words`).
    #[serde(skip)]
    len: u64,
    items: u64,
    capacity: u64,
    /// How many positions an item sets. Absent in a filter written before the tightening ones,
    /// which all used [`OLD_PROBES`].
    #[serde(default = "old_probes")]
    probes: u32,
    /// The digest of a full filter, computed once (or read with a stub).
    #[serde(skip)]
    digest: std::sync::OnceLock<Digest32>,
}

impl Clone for Bits {
    fn clone(&self) -> Bits {
        Bits {
            words: self.words.clone(),
            len: self.len,
            items: self.items,
            capacity: self.capacity,
            probes: self.probes,
            digest: self.digest.clone(),
        }
    }
}

impl PartialEq for Bits {
    fn eq(&self, o: &Bits) -> bool {
        (self.words == o.words && self.len == o.len)
            && (self.items, self.capacity, self.probes) == (o.items, o.capacity, o.probes)
    }
}

impl Eq for Bits {}

/// The probes of every filter written before the tightening ones (10 bits an item).
const OLD_PROBES: u32 = 7;

fn old_probes() -> u32 {
    OLD_PROBES
}

/// The first filter's capacity.
const FIRST: u64 = 1 << 14;
/// The most items a filter takes (a filter of larger capacity, written before this cap, is
/// closed when it holds this many).
const MOST: u64 = 1 << 20;
/// Filter `i` aims at a false-positive rate of `2^-((TIGHT_BASE + i) / 4)`: `log2(1 / rate)` counts
/// in quarters. (It was 36 while the filters held numbers too, twice the items.)
const TIGHT_BASE: u64 = 44;

impl Bits {
    /// Filter number `i` (from 0) of a scalable filter, for `capacity` items: error target
    /// `2^-(11 + i/4)`, which takes `log2(1 / rate) / ln 2` bits an item and `log2(1 / rate)` probes.
    fn nth(i: usize, capacity: u64) -> Bits {
        let quarters = TIGHT_BASE + i as u64;
        // 1 / ln 2 = 1.4427 bits an item for each bit of log2(1 / rate).
        let bits = (capacity * quarters * 14_427).div_ceil(40_000);
        let len = bits.div_ceil(64);
        Bits {
            words: vec![0; len as usize],
            len,
            items: 0,
            capacity,
            // log2(1 / rate), rounded to the nearest.
            probes: (quarters + 2) as u32 / 4,
            digest: std::sync::OnceLock::new(),
        }
    }

    /// Takes no more items.
    fn full(&self) -> bool {
        self.items >= self.capacity.min(MOST)
    }

    /// A full filter read back without its words.
    fn stub(&self) -> bool {
        self.words.is_empty() && self.len > 0
    }

    fn bytes(&self) -> Vec<u8> {
        self.words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// SHA-256 over the filter's shape and words (see [`SealedFilter::digest`]).
    fn digest(&self) -> Digest32 {
        *self
            .digest
            .get_or_init(|| filter_digest(self.probes, self.capacity, self.items, &self.bytes()))
    }

    /// The two words of `d` that place its positions: position `i` is `h1 + i * h2` modulo the
    /// filter's bits (double hashing; `h2` odd).
    fn hashes(d: &Digest32) -> (u64, u64) {
        let h1 = u64::from_le_bytes(d.0[0..8].try_into().expect("8 bytes"));
        let h2 = u64::from_le_bytes(d.0[8..16].try_into().expect("8 bytes")) | 1;
        (h1, h2)
    }

    fn positions(&self, d: &Digest32) -> impl Iterator<Item = u64> + use<> {
        let m = self.words.len() as u64 * 64;
        let (h1, h2) = Bits::hashes(d);
        (0..u64::from(self.probes)).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % m)
    }

    fn insert(&mut self, d: &Digest32) {
        for p in self.positions(d) {
            self.words[(p / 64) as usize] |= 1 << (p % 64);
        }
        self.items += 1;
    }

    /// Whether the bit at position `i` of the item of [`Bits::hashes`] `(h1, h2)` is set (the
    /// `i`th of [`Bits::positions`]); a stub answers yes, a filter with no bits no.
    fn bit(&self, (h1, h2): (u64, u64), i: u32) -> bool {
        if self.stub() {
            return true;
        }
        let m = self.words.len() as u64 * 64;
        if m == 0 {
            return false;
        }
        let p = h1.wrapping_add(u64::from(i).wrapping_mul(h2)) % m;
        self.words[(p / 64) as usize] & (1 << (p % 64)) != 0
    }

    /// Whether every position of `d` is set (the tests' reference for [`Seen::contains`], which
    /// reads the positions of all filters breadth first).
    #[cfg(test)]
    fn contains(&self, d: &Digest32) -> bool {
        // A stub may hold anything until its words are back; a filter with no bits at all (only
        // from a damaged snapshot) holds nothing.
        if self.stub() {
            return true;
        }
        !self.words.is_empty()
            && self
                .positions(d)
                .all(|p| self.words[(p / 64) as usize] & (1 << (p % 64)) != 0)
    }
}

fn filter_digest(probes: u32, capacity: u64, items: u64, bytes: &[u8]) -> Digest32 {
    sha256(&[
        b"klero/resident/filter\0",
        &probes.to_be_bytes(),
        &capacity.to_be_bytes(),
        &items.to_be_bytes(),
        bytes,
    ])
}

/// A full filter of a [`Seen`], which the store keeps apart from its state snapshots (it never
/// changes again): its digest names it in the snapshot, and [`Seen::attach`] checks the words it
/// is given back against it.
#[derive(Clone, Debug)]
pub struct SealedFilter(Arc<Bits>);

impl SealedFilter {
    /// SHA-256 of `"klero/resident/filter\0"`, then the filter's probes (4 bytes), capacity and
    /// items (8 bytes each, big-endian), then its words ([`SealedFilter::bytes`]).
    pub fn digest(&self) -> Digest32 {
        self.0.digest()
    }

    /// The filter's words, 8 bytes each, little-endian.
    pub fn bytes(&self) -> Vec<u8> {
        self.0.bytes()
    }
}

impl Seen {
    fn insert(&mut self, d: &Digest32) {
        if self.filters.last().is_none_or(|f| f.full()) {
            let cap = self
                .filters
                .last()
                .map_or(FIRST, |f| (f.capacity * 2).min(MOST));
            self.filters
                .push(Arc::new(Bits::nth(self.filters.len(), cap)));
        }
        // Copied first only if another clone still holds it.
        Arc::make_mut(self.filters.last_mut().expect("just ensured")).insert(d);
    }

    fn contains(&self, d: &Digest32) -> bool {
        // A name never evicted (most names asked about) is looked up in every filter, and at 10M
        // entries the filters are tens of megabytes: each probe is a cache miss. So the filters
        // are probed breadth first: position 0 of every filter, then position 1 of those whose
        // position 0 was set, and so on. The reads of one round do not wait on one another, so
        // their misses overlap, and a round has about half the filters of the one before. A
        // filter is out at its first clear bit and holds `d` once all its positions are set.
        let h = Bits::hashes(d);
        for group in self.filters.chunks(64) {
            // Bit k: filter k of the group may still hold `d` (a filter with no bits holds nothing).
            let mut alive: u64 = 0;
            for (k, f) in group.iter().enumerate() {
                if f.stub() || !f.words.is_empty() {
                    alive |= 1 << k;
                }
            }
            let mut round = 0;
            while alive != 0 {
                let mut next = alive;
                let mut left = alive;
                while left != 0 {
                    let k = left.trailing_zeros() as usize;
                    left &= left - 1;
                    let f = &group[k];
                    if round >= f.probes {
                        // Every position of this filter is set.
                        return true;
                    }
                    if !f.bit(h, round) {
                        next &= !(1 << k);
                    }
                }
                alive = next;
                round += 1;
            }
        }
        false
    }

    /// Remembers the number `id` of a case being evicted, and pushes onto `items` what the filter
    /// must remember of it ([`Seen::add`]): the digest of its duplicate key `key`, and its
    /// number's if [`Numbers`] does not keep it.
    pub(crate) fn forget(&mut self, id: &CaseId, key: &Digest32, items: &mut Vec<Digest32>) {
        if !self.numbers.note(id) {
            items.push(id_digest(id));
        }
        items.push(key_digest(key));
    }

    /// Remembers items of [`Seen::forget`].
    pub(crate) fn add(&mut self, items: &[Digest32]) {
        for d in items {
            self.insert(d);
        }
    }

    /// Lets go of the filters (keeping the numbers), so that another copy that holds the same
    /// ones can add to them in place; [`Seen::share_filters`] then takes them back.
    pub(crate) fn release_filters(&mut self) {
        self.filters.clear();
    }

    /// Holds the filters `other` holds.
    pub(crate) fn share_filters(&mut self, other: &Seen) {
        self.filters.clone_from(&other.filters);
    }

    /// Whether `other` holds the same filters (the same ones, shared, or equal ones) and numbers.
    pub(crate) fn same(&self, other: &Seen) -> bool {
        self.numbers == other.numbers
            && self.filters.len() == other.filters.len()
            && self
                .filters
                .iter()
                .zip(&other.filters)
                .all(|(a, b)| Arc::ptr_eq(a, b) || a == b)
    }

    /// Whether every filter of `self` is held, not copied, by `other` too.
    pub fn shares_with(&self, other: &Seen) -> bool {
        self.filters.len() == other.filters.len()
            && self
                .filters
                .iter()
                .zip(&other.filters)
                .all(|(a, b)| Arc::ptr_eq(a, b))
    }

    /// The full filters, which the serialized form names by digest only: the store writes their
    /// words apart, once each.
    pub fn sealed(&self) -> Vec<SealedFilter> {
        self.filters
            .iter()
            .filter(|f| f.full() && !f.stub())
            .map(|f| SealedFilter(f.clone()))
            .collect()
    }

    /// The digests of the full filters read back without their words.
    pub fn stubs(&self) -> Vec<Digest32> {
        self.filters
            .iter()
            .filter(|f| f.stub())
            .map(|f| f.digest())
            .collect()
    }

    /// Gives the stubs of digest `digest` their words, `bytes` (as [`SealedFilter::bytes`]):
    /// refused if they do not fit the digest and the filter's size. Returns how many stubs took
    /// them (0 if none has that digest).
    pub fn attach(&mut self, digest: &Digest32, bytes: &[u8]) -> Result<usize, String> {
        let mut n = 0;
        for (i, f) in self.filters.iter_mut().enumerate() {
            if !f.stub() || f.digest() != *digest {
                continue;
            }
            if bytes.len() as u64 != f.len * 8
                || filter_digest(f.probes, f.capacity, f.items, bytes) != *digest
            {
                return Err(format!(
                    "filter {i} of evicted cases (digest {digest}) is stored altered"
                ));
            }
            Arc::make_mut(f).words = bytes
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect();
            n += 1;
        }
        Ok(n)
    }

    /// Whether `id` may be the number of an evicted case: as [`Numbers`] says, or the filter for a
    /// number it does not decide.
    pub fn may_hold_case(&self, id: &CaseId) -> bool {
        self.numbers
            .decides(id)
            .unwrap_or_else(|| !self.filters.is_empty() && self.contains(&id_digest(id)))
    }

    /// Whether `key` may be the duplicate key of an evicted case.
    pub fn may_hold_key(&self, key: &Digest32) -> bool {
        !self.filters.is_empty() && self.contains(&key_digest(key))
    }

    /// Bytes of memory the filters hold (counting shared filters in full).
    pub fn bytes(&self) -> usize {
        self.filters.iter().map(|f| f.words.len() * 8).sum()
    }

    /// Number of filters.
    pub fn filters(&self) -> usize {
        self.filters.len()
    }
}

fn id_digest(id: &CaseId) -> Digest32 {
    sha256(&[b"klero/resident/case\0", id.as_str().as_bytes()])
}

fn key_digest(key: &Digest32) -> Digest32 {
    sha256(&[b"klero/resident/key\0", &key.0])
}

/// What an event needs restored before it is applied: see [`crate::State::wants`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    /// Case numbers that may belong to evicted cases.
    pub cases: Vec<CaseId>,
    /// A duplicate key whose latest filing may be an evicted case.
    pub duplicate_key: Option<Digest32>,
    /// How many cases were filed before the event: only cases of a lower ordinal are wanted. (An
    /// archive may hold later ones: a start from a snapshot replays its tail against an archive
    /// written up to the end of the log, where the latest case of a duplicate key may be one
    /// filed after the entry replayed.)
    pub filed: usize,
}

impl Wanted {
    /// True when nothing needs restoring.
    pub fn is_empty(&self) -> bool {
        self.cases.is_empty() && self.duplicate_key.is_none()
    }
}

/// An evicted case as the store archives it: its ordinal and its final state.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug)]
pub struct Archived {
    /// The case's ordinal (order of filing, from 0).
    pub ordinal: usize,
    /// The case as it was when closed (a closed case never changes again).
    pub case: CaseState,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distinct digests, cheaply (a debug build hashes slowly).
    fn d(i: u64) -> Digest32 {
        let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xd1b5_4a32_d192_ed03;
        let mut out = [0u8; 32];
        for chunk in out.chunks_mut(8) {
            x ^= x >> 31;
            x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
            x ^= x >> 27;
            x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
            x ^= x >> 33;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        Digest32(out)
    }

    /// A filter whose first part takes `first` items (so a test reaches many parts quickly).
    fn starting_at(first: u64) -> Seen {
        Seen {
            filters: vec![Arc::new(Bits::nth(0, first))],
            ..Seen::default()
        }
    }

    #[test]
    fn seen_has_no_false_negatives_and_few_false_positives() {
        let mut s = Seen::default();
        for i in 0..100_000u64 {
            s.insert(&d(i));
        }
        assert!((0..100_000u64).all(|i| s.contains(&d(i))));
        let fp = (100_000..300_000u64).filter(|&i| s.contains(&d(i))).count();
        assert!(fp < 2_000, "{fp} false positives in 200,000");
        assert!(s.bytes() < 400_000, "{} bytes", s.bytes());
    }

    #[test]
    fn seen_keeps_its_false_positive_rate_bounded_however_many_filters_it_grows() {
        // Filters of one error rate each would answer "maybe" about k times as often with k
        // filters (13 filters of 10 bits an item: about 10%). The tightening ones stay under
        // their bound, 0.05% / (1 - 2^-1/4) = 0.31%, with every filter full.
        let mut s = starting_at(64);
        let n = 64 * ((1 << 13) - 1);
        for i in 0..n {
            s.insert(&d(i));
        }
        assert_eq!(s.filters(), 13);
        assert!(s.filters.iter().all(|f| f.items == f.capacity));
        assert!((0..n).all(|i| s.contains(&d(i))), "a false negative");
        let probes = 400_000u64;
        let fp = (n..n + probes).filter(|&i| s.contains(&d(i))).count() as f64;
        let rate = fp / probes as f64;
        // (Filters this small, 64 items and up with 11 probes and more, run a little above the
        // large filters' figures: 0.36% here.)
        assert!(rate < 0.0040, "{:.3}% false positives", 100.0 * rate);
        // And the bound holds for any number of full filters: the rates of filters 0, 1, 2, ...
        // (each with its bits and probes) sum under it.
        let total: f64 = (0..200)
            .map(|i| {
                let f = Bits::nth(i, 1 << 20);
                let m = f.words.len() as f64 * 64.0;
                let k = f64::from(f.probes);
                (1.0 - (-k * f.capacity as f64 / m).exp()).powf(k)
            })
            .sum();
        assert!(total < 0.0031, "{:.3}%", 100.0 * total);
        // What the bound costs: 20 bits an item at 13 filters rather than 10.
        let bits = s.bytes() as f64 * 8.0 / n as f64;
        assert!(bits < 20.0, "{bits:.1} bits an item");
    }

    #[test]
    fn a_filter_written_before_the_tightening_ones_reads_as_it_was() {
        // The layout of an older snapshot: no probes (every filter had 7, and 10 bits an item).
        #[derive(serde::Serialize)]
        struct OldBits {
            words: Vec<u64>,
            items: u64,
            capacity: u64,
        }
        #[derive(serde::Serialize)]
        struct OldSeen {
            filters: Vec<OldBits>,
        }
        let mut old = Bits {
            words: vec![0; (FIRST * 10).div_ceil(64) as usize],
            len: (FIRST * 10).div_ceil(64),
            items: 0,
            capacity: FIRST,
            probes: 7,
            digest: std::sync::OnceLock::new(),
        };
        for i in 0..FIRST {
            old.insert(&d(i));
        }
        let json = serde_json::to_string(&OldSeen {
            filters: vec![OldBits {
                words: old.words.clone(),
                items: old.items,
                capacity: old.capacity,
            }],
        })
        .expect("JSON");
        let mut s: Seen = serde_json::from_str(&json).expect("an older filter reads");
        assert_eq!(*s.filters[0], old);
        assert!((0..FIRST).all(|i| s.contains(&d(i))));
        // It takes new items in a tighter filter of its own.
        s.insert(&d(FIRST));
        assert_eq!(s.filters(), 2);
        assert_eq!(s.filters[1].probes, 11);
        assert!((0..=FIRST).all(|i| s.contains(&d(i))));
        // Written again, it reads back as it is once its full filter has its words back; an
        // older store, which wants `filters` or `tiers`, finds neither (and refuses the snapshot
        // rather than read stubs as empty filters, or the new filters with 7 probes).
        let json = serde_json::to_string(&s).expect("JSON");
        let mut back: Seen = serde_json::from_str(&json).expect("it reads back");
        let sealed = s.sealed();
        assert_eq!(sealed.len(), 1);
        assert_eq!(back.stubs(), vec![sealed[0].digest()]);
        assert_eq!(back.attach(&sealed[0].digest(), &sealed[0].bytes()), Ok(1));
        assert!(back.same(&s));
        let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert!(
            v.get("filters").is_none() && v.get("tiers").is_none() && v.get("parts").is_some(),
            "{v}"
        );
    }

    #[test]
    fn full_filters_are_written_by_digest_and_take_back_only_their_own_words() {
        let mut s = starting_at(64);
        for i in 0..500 {
            s.insert(&d(i));
        }
        // Filters of 64, 128 and 256 items are full; the one of 512 takes items.
        assert_eq!(s.filters(), 4);
        let sealed = s.sealed();
        assert_eq!(sealed.len(), 3);
        let json = serde_json::to_vec(&s).expect("encodes");
        let active_bytes = s.filters[3].words.len() * 8;
        // Only the last filter's words are in the form (as an array of numbers, in JSON).
        let v: serde_json::Value = serde_json::from_slice(&json).expect("JSON");
        let parts = v["keys"].as_array().expect("keys");
        let lens: Vec<usize> = parts
            .iter()
            .map(|p| p["bits"].as_array().expect("bits").len())
            .collect();
        assert_eq!(lens, vec![0, 0, 0, active_bytes]);
        let mut back: Seen = serde_json::from_slice(&json).expect("reads back");
        assert_eq!(
            back.stubs(),
            sealed.iter().map(SealedFilter::digest).collect::<Vec<_>>()
        );
        // A stub answers "maybe" for anything: never a wrong "no" before its words are back.
        assert!(back.contains(&d(1_000_000)));
        // Altered words, or too few, are refused; a digest no stub has takes nothing.
        let mut altered = sealed[1].bytes();
        altered[5] ^= 1;
        let e = back.attach(&sealed[1].digest(), &altered).unwrap_err();
        assert!(e.contains("filter 1") && e.contains("altered"), "{e}");
        let short = &sealed[1].bytes()[8..];
        assert!(back.attach(&sealed[1].digest(), short).is_err());
        assert_eq!(back.attach(&d(7), &sealed[1].bytes()), Ok(0));
        for f in &sealed {
            assert_eq!(back.attach(&f.digest(), &f.bytes()), Ok(1));
        }
        assert!(back.stubs().is_empty());
        assert!(back.same(&s));
        assert!((0..500).all(|i| back.contains(&d(i))));
        let fp = (10_000..20_000u64)
            .filter(|&i| back.contains(&d(i)))
            .count();
        assert!(fp < 200, "{fp} false positives in 10,000");
    }

    #[test]
    fn a_name_is_found_in_any_of_more_filters_than_one_group_reads_at_once() {
        // 140 filters of 8 items each (three groups of 64 probed breadth first), with probes
        // from 7 to 46 and a filter with no bits among them: every item is found, in whichever
        // filter holds it, and any other name exactly when some filter says "maybe".
        let mut filters: Vec<Arc<Bits>> = (0..140u64)
            .map(|i| {
                let mut b = Bits::nth(i as usize, 8);
                if i % 3 == 0 {
                    b.probes = OLD_PROBES;
                }
                for j in 0..8 {
                    b.insert(&d(i * 8 + j));
                }
                Arc::new(b)
            })
            .collect();
        filters.insert(5, Arc::new(Bits::nth(0, 0)));
        let s = Seen {
            filters,
            ..Seen::default()
        };
        assert!((0..1120).all(|i| s.contains(&d(i))), "a false negative");
        let mut fp = 0;
        for i in 2_000..12_000u64 {
            let any = s.filters.iter().any(|f| f.contains(&d(i)));
            assert_eq!(s.contains(&d(i)), any, "name {i}");
            fp += usize::from(any);
        }
        assert!(fp > 0, "the tiny filters answer \"maybe\" for some names");
        // A stub, or a filter that sets no position, holds every name; a filter with no bits
        // none.
        let empty = Seen {
            filters: vec![Arc::new(Bits::nth(0, 0))],
            ..Seen::default()
        };
        assert!(!empty.contains(&d(1)));
        let mut none = Bits::nth(0, 8);
        none.probes = 0;
        let mut stub = Bits::nth(0, 8);
        stub.words.clear();
        for f in [none, stub] {
            let s = Seen {
                filters: vec![Arc::new(Bits::nth(0, 0)), Arc::new(f)],
                ..Seen::default()
            };
            assert!((0..100).all(|i| s.contains(&d(i))));
        }
    }

    #[test]
    fn filters_stop_doubling_at_the_cap_and_a_larger_old_one_closes_there() {
        // The last filter is at the cap and one item short of full.
        let mut last = Bits::nth(6, MOST);
        last.items = MOST - 1;
        let mut s = Seen {
            filters: vec![Arc::new(last)],
            ..Seen::default()
        };
        s.insert(&d(1));
        assert_eq!(s.filters(), 1);
        s.insert(&d(2));
        assert_eq!(s.filters(), 2);
        assert_eq!(s.filters[1].capacity, MOST, "no filter beyond the cap");
        // A filter written before the cap, of four times its capacity, takes no more than the cap.
        let mut big = Bits::nth(8, 4 * MOST);
        big.items = MOST;
        let mut s = Seen {
            filters: vec![Arc::new(big)],
            ..Seen::default()
        };
        assert_eq!(s.sealed().len(), 1);
        s.insert(&d(3));
        assert_eq!(s.filters(), 2);
        assert_eq!(s.filters[1].capacity, MOST);
        assert!(s.contains(&d(3)));
    }

    #[test]
    fn clones_share_full_filters_and_copy_the_growing_one_only_when_they_differ() {
        let mut a = starting_at(64);
        for i in 0..1_000 {
            a.insert(&d(i));
        }
        let mut b = a.clone();
        assert!(a.shares_with(&b) && a.same(&b));
        b.insert(&d(5_000));
        // The full filters are still shared; the last one was copied, and now differs.
        let n = a.filters.len();
        assert!((0..n - 1).all(|i| Arc::ptr_eq(&a.filters[i], &b.filters[i])));
        assert!(!Arc::ptr_eq(&a.filters[n - 1], &b.filters[n - 1]));
        assert!(!a.same(&b));
        a.insert(&d(5_000));
        assert!(a.same(&b) && !a.shares_with(&b));
        assert!(b.contains(&d(5_000)) && (0..1_000).all(|i| b.contains(&d(i))));
    }

    fn case(s: &str) -> CaseId {
        CaseId::parse(s).expect("a case number")
    }

    /// A filter that answers "maybe" for every name, as a stub does.
    fn saying_maybe_to_all() -> Seen {
        let mut all = Bits::nth(0, FIRST);
        all.words.iter_mut().for_each(|w| *w = u64::MAX);
        Seen {
            filters: vec![Arc::new(all)],
            ..Seen::default()
        }
    }

    #[test]
    fn numbers_of_the_form_are_decided_by_the_highest_evicted_one_and_others_by_the_filter() {
        let mut all = saying_maybe_to_all();
        let mut none = Seen {
            filters: vec![Arc::new(Bits::nth(0, FIRST))],
            ..Seen::default()
        };
        for s in [&mut all, &mut none] {
            for n in ["C-2026-000010", "C-2026-000007", "D-2026-000003"] {
                assert!(s.numbers.note(&case(n)), "{n} is of the form");
            }
            for n in ["X", "C-2026-A", "C-2026-", "C-2026-99999999999999999999"] {
                assert!(!s.numbers.note(&case(n)), "{n} is not of the form");
            }
        }
        for s in [&all, &none] {
            let maybe = |n: &str| s.may_hold_case(&case(n));
            // Above the highest evicted number of the prefix, or of a prefix none has: never
            // evicted, whatever the filter would say.
            for n in [
                "C-2026-000011",
                "C-2026-11",
                "D-2026-000004",
                "E-2026-000001",
                "12345",
            ] {
                assert!(!maybe(n), "{n}");
            }
            // At or below it: looked up, whatever the filter would say.
            for n in ["C-2026-000010", "C-2026-000005", "C-2026-1", "D-2026-3"] {
                assert!(maybe(n), "{n}");
            }
        }
        // Not of the form: the filter decides.
        for n in ["X", "C-2026-A", "C-2026-", "C-2026-99999999999999999999"] {
            assert!(
                all.may_hold_case(&case(n)) && !none.may_hold_case(&case(n)),
                "{n}"
            );
        }
        // What an evicted case leaves to the filter: its key, and its number only if it is not
        // of the form.
        let mut items = Vec::new();
        all.forget(&case("C-2026-000012"), &d(1), &mut items);
        assert_eq!(items, vec![key_digest(&d(1))]);
        assert!(all.may_hold_case(&case("C-2026-000012")));
        assert!(!all.may_hold_case(&case("C-2026-000013")));
        items.clear();
        all.forget(&case("C-2026-X"), &d(2), &mut items);
        assert_eq!(items, vec![id_digest(&case("C-2026-X")), key_digest(&d(2))]);
    }

    #[test]
    fn numbers_travel_beside_filters_of_keys_and_filters_without_them_are_asked_for_all() {
        let mut s = saying_maybe_to_all();
        s.numbers.note(&case("C-2026-000010"));
        let json = serde_json::to_string(&s).expect("JSON");
        let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        // An older store finds neither parts nor tiers, and refuses the snapshot.
        assert!(v.get("parts").is_none() && v.get("tiers").is_none(), "{v}");
        let back: Seen = serde_json::from_str(&json).expect("reads back");
        assert!(back.same(&s));
        assert!(!back.may_hold_case(&case("C-2026-000011")));
        // Filters that hold numbers too (`parts`, without numbers): every number is asked of them.
        let mut old = v.clone();
        let o = old.as_object_mut().expect("a map");
        let parts = o.remove("keys").expect("keys");
        o.remove("numbers");
        o.insert("parts".into(), parts);
        let mut read: Seen = serde_json::from_value(old.clone()).expect("reads");
        assert!(read.numbers.0.is_none(), "unknown");
        assert!(read.may_hold_case(&case("C-2026-000011")));
        // It stays so: it gives numbers to the filter, and is written as it was read.
        let mut items = Vec::new();
        read.forget(&case("C-2026-000012"), &d(1), &mut items);
        assert_eq!(items.len(), 2);
        let again = serde_json::to_value(&read).expect("JSON");
        assert!(again.get("parts").is_some() && again.get("numbers").is_none());
        // Nothing evicted yet (no filters): the empty map is exact.
        old["parts"] = serde_json::json!([]);
        let empty: Seen = serde_json::from_value(old).expect("reads");
        assert!(empty.numbers.0.is_some(), "known");
        // Keys without numbers, or keys beside parts, are refused.
        let mut bad = v.clone();
        bad.as_object_mut().expect("a map").remove("numbers");
        assert!(serde_json::from_value::<Seen>(bad).is_err());
        let mut bad = v;
        bad["parts"] = serde_json::json!([]);
        assert!(serde_json::from_value::<Seen>(bad).is_err());
    }

    /// The table is a vector until its first eviction and a B-tree after; either way it finds the
    /// same cases and serializes as the derived form of the B-tree-only table did.
    #[test]
    fn the_case_table_is_a_vector_until_an_eviction_and_serializes_alike_either_way() {
        let entries = crate::sample::sample_log(&crate::sample::SampleSpec::small(5));
        let report = crate::verify(&entries);
        assert!(report.ok(), "{report:?}");
        let mut v = crate::Verifier::new();
        for e in &entries {
            v.push(e).expect("verifies");
        }
        let sample: Vec<CaseState> = v.log().state().cases().cloned().collect();
        assert!(sample.len() >= 10, "{}", sample.len());
        // Two blocks of the vector and some: the sample's cases again, each made its own.
        let cases: Vec<CaseState> = (0..2 * BLOCK + 7)
            .map(|i| {
                let mut c = sample[i % sample.len()].clone();
                c.weight = u32::try_from(i).expect("small");
                c
            })
            .collect();
        let mut table = Cases::default();
        table.push(cases[0].clone());
        let first: *const CaseState = &table[0];
        for c in &cases[1..] {
            table.push(c.clone());
        }
        assert!(matches!(table.table, Table::Dense(_)));
        assert!(
            std::ptr::eq(first, &table[0]),
            "a case does not move as the vector grows"
        );
        /// The form before: `next` and a B-tree from ordinal to case.
        #[derive(serde::Serialize)]
        #[serde(rename = "Cases")]
        struct Before<'a> {
            next: usize,
            map: BTreeMap<usize, &'a CaseState>,
        }
        let before = |skip: &[usize]| {
            let map = cases
                .iter()
                .enumerate()
                .filter(|(i, _)| !skip.contains(i))
                .collect();
            serde_json::to_string(&Before {
                next: cases.len(),
                map,
            })
            .expect("serializes")
        };
        let now = |t: &Cases| serde_json::to_string(t).expect("serializes");
        assert_eq!(now(&table), before(&[]));
        // In CBOR too (the store's snapshots), which writes a map's length where JSON does not.
        fn cbor<T: serde::Serialize>(v: &T) -> Vec<u8> {
            let mut out = Vec::new();
            ciborium::into_writer(v, &mut out).expect("serializes");
            out
        }
        let map: BTreeMap<usize, &CaseState> = cases.iter().enumerate().collect();
        assert_eq!(
            cbor(&table),
            cbor(&Before {
                next: cases.len(),
                map
            })
        );
        // A refused filing's case is taken back from the vector, a block emptied with it.
        table.push(cases[0].clone());
        table.pop();
        assert_eq!((table.len(), table.resident()), (cases.len(), cases.len()));
        for _ in 0..8 {
            table.pop();
        }
        assert_eq!(table.resident(), 2 * BLOCK - 1);
        assert_eq!(table.get(2 * BLOCK - 1), None);
        for c in &cases[2 * BLOCK - 1..] {
            table.push(c.clone());
        }
        assert_eq!(now(&table), before(&[]));
        // The first eviction makes it a B-tree holding the rest.
        let gone = table.evict(3).expect("in memory");
        assert_eq!(gone, cases[3]);
        assert!(matches!(table.table, Table::Sparse(_)));
        assert!(table.get(3).is_none());
        for (i, c) in cases.iter().enumerate().filter(|&(i, _)| i != 3) {
            assert_eq!(&table[i], c);
        }
        assert_eq!(
            (table.len(), table.resident()),
            (cases.len(), cases.len() - 1)
        );
        assert_eq!(now(&table), before(&[3]));
        let back: Cases = serde_json::from_str(&now(&table)).expect("reads");
        assert_eq!(now(&back), before(&[3]));
        table.restore(3, gone);
        assert_eq!(now(&table), before(&[]));
        assert!(table.iter().eq(cases.iter()));

        // A copy of the B-tree (a state snapshot's) shares its cases: a change to one case, or an
        // eviction, copies that case first, and the copy keeps what it had.
        let copy = table.clone();
        table[5].weight += 1;
        let evicted = table.evict(6).expect("in memory");
        assert_eq!(evicted, cases[6]);
        assert_eq!(now(&copy), before(&[]), "the copy is as it was");
        assert_eq!(table[5].weight, cases[5].weight + 1);
        assert_eq!(copy[5], cases[5]);
        let (Table::Sparse(a), Table::Sparse(b)) = (&table.table, &copy.table) else {
            panic!("both are B-trees")
        };
        for (ci, c) in a {
            assert_eq!(
                Arc::ptr_eq(c, &b[ci]),
                *ci != 5,
                "case {ci} shared unless changed"
            );
        }
    }
}
