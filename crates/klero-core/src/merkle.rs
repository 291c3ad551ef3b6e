//! The RFC 9162 Merkle tree over the log (SPEC §5). A leaf's data is the 32-byte entry hash.
//!
//! [`CompactRange`] computes the root incrementally in O(log n) memory, which is all a verifier
//! needs; [`MerkleTree`] keeps every node (through `ct-merkle`) so a server can prove inclusion and
//! consistency. Proofs are lists of digests in the RFC's order, and are checked with
//! [`verify_inclusion`] and [`verify_consistency`].

use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use sha2::Sha256;

use crate::hash::sha256;
use crate::ids::Digest32;

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Digest32 {
    if let Ok(d) = <&[u8; 32]>::try_from(data) {
        // An entry hash, the only leaf of the log: one message, without buffering its parts.
        let mut m = [0u8; 33];
        m[1..].copy_from_slice(d);
        return Digest32(<Sha256 as sha2::Digest>::digest(m).into());
    }
    sha256(&[&[0u8], data])
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(l: &Digest32, r: &Digest32) -> Digest32 {
    let mut m = [1u8; 65];
    m[1..33].copy_from_slice(&l.0);
    m[33..].copy_from_slice(&r.0);
    Digest32(<Sha256 as sha2::Digest>::digest(m).into())
}

/// The root of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Digest32 {
    sha256(&[])
}

/// The roots of the perfect subtrees covering the leaves so far, largest first.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct CompactRange {
    size: u64,
    peaks: Vec<Digest32>,
    /// The root of the last 256 leaves, as of the last size that was a multiple of 256: a node
    /// [`CompactRange::push_leaf`] computes anyway and then merges into a larger one. Not part of
    /// the range's serialized form (a range read back has none until it completes 256 leaves).
    #[serde(skip)]
    tile: Option<Digest32>,
}

impl CompactRange {
    /// An empty range.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf whose data is `data` (for the log: the entry hash).
    pub fn push(&mut self, data: &[u8]) {
        self.push_leaf(leaf_hash(data));
    }

    /// Appends a leaf given its leaf hash ([`leaf_hash`] of its data), for a caller that computed
    /// it already.
    pub fn push_leaf(&mut self, leaf: Digest32) {
        let mut h = leaf;
        let mut n = self.size;
        let mut height = 0;
        while n & 1 == 1 {
            let left = self.peaks.pop().expect("a peak for every set bit");
            h = node_hash(&left, &h);
            n >>= 1;
            height += 1;
            if height == 8 {
                self.tile = Some(h);
            }
        }
        self.peaks.push(h);
        self.size += 1;
    }

    /// The Merkle tree hash of leaves `size - 256 .. size`, when the size is a positive multiple
    /// of 256: the hash a level-1 tile holds for the level-0 tile just completed (C2SP
    /// tlog-tiles), which a reader of tiles checks without hashing those leaves again.
    pub fn last_tile(&self) -> Option<Digest32> {
        self.tile.filter(|_| self.size.is_multiple_of(256))
    }

    /// The Merkle tree hash of all leaves appended so far.
    pub fn root(&self) -> Digest32 {
        let mut it = self.peaks.iter().rev();
        match it.next() {
            None => empty_root(),
            Some(first) => it.fold(*first, |acc, left| node_hash(left, &acc)),
        }
    }
}

/// A leaf as ct-merkle (which verifies proofs) sees it: the entry hash.
#[derive(Clone, Copy, Debug)]
struct Leaf([u8; 32]);

impl ct_merkle::HashableLeaf for Leaf {
    fn hash<H: ct_merkle::digest::Update>(&self, hasher: &mut H) {
        hasher.update(&self.0);
    }
}

/// A whole tree kept in memory, able to prove inclusion and consistency at any earlier size.
///
/// `levels[k][i]` is the hash of the perfect subtree over leaves `i*2^k .. (i+1)*2^k`; any subtree
/// the RFC's algorithms need is either one of those or split into them, so a proof costs
/// O(log² n) hashes and memory is about 64 bytes a leaf.
#[derive(Clone, Debug, Default)]
pub struct MerkleTree {
    levels: Vec<Vec<Digest32>>,
}

impl MerkleTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf whose data is the 32-byte `entry_hash`.
    pub fn push(&mut self, entry_hash: Digest32) {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf_hash(&entry_hash.0));
        let mut k = 0;
        while self.levels[k].len().is_multiple_of(2) {
            let l = &self.levels[k];
            let parent = node_hash(&l[l.len() - 2], &l[l.len() - 1]);
            if self.levels.len() == k + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[k + 1].push(parent);
            k += 1;
        }
    }

    /// The hashes of tile `index` at tile `level` (SPEC §5.4), `width` of them: the roots of the
    /// perfect subtrees of `256^level` leaves numbered `index*256 .. index*256 + width`; `None` if
    /// the tree does not hold them all yet.
    pub fn tile(&self, level: u8, index: u64, width: u16) -> Option<Vec<Digest32>> {
        let row = self.levels.get(8 * usize::from(level))?;
        let start = usize::try_from(index.checked_mul(256)?).ok()?;
        let end = start.checked_add(usize::from(width))?;
        row.get(start..end).map(<[Digest32]>::to_vec)
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The current root.
    pub fn root(&self) -> Digest32 {
        self.mth(0, self.size())
    }

    /// The root of the tree of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Option<Digest32> {
        (size <= self.size()).then(|| self.mth(0, size))
    }

    /// MTH of leaves `lo .. lo + n`.
    fn mth(&self, lo: u64, n: u64) -> Digest32 {
        if n == 0 {
            return empty_root();
        }
        if n.is_power_of_two() && lo.is_multiple_of(n) {
            return self.levels[n.trailing_zeros() as usize][(lo / n) as usize];
        }
        let k = split_point(n);
        node_hash(&self.mth(lo, k), &self.mth(lo + k, n - k))
    }

    /// RFC 9162 §2.1.3: the audit path of leaf `index` in the tree of the first `size` leaves.
    pub fn prove_inclusion(&self, index: u64, size: u64) -> Option<Vec<Digest32>> {
        if index >= size || size > self.size() {
            return None;
        }
        let mut out = Vec::new();
        self.path(index, 0, size, &mut out);
        Some(out)
    }

    fn path(&self, m: u64, lo: u64, n: u64, out: &mut Vec<Digest32>) {
        if n <= 1 {
            return;
        }
        let k = split_point(n);
        if m < k {
            self.path(m, lo, k, out);
            out.push(self.mth(lo + k, n - k));
        } else {
            self.path(m - k, lo + k, n - k, out);
            out.push(self.mth(lo, k));
        }
    }

    /// RFC 9162 §2.1.4: the proof that the tree of `old` leaves is a prefix of the tree of `new`
    /// leaves, for `0 < old <= new <= size`.
    pub fn prove_consistency(&self, old: u64, new: u64) -> Option<Vec<Digest32>> {
        if old == 0 || old > new || new > self.size() {
            return None;
        }
        let mut out = Vec::new();
        self.subproof(old, 0, new, true, &mut out);
        Some(out)
    }

    fn subproof(&self, m: u64, lo: u64, n: u64, whole: bool, out: &mut Vec<Digest32>) {
        if m == n {
            if !whole {
                out.push(self.mth(lo, n));
            }
            return;
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, lo, k, whole, out);
            out.push(self.mth(lo + k, n - k));
        } else {
            self.subproof(m - k, lo + k, n - k, false, out);
            out.push(self.mth(lo, k));
        }
    }
}

/// The largest power of two smaller than `n` (n >= 2).
fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

fn join(proof: &[Digest32]) -> Vec<u8> {
    proof.iter().flat_map(|d| d.0).collect()
}

fn root_hash(root: &Digest32, size: u64) -> RootHash<Sha256> {
    RootHash::new(root.0.into(), size)
}

/// Checks that the leaf with data `entry_hash` is at `index` in the tree of `size` leaves with root
/// `root`.
pub fn verify_inclusion(
    root: &Digest32,
    size: u64,
    index: u64,
    entry_hash: &Digest32,
    proof: &[Digest32],
) -> bool {
    let proof = InclusionProof::<Sha256>::from_bytes(join(proof));
    root_hash(root, size)
        .verify_inclusion(&Leaf(entry_hash.0), index, &proof)
        .is_ok()
}

/// Checks that the tree (`old_size`, `old_root`) is a prefix of the tree (`new_size`, `new_root`).
pub fn verify_consistency(
    old_size: u64,
    old_root: &Digest32,
    new_size: u64,
    new_root: &Digest32,
    proof: &[Digest32],
) -> bool {
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    let Ok(proof) = ConsistencyProof::<Sha256>::try_from_bytes(join(proof)) else {
        return false;
    };
    root_hash(new_root, new_size)
        .verify_consistency(&root_hash(old_root, old_size), &proof)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(n: u64) -> Vec<Digest32> {
        (0..n).map(|i| sha256(&[&i.to_be_bytes()])).collect()
    }

    #[test]
    fn compact_range_agrees_with_the_full_tree_at_every_size() {
        let mut c = CompactRange::new();
        let mut t = MerkleTree::new();
        assert_eq!(c.root(), t.root());
        for h in hashes(70) {
            c.push(&h.0);
            t.push(h);
            assert_eq!(c.root(), t.root(), "size {}", t.size());
        }
    }

    /// The root of each run of 256 leaves, as a level-1 tile holds it, is there exactly when the
    /// size is a multiple of 256; a range read back has none until it completes the next run.
    #[test]
    fn the_last_tile_is_the_root_of_the_last_256_leaves() {
        let hs = hashes(3 * 256 + 5);
        let mut c = CompactRange::new();
        assert_eq!(c.last_tile(), None);
        for (i, h) in hs.iter().enumerate() {
            c.push(&h.0);
            let size = i + 1;
            let want = size
                .is_multiple_of(256)
                .then(|| crate::tiles::mth_of_hashes(&leaves(&hs[size - 256..size])));
            assert_eq!(c.last_tile(), want, "size {size}");
        }
        let mut back: CompactRange =
            serde_json::from_str(&serde_json::to_string(&c).expect("serializes")).expect("reads");
        assert_eq!(back.root(), c.root());
        for h in &hs[..256 - 5] {
            back.push(&h.0);
        }
        assert_eq!(back.size(), 4 * 256);
        let run: Vec<Digest32> = hs[3 * 256..]
            .iter()
            .chain(&hs[..256 - 5])
            .copied()
            .collect();
        assert_eq!(
            back.last_tile(),
            Some(crate::tiles::mth_of_hashes(&leaves(&run)))
        );
    }

    fn leaves(hs: &[Digest32]) -> Vec<Digest32> {
        hs.iter().map(|h| leaf_hash(&h.0)).collect()
    }

    #[test]
    fn every_inclusion_and_consistency_proof_at_every_size_verifies() {
        let hs = hashes(21);
        let mut t = MerkleTree::new();
        let mut roots = vec![empty_root()];
        for h in &hs {
            t.push(*h);
            roots.push(t.root());
        }
        for size in 1..=21u64 {
            assert_eq!(t.root_at(size), Some(roots[size as usize]));
            for i in 0..size {
                let p = t.prove_inclusion(i, size).unwrap();
                assert!(
                    verify_inclusion(&roots[size as usize], size, i, &hs[i as usize], &p),
                    "{i}/{size}"
                );
                let wrong = &hs[(i as usize + 1) % 21];
                assert!(!verify_inclusion(&roots[size as usize], size, i, wrong, &p));
            }
            for old in 1..=size {
                let p = t.prove_consistency(old, size).unwrap();
                assert!(
                    verify_consistency(old, &roots[old as usize], size, &roots[size as usize], &p),
                    "{old}->{size}"
                );
                if old < size {
                    let bad = roots[(old as usize % 3) + 1];
                    if bad != roots[old as usize] {
                        assert!(!verify_consistency(
                            old,
                            &bad,
                            size,
                            &roots[size as usize],
                            &p
                        ));
                    }
                }
            }
        }
        assert_eq!(t.prove_inclusion(21, 21), None);
        assert_eq!(t.prove_consistency(0, 5), None);
        assert_eq!(t.prove_consistency(6, 5), None);
    }
}
