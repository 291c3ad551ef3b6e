//! The Merkle tree of the log in bounded memory (issue 10): a server's [`TiledTree`] keeps only the
//! nodes of height 8 and above (one hash per 256 leaves, plus about as many above them: about
//! `n / 128` hashes, 2.5 MB at 10M entries), the leaves of the current partial level-0 tile and a
//! few recent full level-0 tiles. Every node of height below 8 of an older tile is computed from
//! that tile's 256 leaf hashes, which the caller reads (the store: from the `hash` column, one
//! range query per tile) and hands in as [`LeafTile`]s.
//!
//! So every function that may need an older tile comes in two parts: `missing_for_*` says which
//! level-0 tiles (by index) the answer needs that the tree does not hold, and the function itself
//! takes those tiles and fails with [`TreeError::MissingTile`] if one is still missing. A tile
//! handed in is checked against the height-8 hash the tree holds for it, so a hash altered in the
//! database is refused ([`TreeError::TileMismatch`]) instead of turning into a proof that does not
//! verify. The output is that of the RFC 9162 algorithms on the whole tree ([`MerkleTree`]
//! computes the same answers with every node in memory; the tests compare the two).
//!
//! [`MerkleTree`]: crate::merkle::MerkleTree

use std::collections::VecDeque;
use std::fmt;

use crate::ids::Digest32;
use crate::merkle::{empty_root, leaf_hash, node_hash};
use crate::tiles::TILE_WIDTH;

/// Appends to a level of the tree's upper nodes, which live as long as the server and grow with
/// the log: by a 32nd at a time rather than by doubling, so that a level holds at most about 3%
/// more room than hashes (doubling left up to half of the largest level empty: 1.35 MB at 10M
/// entries, from the first entry appended after a start). Copying a level each 3% of growth costs
/// about 32 copies of it over its life.
fn push_held(level: &mut Vec<Digest32>, h: Digest32) {
    if level.len() == level.capacity() {
        level.reserve_exact(level.len() / 32 + 64);
    }
    level.push(h);
}

/// Heights below this are computed from a level-0 tile's leaves; from it up, held in memory.
const TILE_HEIGHT: u32 = 8;

/// How many full level-0 tiles a tree keeps beside the partial one by default: enough for the
/// proofs of a batch of filings just appended (a batch of 512 filings and their draws spans
/// about 4 tiles) to come from memory. 16 tiles with their inner nodes are about 256 KB.
pub const RECENT_TILES: usize = 16;

/// Why a [`TiledTree`] could not answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeError {
    /// The sizes or indexes asked for are not in the tree (or not in the order the RFC needs).
    OutOfRange,
    /// The answer needs the leaves of this level-0 tile, which were not handed in.
    MissingTile(u64),
    /// The leaves handed in for this level-0 tile are not the ones the tree was built from: their
    /// Merkle hash is not the tree's height-8 hash for the tile (or the tile is not full).
    TileMismatch(u64),
}

impl fmt::Display for TreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TreeError::OutOfRange => write!(f, "the tree does not hold that size or index"),
            TreeError::MissingTile(t) => write!(
                f,
                "the answer needs the leaf hashes of entries {}..{}, which were not given",
                t * TILE_WIDTH,
                (t + 1) * TILE_WIDTH
            ),
            TreeError::TileMismatch(t) => write!(
                f,
                "the stored hashes of entries {}..{} do not hash to the tree's hash of their tile",
                t * TILE_WIDTH,
                (t + 1) * TILE_WIDTH
            ),
        }
    }
}

/// One level-0 tile with its inner nodes: `levels[h]` holds the hashes of height `h` (0: the leaf
/// hashes, up to 8: the tile's own hash once it is full) of the tile's perfect subtrees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafTile {
    index: u64,
    levels: Vec<Vec<Digest32>>,
}

impl LeafTile {
    /// An empty tile with index `index` (its leaves are entries `index*256 ..`).
    pub fn new(index: u64) -> LeafTile {
        LeafTile {
            index,
            levels: vec![Vec::new()],
        }
    }

    /// The tile `index` holding the leaves of the given entry hashes (at most 256; a full tile has
    /// 256): the leaf hash of an entry is `SHA-256(0x00 || entry hash)`. `None` if more than 256.
    pub fn from_entry_hashes(index: u64, entry_hashes: &[Digest32]) -> Option<LeafTile> {
        if entry_hashes.len() as u64 > TILE_WIDTH {
            return None;
        }
        let mut t = LeafTile::new(index);
        for h in entry_hashes {
            t.push_leaf(leaf_hash(&h.0));
        }
        Some(t)
    }

    /// The tile `index` holding the given leaf hashes (those a level-0 tlog tile serves; at most
    /// 256, a full tile has 256), with its inner nodes computed. `None` if more than 256.
    pub fn from_leaf_hashes(index: u64, leaf_hashes: &[Digest32]) -> Option<LeafTile> {
        if leaf_hashes.len() as u64 > TILE_WIDTH {
            return None;
        }
        let mut t = LeafTile::new(index);
        for h in leaf_hashes {
            t.push_leaf(*h);
        }
        Some(t)
    }

    fn push_leaf(&mut self, leaf: Digest32) {
        self.levels[0].push(leaf);
        let mut h = 0;
        while self.levels[h].len().is_multiple_of(2) {
            let l = &self.levels[h];
            let parent = node_hash(&l[l.len() - 2], &l[l.len() - 1]);
            if self.levels.len() == h + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[h + 1].push(parent);
            h += 1;
        }
    }

    /// The tile's index.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// How many leaves it holds.
    pub fn width(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// The leaf hashes (the hashes a level-0 tlog tile serves).
    pub fn leaf_hashes(&self) -> &[Digest32] {
        &self.levels[0]
    }

    /// The tile's Merkle hash (the node of height 8 above it), once it holds 256 leaves.
    pub fn hash(&self) -> Option<Digest32> {
        self.levels
            .get(TILE_HEIGHT as usize)
            .and_then(|l| l.first())
            .copied()
    }

    /// The node of height `h < 8` numbered `local` within the tile.
    fn node(&self, h: u32, local: u64) -> Option<Digest32> {
        self.levels.get(h as usize)?.get(local as usize).copied()
    }
}

/// Where a lookup finds the leaves of tiles the tree does not hold: in the tiles handed in, or
/// nowhere, recording which ones were wanted.
enum Src<'a> {
    Given(&'a [LeafTile]),
    Record(Vec<u64>),
}

/// The log's Merkle tree in bounded memory: see the module documentation.
#[derive(Clone, Debug)]
pub struct TiledTree {
    size: u64,
    /// `upper[k][i]`: the hash of the perfect subtree of height `8 + k` numbered `i`.
    upper: Vec<Vec<Digest32>>,
    /// The leaves of tile `size / 256` (fewer than 256).
    partial: LeafTile,
    /// The latest full tiles, oldest first, at most `keep` of them.
    recent: VecDeque<LeafTile>,
    keep: usize,
}

impl Default for TiledTree {
    fn default() -> Self {
        TiledTree::new()
    }
}

impl TiledTree {
    /// An empty tree keeping [`RECENT_TILES`] full tiles.
    pub fn new() -> TiledTree {
        TiledTree::keeping(RECENT_TILES)
    }

    /// An empty tree keeping the latest `keep` full level-0 tiles in memory.
    pub fn keeping(keep: usize) -> TiledTree {
        TiledTree {
            size: 0,
            upper: Vec::new(),
            partial: LeafTile::new(0),
            recent: VecDeque::new(),
            keep,
        }
    }

    /// Rebuilds a tree of `size` leaves from its height-8 hashes (`tile_hashes`, one per full
    /// level-0 tile: `size / 256` of them, as [`TiledTree::tile_hashes`] gives them) and the entry
    /// hashes of its last partial tile (`size % 256` of them). Costs one hash per 256 leaves.
    /// `Err` says which count is wrong.
    pub fn from_parts(
        size: u64,
        tile_hashes: Vec<Digest32>,
        partial_entry_hashes: &[Digest32],
        keep: usize,
    ) -> Result<TiledTree, String> {
        let full = size / TILE_WIDTH;
        if tile_hashes.len() as u64 != full {
            return Err(format!(
                "a tree of {size} leaves has {full} full tiles, not {}",
                tile_hashes.len()
            ));
        }
        if partial_entry_hashes.len() as u64 != size % TILE_WIDTH {
            return Err(format!(
                "a tree of {size} leaves has {} leaves in its partial tile, not {}",
                size % TILE_WIDTH,
                partial_entry_hashes.len()
            ));
        }
        let mut t = TiledTree::keeping(keep);
        // Each level exactly as long as it will be: `full >> k` hashes at height `8 + k`.
        t.upper = (0..u64::BITS - full.leading_zeros())
            .map(|k| Vec::with_capacity((full >> k) as usize))
            .collect();
        for h in tile_hashes {
            t.push_tile_hash(h);
        }
        t.partial = LeafTile::from_entry_hashes(full, partial_entry_hashes).expect("< 256");
        t.size = size;
        Ok(t)
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The height-8 hashes: one per full level-0 tile, in order (what a snapshot stores).
    pub fn tile_hashes(&self) -> &[Digest32] {
        self.upper.first().map_or(&[], Vec::as_slice)
    }

    /// Hashes held in memory (upper nodes, and the leaves and inner nodes of the tiles kept): the
    /// tree's footprint is about 32 bytes times this.
    pub fn hashes_held(&self) -> usize {
        let tile = |t: &LeafTile| t.levels.iter().map(Vec::len).sum::<usize>();
        self.upper.iter().map(Vec::len).sum::<usize>()
            + tile(&self.partial)
            + self.recent.iter().map(tile).sum::<usize>()
    }

    /// Appends a leaf whose data is the 32-byte `entry_hash`.
    pub fn push(&mut self, entry_hash: Digest32) {
        self.partial.push_leaf(leaf_hash(&entry_hash.0));
        self.size += 1;
        if self.partial.width() == TILE_WIDTH {
            let next = LeafTile::new(self.partial.index + 1);
            let full = std::mem::replace(&mut self.partial, next);
            self.push_tile_hash(full.hash().expect("a full tile has a hash"));
            if self.keep > 0 {
                if self.recent.len() == self.keep {
                    self.recent.pop_front();
                }
                self.recent.push_back(full);
            }
        }
    }

    fn push_tile_hash(&mut self, h: Digest32) {
        if self.upper.is_empty() {
            self.upper.push(Vec::new());
        }
        push_held(&mut self.upper[0], h);
        let mut k = 0;
        while self.upper[k].len().is_multiple_of(2) {
            let l = &self.upper[k];
            let parent = node_hash(&l[l.len() - 2], &l[l.len() - 1]);
            if self.upper.len() == k + 1 {
                self.upper.push(Vec::new());
            }
            push_held(&mut self.upper[k + 1], parent);
            k += 1;
        }
    }

    /// Hashes the upper levels have room for beyond those they hold (the tests bound it).
    #[cfg(test)]
    fn upper_slack(&self) -> usize {
        self.upper.iter().map(|l| l.capacity() - l.len()).sum()
    }

    /// The tile `t` if the tree holds it (the partial one or a recent full one).
    fn held(&self, t: u64) -> Option<&LeafTile> {
        if t == self.partial.index {
            return Some(&self.partial);
        }
        let first = self.recent.front()?.index;
        self.recent.get(t.checked_sub(first)? as usize)
    }

    /// The current partial level-0 tile (tile `size / 256`, fewer than 256 leaves): the leaves
    /// that the next full tile starts with.
    pub fn partial_tile(&self) -> &LeafTile {
        &self.partial
    }

    /// True if the leaves of level-0 tile `t` are in memory.
    pub fn holds_tile(&self, t: u64) -> bool {
        self.held(t).is_some()
    }

    /// The node of height `h` numbered `i` (its subtree lies within the first `size` leaves).
    fn node(&self, h: u32, i: u64, src: &mut Src) -> Result<Digest32, TreeError> {
        if h >= TILE_HEIGHT {
            return self
                .upper
                .get((h - TILE_HEIGHT) as usize)
                .and_then(|l| l.get(i as usize))
                .copied()
                .ok_or(TreeError::OutOfRange);
        }
        let t = (i << h) / TILE_WIDTH;
        let local = i - (t << (TILE_HEIGHT - h));
        if let Some(tile) = self.held(t) {
            return tile.node(h, local).ok_or(TreeError::OutOfRange);
        }
        match src {
            Src::Record(wanted) => {
                if !wanted.contains(&t) {
                    wanted.push(t);
                }
                Ok(Digest32([0; 32]))
            }
            Src::Given(tiles) => {
                let tile = tiles
                    .iter()
                    .find(|x| x.index == t)
                    .ok_or(TreeError::MissingTile(t))?;
                let expected = self.tile_hashes().get(t as usize);
                if tile.hash().is_none() || tile.hash().as_ref() != expected {
                    return Err(TreeError::TileMismatch(t));
                }
                tile.node(h, local).ok_or(TreeError::TileMismatch(t))
            }
        }
    }

    /// MTH of leaves `lo .. lo + n` (RFC 9162 §2.1.1), splitting into perfect subtrees.
    fn mth(&self, lo: u64, n: u64, src: &mut Src) -> Result<Digest32, TreeError> {
        if n == 0 {
            return Ok(empty_root());
        }
        if n.is_power_of_two() && lo.is_multiple_of(n) {
            let h = n.trailing_zeros();
            return self.node(h, lo >> h, src);
        }
        let k = split_point(n);
        Ok(node_hash(
            &self.mth(lo, k, src)?,
            &self.mth(lo + k, n - k, src)?,
        ))
    }

    /// The current root (always from memory).
    pub fn root(&self) -> Digest32 {
        self.mth(0, self.size, &mut Src::Given(&[]))
            .expect("the current root needs only the tiles held")
    }

    /// The level-0 tiles [`TiledTree::root_at`] needs for `size` that the tree does not hold.
    pub fn missing_for_root(&self, size: u64) -> Vec<u64> {
        self.record(|t, src| t.root_in(size, src).map(drop))
    }

    /// The root of the tree of the first `size` leaves.
    pub fn root_at(&self, size: u64, tiles: &[LeafTile]) -> Result<Digest32, TreeError> {
        self.root_in(size, &mut Src::Given(tiles))
    }

    fn root_in(&self, size: u64, src: &mut Src) -> Result<Digest32, TreeError> {
        if size > self.size {
            return Err(TreeError::OutOfRange);
        }
        self.mth(0, size, src)
    }

    fn record(&self, f: impl FnOnce(&Self, &mut Src) -> Result<(), TreeError>) -> Vec<u64> {
        let mut src = Src::Record(Vec::new());
        // Out of range: nothing to fetch; the proof itself then says so.
        let _ = f(self, &mut src);
        match src {
            Src::Record(v) => v,
            Src::Given(_) => unreachable!(),
        }
    }

    /// The level-0 tiles [`TiledTree::prove_inclusion`] needs for `(index, size)` that the tree
    /// does not hold: at most tiles `index / 256` and `(size - 1) / 256`.
    pub fn missing_for_inclusion(&self, index: u64, size: u64) -> Vec<u64> {
        self.record(|t, src| t.inclusion_in(index, size, src).map(drop))
    }

    /// RFC 9162 §2.1.3: the audit path of leaf `index` in the tree of the first `size` leaves.
    pub fn prove_inclusion(
        &self,
        index: u64,
        size: u64,
        tiles: &[LeafTile],
    ) -> Result<Vec<Digest32>, TreeError> {
        self.inclusion_in(index, size, &mut Src::Given(tiles))
    }

    fn inclusion_in(
        &self,
        index: u64,
        size: u64,
        src: &mut Src,
    ) -> Result<Vec<Digest32>, TreeError> {
        if index >= size || size > self.size {
            return Err(TreeError::OutOfRange);
        }
        let mut out = Vec::new();
        let (mut m, mut lo, mut n) = (index, 0, size);
        while n > 1 {
            let k = split_point(n);
            if m < k {
                out.push(self.mth(lo + k, n - k, src)?);
                n = k;
            } else {
                out.push(self.mth(lo, k, src)?);
                m -= k;
                lo += k;
                n -= k;
            }
        }
        out.reverse();
        Ok(out)
    }

    /// The level-0 tiles [`TiledTree::prove_consistency`] needs for `(old, new)` that the tree
    /// does not hold: at most tiles `(old - 1) / 256` and `(new - 1) / 256`.
    pub fn missing_for_consistency(&self, old: u64, new: u64) -> Vec<u64> {
        self.record(|t, src| t.consistency_in(old, new, src).map(drop))
    }

    /// RFC 9162 §2.1.4: the proof that the tree of `old` leaves is a prefix of the tree of `new`
    /// leaves, for `0 < old <= new <= size`.
    pub fn prove_consistency(
        &self,
        old: u64,
        new: u64,
        tiles: &[LeafTile],
    ) -> Result<Vec<Digest32>, TreeError> {
        self.consistency_in(old, new, &mut Src::Given(tiles))
    }

    fn consistency_in(
        &self,
        old: u64,
        new: u64,
        src: &mut Src,
    ) -> Result<Vec<Digest32>, TreeError> {
        if old == 0 || old > new || new > self.size {
            return Err(TreeError::OutOfRange);
        }
        let mut out = Vec::new();
        let (mut m, mut lo, mut n, mut whole) = (old, 0, new, true);
        while m != n {
            let k = split_point(n);
            if m <= k {
                out.push(self.mth(lo + k, n - k, src)?);
                n = k;
            } else {
                out.push(self.mth(lo, k, src)?);
                m -= k;
                lo += k;
                n -= k;
                whole = false;
            }
        }
        if !whole {
            out.push(self.mth(lo, n, src)?);
        }
        out.reverse();
        Ok(out)
    }

    /// The level-0 tiles [`TiledTree::tile`] needs for that tile that the tree does not hold (the
    /// tile itself at level 0, if it is an older one; none at higher levels).
    pub fn missing_for_tile(&self, level: u8, index: u64, width: u16) -> Vec<u64> {
        if level == 0
            && !self.holds_tile(index)
            && index
                .checked_mul(TILE_WIDTH)
                .and_then(|s| s.checked_add(u64::from(width)))
                .is_some_and(|end| end <= self.size)
        {
            vec![index]
        } else {
            vec![]
        }
    }

    /// The hashes of tlog-tiles tile `index` at tile `level`, `width` of them (SPEC §5.4): the
    /// roots of the perfect subtrees of `256^level` leaves numbered `index*256 .. index*256 +
    /// width`. Level 0 comes from the tiles held or given, higher levels from memory.
    pub fn tile(
        &self,
        level: u8,
        index: u64,
        width: u16,
        tiles: &[LeafTile],
    ) -> Result<Vec<Digest32>, TreeError> {
        let start = index.checked_mul(TILE_WIDTH).ok_or(TreeError::OutOfRange)?;
        let end = start
            .checked_add(u64::from(width))
            .ok_or(TreeError::OutOfRange)?;
        if level == 0 {
            if end > self.size {
                return Err(TreeError::OutOfRange);
            }
            let tile = match self.held(index) {
                Some(t) => t,
                None => {
                    let t = tiles
                        .iter()
                        .find(|t| t.index == index)
                        .ok_or(TreeError::MissingTile(index))?;
                    if t.hash().is_none()
                        || t.hash().as_ref() != self.tile_hashes().get(index as usize)
                    {
                        return Err(TreeError::TileMismatch(index));
                    }
                    t
                }
            };
            return Ok(tile.leaf_hashes()[..usize::from(width)].to_vec());
        }
        let row = self
            .upper
            .get(TILE_HEIGHT as usize * usize::from(level) - TILE_HEIGHT as usize)
            .ok_or(TreeError::OutOfRange)?;
        let (start, end) = (
            usize::try_from(start).map_err(|_| TreeError::OutOfRange)?,
            usize::try_from(end).map_err(|_| TreeError::OutOfRange)?,
        );
        row.get(start..end)
            .map(<[Digest32]>::to_vec)
            .ok_or(TreeError::OutOfRange)
    }
}

/// The largest power of two smaller than `n` (n >= 2).
fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::sha256;
    use crate::merkle::MerkleTree;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// More than 65,536 leaves, so nodes of height 16 and more are exercised.
    const N: u64 = 2 * 65_536 + 300;

    fn entry(i: u64) -> Digest32 {
        sha256(&[&i.to_be_bytes()])
    }

    /// The reference: the whole tree of `N` leaves, every node in memory.
    fn full() -> &'static MerkleTree {
        static T: OnceLock<MerkleTree> = OnceLock::new();
        T.get_or_init(|| {
            let mut t = MerkleTree::new();
            for i in 0..N {
                t.push(entry(i));
            }
            t
        })
    }

    /// A tiled tree of `size` leaves, built as a start from a snapshot builds it.
    fn tiled(size: u64, keep: usize) -> TiledTree {
        static ROW: OnceLock<Vec<Digest32>> = OnceLock::new();
        let row = ROW.get_or_init(|| {
            let f = full();
            (0..N / 256)
                .map(|t| crate::tiles::mth_of_hashes(&f.tile(0, t, 256).expect("tile")))
                .collect()
        });
        let tiles = size / 256;
        let tile_hashes = row[..tiles as usize].to_vec();
        let partial: Vec<Digest32> = (tiles * 256..size).map(entry).collect();
        TiledTree::from_parts(size, tile_hashes, &partial, keep).expect("parts")
    }

    fn leaf_tile(t: u64) -> LeafTile {
        let hs: Vec<Digest32> = (t * 256..(t + 1) * 256).map(entry).collect();
        LeafTile::from_entry_hashes(t, &hs).expect("256")
    }

    fn fetch(ts: &[u64]) -> Vec<LeafTile> {
        ts.iter().map(|&t| leaf_tile(t)).collect()
    }

    #[test]
    fn pushing_and_rebuilding_from_parts_give_the_full_trees_root() {
        let mut t = TiledTree::keeping(2);
        let f = full();
        for i in 0..70_000u64 {
            t.push(entry(i));
            let size = i + 1;
            if size < 600 || size % 4099 == 0 || size == 65_536 || size % 256 == 0 {
                assert_eq!(t.root(), f.root_at(size).unwrap(), "size {size}");
            }
        }
        let mut rebuilt = tiled(70_000, 2);
        assert_eq!(rebuilt.root(), t.root());
        assert_eq!(rebuilt.tile_hashes(), t.tile_hashes());
        // No more room than hashes in the upper levels: none after a rebuild, and about a 32nd
        // (with 64 a level at the least) as they grow.
        assert_eq!(rebuilt.upper_slack(), 0);
        for i in 70_000..75_000u64 {
            rebuilt.push(entry(i));
        }
        let bound = |t: &TiledTree| t.upper.iter().map(|l| l.len() / 32 + 64).sum::<usize>();
        assert!(
            rebuilt.upper_slack() <= bound(&rebuilt),
            "{}",
            rebuilt.upper_slack()
        );
        assert!(t.upper_slack() <= bound(&t), "{}", t.upper_slack());
        // Memory: the upper levels hold about 2 hashes per 256 leaves.
        assert!(
            t.hashes_held() < 70_000 / 128 + 3 * 511,
            "{}",
            t.hashes_held()
        );
    }

    #[test]
    fn a_tile_whose_hashes_were_altered_is_refused() {
        let t = tiled(5000, 0);
        let mut hs: Vec<Digest32> = (256..512).map(entry).collect();
        hs[7].0[0] ^= 1;
        let bad = LeafTile::from_entry_hashes(1, &hs).unwrap();
        assert_eq!(t.missing_for_inclusion(300, 4000), vec![15, 1]);
        assert_eq!(t.missing_for_inclusion(300, 5000), vec![1]);
        assert_eq!(
            t.prove_inclusion(300, 5000, std::slice::from_ref(&bad)),
            Err(TreeError::TileMismatch(1))
        );
        assert_eq!(t.tile(0, 1, 256, &[bad]), Err(TreeError::TileMismatch(1)));
        assert_eq!(
            t.prove_inclusion(300, 5000, &[]),
            Err(TreeError::MissingTile(1))
        );
        assert_eq!(
            t.prove_inclusion(4000, 4000, &[]),
            Err(TreeError::OutOfRange)
        );
        assert_eq!(t.prove_consistency(0, 10, &[]), Err(TreeError::OutOfRange));
        assert_eq!(t.root_at(5001, &[]), Err(TreeError::OutOfRange));
        assert!(t.missing_for_inclusion(4000, 4000).is_empty());
    }

    #[test]
    fn a_tile_from_its_leaf_hashes_is_the_tile_from_its_entry_hashes() {
        let t = leaf_tile(3);
        let again = LeafTile::from_leaf_hashes(3, t.leaf_hashes()).unwrap();
        assert_eq!(again, t);
        assert_eq!(again.hash(), Some(tiled(5000, 0).tile_hashes()[3]));
        assert!(LeafTile::from_leaf_hashes(0, &[Digest32([0; 32]); 257]).is_none());
        let mut grown = TiledTree::keeping(0);
        for i in 0..300 {
            grown.push(entry(i));
        }
        assert_eq!(grown.partial_tile().index(), 1);
        assert_eq!(
            grown.partial_tile().leaf_hashes(),
            leaf_tile(1).leaf_hashes()[..44].to_vec()
        );
    }

    #[test]
    fn fresh_proofs_need_no_tile() {
        let mut t = TiledTree::new();
        for i in 0..10_000 {
            t.push(entry(i));
        }
        let size = t.size();
        for i in size - 2048..size {
            assert!(t.missing_for_inclusion(i, size).is_empty(), "{i}");
        }
        assert!(!t.missing_for_inclusion(0, size).is_empty());
    }

    fn arb_sizes() -> impl Strategy<Value = (u64, u64, u64, u64)> {
        // (live size, size, index or old, keep), with sizes on and off tile boundaries.
        (1..=N, 0..4u8, any::<u64>(), any::<u64>(), 0..3usize).prop_map(
            |(live, shape, a, b, keep)| {
                let live = match shape {
                    0 => (live / 256).max(1) * 256,
                    _ => live,
                };
                let size = 1 + a % live;
                let size = if shape == 1 {
                    ((size / 256).max(1) * 256).min(live)
                } else {
                    size
                };
                let x = b % size;
                (live, size, x, keep as u64)
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Proofs, roots and tiles equal the whole tree's, given exactly the tiles the tree says
        /// it misses, and each of those tiles is needed.
        #[test]
        fn the_tiled_tree_answers_as_the_whole_tree((live, size, x, keep) in arb_sizes()) {
            let f = full();
            let t = tiled(live, keep as usize);
            let index = x;
            let old = x + 1;

            let miss = t.missing_for_inclusion(index, size);
            prop_assert!(miss.iter().all(|&m| m == index / 256 || m == (size - 1) / 256));
            let p = t.prove_inclusion(index, size, &fetch(&miss)).unwrap();
            prop_assert_eq!(&p, &f.prove_inclusion(index, size).unwrap());
            for m in &miss {
                let fewer: Vec<u64> = miss.iter().copied().filter(|x| x != m).collect();
                prop_assert_eq!(t.prove_inclusion(index, size, &fetch(&fewer)), Err(TreeError::MissingTile(*m)));
            }

            let miss = t.missing_for_consistency(old, size);
            prop_assert!(miss.iter().all(|&m| m == (old - 1) / 256 || m == (size - 1) / 256));
            let p = t.prove_consistency(old, size, &fetch(&miss)).unwrap();
            prop_assert_eq!(&p, &f.prove_consistency(old, size).unwrap());

            let miss = t.missing_for_root(size);
            prop_assert!(miss.iter().all(|&m| m == (size - 1) / 256));
            prop_assert_eq!(t.root_at(size, &fetch(&miss)).unwrap(), f.root_at(size).unwrap());

            // Tiles at every level for `size`, as a client of that size asks for them.
            for tile in crate::tiles::hash_tiles(size).into_iter().rev().take(6) {
                let level = tile.level.unwrap();
                let miss = t.missing_for_tile(level, tile.index, tile.width);
                let got = t.tile(level, tile.index, tile.width, &fetch(&miss)).unwrap();
                prop_assert_eq!(Some(got), f.tile(level, tile.index, tile.width));
            }
        }
    }
}
