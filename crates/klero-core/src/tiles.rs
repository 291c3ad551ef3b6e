//! C2SP tlog-tiles for the log (SPEC §5.4): hash tiles, entry bundles, their paths, and the root of
//! a tree computed from its tiles. IO-free: the server, `klero export-tiles` and `klero verify
//! --tiles` do the fetching and writing.
//!
//! A tile at level `L`, index `N`, holds the hashes at tree height `8L` of the subtrees
//! `N*256 .. N*256 + W` (each subtree spans `256^L` leaves); a full tile has `W = 256`. An entry
//! bundle `N` holds entries `N*256 .. N*256 + W`, each as its export line (SPEC §8) without the
//! line feed, prefixed by its length as a big-endian `u16`.

use crate::ids::Digest32;
use crate::merkle::node_hash;

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;

/// One tile or entry bundle: its level (`None` for an entry bundle), index and width (1..=256).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tile {
    /// The tile's level (`0..=63`), or `None` for an entry bundle.
    pub level: Option<u8>,
    /// The tile's index within its level.
    pub index: u64,
    /// The number of hashes (or entries): 256 for a full tile, 1..=255 for a partial one.
    pub width: u16,
}

impl Tile {
    /// True for a full (256-wide, immutable) tile.
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The path below the log's prefix: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        let mut s = match self.level {
            Some(l) => format!("tile/{l}/"),
            None => "tile/entries/".to_owned(),
        };
        s.push_str(&index_path(self.index));
        if !self.is_full() {
            s.push_str(&format!(".p/{}", self.width));
        }
        s
    }

    /// Parses a path below `tile/` (`0/x001/234.p/5`, `entries/000`); `Err` names what is wrong.
    pub fn parse(rest: &str) -> Result<Tile, String> {
        let bad = |why: &str| Err(format!("{rest:?} is not a tile path: {why}"));
        let (head, tail) = rest.split_once('/').ok_or("no index")?;
        let level = if head == "entries" {
            None
        } else {
            match head.parse::<u8>() {
                Ok(l) if l <= 63 && head == l.to_string() => Some(l),
                _ => return bad("the level is not a decimal number from 0 to 63"),
            }
        };
        let (idx, width) = match tail.split_once(".p/") {
            Some((i, w)) => match w.parse::<u16>() {
                Ok(v) if (1..=255).contains(&v) && w == v.to_string() => (i, v),
                _ => return bad("a partial tile's width is a decimal number from 1 to 255"),
            },
            None => (tail, TILE_WIDTH as u16),
        };
        let parts: Vec<&str> = idx.split('/').collect();
        let mut index: u64 = 0;
        for (k, p) in parts.iter().enumerate() {
            let digits = if k + 1 < parts.len() {
                match p.strip_prefix('x') {
                    Some(d) => d,
                    None => return bad("every index element but the last begins with x"),
                }
            } else {
                p
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return bad("an index element is three decimal digits");
            }
            let d: u64 = digits.parse().map_err(|_| "bad digits".to_owned())?;
            index = match index.checked_mul(1000).and_then(|i| i.checked_add(d)) {
                Some(i) => i,
                None => return bad("the index is too large"),
            };
        }
        if parts.len() > 1 && parts[0] == "x000" {
            return bad("the index has a leading zero element");
        }
        Ok(Tile {
            level,
            index,
            width,
        })
    }
}

/// `N` as zero-padded 3-digit path elements, all but the last prefixed with `x`: 1234067 is
/// `x001/x234/067`.
pub fn index_path(mut n: u64) -> String {
    let mut parts = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        parts.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    parts.reverse();
    parts.join("/")
}

/// `256^level` leaves per hash at `level`, or `None` if that overflows.
fn span(level: u8) -> Option<u64> {
    1u64.checked_shl(8 * u32::from(level))
}

/// Every hash tile of the tree of `size` leaves: at each level, the full tiles and the partial
/// one (if its width is not 0), levels from 0 upwards.
pub fn hash_tiles(size: u64) -> Vec<Tile> {
    let mut out = Vec::new();
    for level in 0..=63u8 {
        let Some(sp) = span(level) else { break };
        let n = size / sp;
        if n == 0 {
            break;
        }
        out.extend(level_tiles(n).map(|(index, width)| Tile {
            level: Some(level),
            index,
            width,
        }));
    }
    out
}

/// Every entry bundle of a log of `size` entries.
pub fn bundles(size: u64) -> Vec<Tile> {
    level_tiles(size)
        .map(|(index, width)| Tile {
            level: None,
            index,
            width,
        })
        .collect()
}

/// `(index, width)` of the tiles covering `n` hashes.
fn level_tiles(n: u64) -> impl Iterator<Item = (u64, u16)> {
    let full = n / TILE_WIDTH;
    let part = (n % TILE_WIDTH) as u16;
    (0..full)
        .map(|i| (i, TILE_WIDTH as u16))
        .chain((part > 0).then_some((full, part)))
}

/// The tile at `level` whose hashes a tree of `size` leaves needs, holding hash number `k` of
/// that level (`k < size / 256^level`): full if the tree has all 256, else the partial one.
pub fn tile_for(size: u64, level: u8, k: u64) -> Tile {
    let n = span(level).map_or(0, |sp| size / sp);
    let index = k / TILE_WIDTH;
    let width = if (index + 1) * TILE_WIDTH <= n {
        TILE_WIDTH as u16
    } else {
        (n % TILE_WIDTH) as u16
    };
    Tile {
        level: Some(level),
        index,
        width,
    }
}

/// RFC 9162 MTH over a run of sibling subtree hashes (all spanning the same number of leaves):
/// the run's hashes take the place of leaf hashes. For 256 hashes of a full tile this is the hash
/// of the tile at the level above.
pub fn mth_of_hashes(hs: &[Digest32]) -> Digest32 {
    match hs.len() {
        0 => crate::merkle::empty_root(),
        1 => hs[0],
        n => {
            let k = if n.is_power_of_two() {
                n / 2
            } else {
                1 << (usize::BITS - 1 - n.leading_zeros())
            };
            node_hash(&mth_of_hashes(&hs[..k]), &mth_of_hashes(&hs[k..]))
        }
    }
}

/// The root of the tree of `size` leaves from its partial tiles: `partial(level)` gives the
/// hashes of the partial tile at `level` (width `floor(size / 256^level) mod 256`), called only for
/// levels whose width is not 0. The root folds the perfect subtrees of each partial tile, largest
/// first, from the right (RFC 9162 §2.1.1).
pub fn root_from_partials(
    size: u64,
    mut partial: impl FnMut(u8) -> Result<Vec<Digest32>, String>,
) -> Result<Digest32, String> {
    let mut peaks = Vec::new();
    let mut levels = Vec::new();
    for level in 0..=63u8 {
        match span(level) {
            Some(sp) if size / sp > 0 => levels.push(level),
            _ => break,
        }
    }
    for &level in levels.iter().rev() {
        let w = (size / span(level).unwrap_or(u64::MAX) % TILE_WIDTH) as usize;
        if w == 0 {
            continue;
        }
        let hs = partial(level)?;
        if hs.len() != w {
            return Err(format!(
                "the partial tile at level {level} holds {} hashes, not {w}",
                hs.len()
            ));
        }
        let mut at = 0;
        for bit in (0..8).rev() {
            let len = 1usize << bit;
            if w & len != 0 {
                peaks.push(mth_of_hashes(&hs[at..at + len]));
                at += len;
            }
        }
    }
    let mut it = peaks.iter().rev();
    Ok(match it.next() {
        None => crate::merkle::empty_root(),
        Some(first) => it.fold(*first, |acc, left| node_hash(left, &acc)),
    })
}

/// The bytes of a hash tile: its hashes concatenated.
pub fn encode_hashes(hs: &[Digest32]) -> Vec<u8> {
    hs.iter().flat_map(|h| h.0).collect()
}

/// Reads a hash tile of `width` hashes; `Err` if its length is not `32 * width`.
pub fn decode_hashes(bytes: &[u8], width: u16) -> Result<Vec<Digest32>, String> {
    if bytes.len() != 32 * usize::from(width) {
        return Err(format!(
            "a tile of {width} hashes is {} bytes, not {}",
            32 * usize::from(width),
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|c| Digest32(c.try_into().expect("32 bytes")))
        .collect())
}

/// The bytes of an entry bundle: each line (an export line without its line feed) prefixed with
/// its length as a big-endian `u16`. `Err` names the first line longer than 65,535 bytes.
pub fn encode_bundle<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for (k, l) in lines.into_iter().enumerate() {
        let n = u16::try_from(l.len()).map_err(|_| {
            format!(
                "entry {k} of the bundle is {} bytes long; an entry bundle holds at most 65,535",
                l.len()
            )
        })?;
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(l);
    }
    Ok(out)
}

/// Splits an entry bundle into its `width` items; `Err` if it holds another number of items or
/// bytes trail.
pub fn decode_bundle(bytes: &[u8], width: u16) -> Result<Vec<&[u8]>, String> {
    let mut out = Vec::with_capacity(usize::from(width));
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.len() < 2 {
            return Err("the bundle ends inside a length prefix".into());
        }
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        if rest.len() < 2 + n {
            return Err(format!(
                "item {} of the bundle claims {n} bytes but only {} remain",
                out.len(),
                rest.len() - 2
            ));
        }
        out.push(&rest[2..2 + n]);
        rest = &rest[2 + n..];
    }
    if out.len() != usize::from(width) {
        return Err(format!(
            "the bundle holds {} entries, not {width}",
            out.len()
        ));
    }
    Ok(out)
}

/// The tiles of a growing tree, kept as a reader appends leaves (a monitor following tiles): at
/// each level the hashes of its current partial tile, so that the root, the hashes a newer tree's
/// tiles must start with (consistency), and every tile completed since a given size can be
/// computed without the whole tree. Memory: at most 255 hashes a level.
#[derive(Clone, Debug, Default)]
pub struct TileFrontier {
    size: u64,
    /// `rows[L]`: the hashes of the partial tile at level `L` (fewer than 256).
    rows: Vec<Vec<Digest32>>,
}

impl TileFrontier {
    /// The frontier of the empty tree.
    pub fn new() -> TileFrontier {
        TileFrontier::default()
    }

    /// Number of leaves appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends the leaf of an entry whose hash is `entry_hash`; returns each tile of level 1 or
    /// more that this leaf completed (level, index and its 256 hashes), lowest level first. (A
    /// level-0 tile holds the leaf hashes themselves, which a reader compares one by one.)
    pub fn push(&mut self, entry_hash: &Digest32) -> Vec<(u8, u64, Vec<Digest32>)> {
        let mut done = Vec::new();
        let mut h = crate::merkle::leaf_hash(&entry_hash.0);
        self.size += 1;
        let mut level = 0usize;
        loop {
            if self.rows.len() == level {
                self.rows.push(Vec::with_capacity(TILE_WIDTH as usize));
            }
            self.rows[level].push(h);
            if self.rows[level].len() < TILE_WIDTH as usize {
                break;
            }
            let full = std::mem::take(&mut self.rows[level]);
            h = mth_of_hashes(&full);
            if level > 0 {
                let index = (self.size >> (8 * level)) / TILE_WIDTH - 1;
                done.push((level as u8, index, full));
            }
            level += 1;
        }
        done
    }

    /// The hashes of the partial tile at `level` (empty when that level's width is 0).
    pub fn partial(&self, level: u8) -> &[Digest32] {
        self.rows.get(usize::from(level)).map_or(&[], Vec::as_slice)
    }

    /// The tree's root (RFC 9162 MTH over the leaves appended).
    pub fn root(&self) -> Digest32 {
        root_from_partials(self.size, |l| Ok(self.partial(l).to_vec()))
            .expect("the frontier holds every partial tile")
    }

    /// For a newer tree of `new_size >= self.size()` leaves: the tiles of that tree that hold the
    /// hashes of this tree's partial tiles, each with the hashes it must start with. A newer tree
    /// extends this one exactly when each of those tiles starts with these hashes (a different
    /// history changes the hash of some perfect subtree that this tree's root folds, SPEC §5.4
    /// step 4).
    pub fn consistency_tiles(&self, new_size: u64) -> Vec<(Tile, &[Digest32])> {
        let mut out = Vec::new();
        for (level, row) in self.rows.iter().enumerate() {
            if row.is_empty() {
                continue;
            }
            let level = level as u8;
            let k = (self.size >> (8 * u32::from(level))) - 1;
            out.push((tile_for(new_size, level, k), row.as_slice()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{CompactRange, MerkleTree, leaf_hash};

    #[test]
    fn paths_follow_the_spec() {
        assert_eq!(index_path(1234067), "x001/x234/067");
        assert_eq!(index_path(0), "000");
        assert_eq!(index_path(1000), "x001/000");
        let t = Tile {
            level: Some(1),
            index: 1234067,
            width: 17,
        };
        assert_eq!(t.path(), "tile/1/x001/x234/067.p/17");
        assert_eq!(Tile::parse("1/x001/x234/067.p/17"), Ok(t));
        let b = Tile {
            level: None,
            index: 5,
            width: 256,
        };
        assert_eq!(b.path(), "tile/entries/005");
        assert_eq!(Tile::parse("entries/005"), Ok(b));
        for bad in [
            "01/000",
            "64/000",
            "0/1",
            "0/001/002",
            "0/x000/001",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/07",
            "0",
        ] {
            assert!(Tile::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_spec_example_of_70000() {
        let t = hash_tiles(70_000);
        let l0: Vec<_> = t.iter().filter(|t| t.level == Some(0)).collect();
        assert_eq!(l0.len(), 274);
        assert_eq!(l0.last().map(|t| t.width), Some(112));
        let l1: Vec<_> = t.iter().filter(|t| t.level == Some(1)).collect();
        assert_eq!(
            l1.iter().map(|t| t.width).collect::<Vec<_>>(),
            vec![256, 17]
        );
        let l2: Vec<_> = t.iter().filter(|t| t.level == Some(2)).collect();
        assert_eq!(l2.iter().map(|t| t.width).collect::<Vec<_>>(), vec![1]);
        assert_eq!(hash_tiles(256).len(), 2);
        assert!(hash_tiles(0).is_empty());
    }

    /// The root from tiles equals the tree's root at every size, and each full tile's MTH is the
    /// hash one level up.
    #[test]
    fn root_from_tiles_is_the_tree_root() {
        let mut tree = MerkleTree::new();
        let mut cr = CompactRange::new();
        for i in 0u32..(256 * 256 + 300) {
            let h = crate::hash::sha256(&[&i.to_be_bytes()]);
            tree.push(h);
            cr.push(&h.0);
            let size = u64::from(i) + 1;
            if size < 2000 || size % 997 == 0 || size == 65536 || size == 65536 + 300 {
                let got = root_from_partials(size, |level| {
                    let t = tile_for(size, level, (size >> (8 * level)) - 1);
                    Ok(tree.tile(level, t.index, t.width).expect("tile"))
                })
                .expect("root");
                assert_eq!(got, cr.root(), "size {size}");
            }
        }
        let l0 = tree.tile(0, 3, 256).expect("tile");
        assert_eq!(
            l0[0],
            leaf_hash(&crate::hash::sha256(&[&768u32.to_be_bytes()]).0)
        );
        let l1 = tree.tile(1, 0, 256).expect("tile");
        assert_eq!(mth_of_hashes(&l0), l1[3]);
        assert!(tree.tile(2, 0, 2).is_none());
    }

    /// The frontier gives the tree's root at every size, the tiles the full tree holds, and the
    /// hashes a larger tree's tiles start with.
    #[test]
    fn the_frontier_follows_the_tree() {
        let mut tree = MerkleTree::new();
        let mut f = TileFrontier::new();
        let mut completed = Vec::new();
        for i in 0u32..(256 * 256 + 700) {
            let h = crate::hash::sha256(&[&i.to_be_bytes()]);
            tree.push(h);
            completed.extend(f.push(&h));
            let size = u64::from(i) + 1;
            if size < 600 || size % 1009 == 0 || size == 65536 {
                assert_eq!(f.root(), tree.root(), "size {size}");
                for (t, hs) in f.consistency_tiles(size + 300) {
                    assert!(t.width as usize >= hs.len());
                    let full = tree.tile(t.level.unwrap(), t.index, hs.len() as u16);
                    assert_eq!(full.as_deref(), Some(hs), "{t:?} at {size}");
                }
            }
        }
        assert_eq!(completed.len(), 1);
        let (level, index, hs) = &completed[0];
        assert_eq!((*level, *index), (1, 0));
        assert_eq!(tree.tile(1, 0, 256).as_deref(), Some(&hs[..]));
        assert_eq!(f.partial(2).len(), 1);
        assert_eq!(f.partial(1).len(), 2);
    }

    #[test]
    fn bundles_round_trip_and_refuse_bad_framing() {
        let b = encode_bundle([&b"ab"[..], &b""[..], &b"xyz"[..]]).expect("encode");
        assert_eq!(b, b"\x00\x02ab\x00\x00\x00\x03xyz");
        assert_eq!(
            decode_bundle(&b, 3).expect("decode"),
            vec![&b"ab"[..], b"", b"xyz"]
        );
        assert!(decode_bundle(&b, 2).is_err());
        assert!(decode_bundle(&b[..b.len() - 1], 3).is_err());
        assert!(encode_bundle([&vec![0u8; 65536][..]]).is_err());
        assert!(decode_hashes(&[0; 64], 3).is_err());
    }
}
