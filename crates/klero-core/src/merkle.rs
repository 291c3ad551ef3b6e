//! The RFC 9162 Merkle tree over the log (SPEC §5). A leaf's data is the 32-byte entry hash.
//!
//! [`CompactRange`] computes the root incrementally in O(log n) memory, which is all a verifier
//! needs; [`MerkleTree`] keeps every node (through `ct-merkle`) so a server can prove inclusion and
//! consistency. Proofs are lists of digests in the RFC's order, and are checked with
//! [`verify_inclusion`] and [`verify_consistency`].

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use sha2::Sha256;

use crate::hash::sha256;
use crate::ids::Digest32;

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Digest32 {
    sha256(&[&[0u8], data])
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(l: &Digest32, r: &Digest32) -> Digest32 {
    sha256(&[&[1u8], &l.0, &r.0])
}

/// The root of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Digest32 {
    sha256(&[])
}

/// The roots of the perfect subtrees covering the leaves so far, largest first.
#[derive(Clone, Debug, Default)]
pub struct CompactRange {
    size: u64,
    peaks: Vec<Digest32>,
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
        let mut h = leaf_hash(data);
        let mut n = self.size;
        while n & 1 == 1 {
            let left = self.peaks.pop().expect("a peak for every set bit");
            h = node_hash(&left, &h);
            n >>= 1;
        }
        self.peaks.push(h);
        self.size += 1;
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

/// A leaf as ct-merkle sees it: the entry hash.
#[derive(Clone, Copy, Debug)]
struct Leaf([u8; 32]);

impl ct_merkle::HashableLeaf for Leaf {
    fn hash<H: ct_merkle::digest::Update>(&self, hasher: &mut H) {
        hasher.update(&self.0);
    }
}

/// A whole tree kept in memory, able to prove inclusion and consistency.
#[derive(Clone, Debug)]
pub struct MerkleTree {
    inner: MemoryBackedTree<Sha256, Leaf>,
}

impl Default for MerkleTree {
    fn default() -> Self {
        MerkleTree {
            inner: MemoryBackedTree::new(),
        }
    }
}

impl MerkleTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf whose data is the 32-byte `entry_hash`.
    pub fn push(&mut self, entry_hash: Digest32) {
        self.inner.push(Leaf(entry_hash.0));
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.inner.len()
    }

    /// The current root.
    pub fn root(&self) -> Digest32 {
        if self.inner.is_empty() {
            return empty_root();
        }
        Digest32((*self.inner.root().as_bytes()).into())
    }

    /// The audit path of leaf `index` in the current tree, or `None` if out of range.
    pub fn prove_inclusion(&self, index: u64) -> Option<Vec<Digest32>> {
        if index >= self.size() {
            return None;
        }
        Some(split(self.inner.prove_inclusion(index as usize).as_bytes()))
    }

    /// The proof that the tree of `old_size` leaves is a prefix of the current tree, or `None`
    /// unless `0 < old_size <= size`.
    pub fn prove_consistency(&self, old_size: u64) -> Option<Vec<Digest32>> {
        if old_size == 0 || old_size > self.size() {
            return None;
        }
        let adds = (self.size() - old_size) as usize;
        Some(split(self.inner.prove_consistency(adds).as_bytes()))
    }
}

fn split(bytes: &[u8]) -> Vec<Digest32> {
    bytes
        .chunks_exact(32)
        .map(|c| Digest32(c.try_into().expect("32-byte chunk")))
        .collect()
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

    #[test]
    fn every_inclusion_and_consistency_proof_verifies_and_a_wrong_leaf_does_not() {
        let hs = hashes(21);
        let mut t = MerkleTree::new();
        let mut roots = vec![];
        for h in &hs {
            t.push(*h);
            roots.push(t.root());
        }
        let (root, size) = (t.root(), t.size());
        for i in 0..size {
            let p = t.prove_inclusion(i).unwrap();
            assert!(verify_inclusion(&root, size, i, &hs[i as usize], &p));
            assert!(!verify_inclusion(
                &root,
                size,
                i,
                &hs[(i as usize + 1) % 21],
                &p
            ));
        }
        for old in 1..=size {
            let p = t.prove_consistency(old).unwrap();
            assert!(
                verify_consistency(old, &roots[old as usize - 1], size, &root, &p),
                "{old}"
            );
            if old < size {
                assert!(!verify_consistency(
                    old,
                    &roots[0 + (old as usize) % 3],
                    size,
                    &hs[0],
                    &p
                ));
            }
        }
    }
}
