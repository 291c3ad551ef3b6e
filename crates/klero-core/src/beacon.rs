//! Randomness for draws (SPEC §6).
//!
//! The built-in beacon is a reverse hash chain: the operator picks a secret `v_N`, computes
//! `v_{i-1} = H(v_i)` down to `v_0`, and publishes the anchor `v_0` in the log before any draw. Draw
//! number `r` on that chain reveals `v_r`, and anyone checks `H(v_r) = v_{r-1}`. Whoever holds the
//! secret can compute every future value, so this proves that a draw was not re-run (there is only
//! one `v_r`), not that the operator could not foresee it; the external beacon (drand, kind 2,
//! [`crate::drand`]) closes that gap without changing the seed rule.

use serde::{Deserialize, Serialize};

use crate::drand::DrandSignature;
use crate::encode::{Canonical, Dec, Decode, DecodeError, Enc};
use crate::hash::{TAG_CHAIN, TAG_SEED, sha256};
use crate::ids::Digest32;

/// `H(v) = SHA-256(TAG_CHAIN || v)`, one step down the chain.
pub fn chain_step(v: &Digest32) -> Digest32 {
    sha256(&[TAG_CHAIN, &v.0])
}

/// The public commitment to a hash chain: its anchor `v_0` and how many values it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainAnchor {
    /// `v_0`.
    pub anchor: Digest32,
    /// `N`: rounds 1..=N can be revealed.
    pub length: u64,
}

impl Canonical for ChainAnchor {
    fn encode(&self, e: &mut Enc) {
        e.digest(&self.anchor);
        e.u64(self.length);
    }
}

tag_first_enum! {
tag = "kind", remote = "BeaconReveal", serde(rename_all = "snake_case", deny_unknown_fields),
by_name = RevealByName, tagged = RevealTagged;
/// The randomness a draw used, as recorded in the draw entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BeaconReveal {
    /// Value `v_round` of the current built-in hash chain.
    HashChain {
        /// The position on the chain, from 1.
        round: u64,
        /// `v_round`.
        value: Digest32,
    },
    /// A round of the drand chain in force at the draw's trigger (SPEC §6.3).
    Drand {
        /// The drand round: the first whose time is strictly after the trigger's commit time
        /// (SPEC §6.4).
        round: u64,
        /// The round's BLS signature; the randomness is its SHA-256.
        signature: DrandSignature,
    },
}
}

impl BeaconReveal {
    /// The beacon kind byte used in the seed (SPEC §6.3).
    pub fn kind_byte(&self) -> u8 {
        match self {
            BeaconReveal::HashChain { .. } => 1,
            BeaconReveal::Drand { .. } => 2,
        }
    }
    /// The round number.
    pub fn round(&self) -> u64 {
        match self {
            BeaconReveal::HashChain { round, .. } | BeaconReveal::Drand { round, .. } => *round,
        }
    }
    /// The 32 bytes of randomness that enter the seed.
    pub fn randomness(&self) -> Digest32 {
        match self {
            BeaconReveal::HashChain { value, .. } => *value,
            BeaconReveal::Drand { signature, .. } => signature.randomness(),
        }
    }
}

impl Canonical for BeaconReveal {
    fn encode(&self, e: &mut Enc) {
        e.u8(self.kind_byte());
        match self {
            BeaconReveal::HashChain { round, value } => {
                e.u64(*round);
                e.digest(value);
            }
            BeaconReveal::Drand { round, signature } => {
                e.u64(*round);
                e.fixed(&signature.0);
            }
        }
    }
}

impl Decode for ChainAnchor {
    fn decode(d: &mut Dec<'_>) -> Result<ChainAnchor, DecodeError> {
        Ok(ChainAnchor {
            anchor: d.digest()?,
            length: d.u64()?,
        })
    }
}

impl Decode for BeaconReveal {
    fn decode(d: &mut Dec<'_>) -> Result<BeaconReveal, DecodeError> {
        let kind = d.tag("beacon kind", |b| (1..=2).contains(&b).then_some(b))?;
        let round = d.u64()?;
        Ok(if kind == 1 {
            BeaconReveal::HashChain {
                round,
                value: d.digest()?,
            }
        } else {
            BeaconReveal::Drand {
                round,
                signature: DrandSignature(d.fixed()?),
            }
        })
    }
}

/// `seed = SHA-256(TAG_SEED || trigger entry hash || kind || round || randomness)`.
pub fn seed(trigger: &Digest32, reveal: &BeaconReveal) -> Digest32 {
    sha256(&[
        TAG_SEED,
        &trigger.0,
        &[reveal.kind_byte()],
        &reveal.round().to_be_bytes(),
        &reveal.randomness().0,
    ])
}

/// Something that can reveal beacon values for draws.
pub trait BeaconSource {
    /// The value for `round` of the chain with the given anchor, or `None` if this source cannot give
    /// it (a different chain, or past its end).
    fn reveal(&mut self, anchor: &ChainAnchor, round: u64) -> Option<BeaconReveal>;
}

/// The operator's side of a hash chain: the secret and enough saved points to reveal any round
/// quickly. Memory is `32 * N / STRIDE` bytes; a reveal costs at most `STRIDE` hashes, and
/// consecutive reveals cost one hash each on average.
#[derive(Clone)]
pub struct HashChain {
    anchor: ChainAnchor,
    /// `checkpoints[k] = v_{k*STRIDE}` for every k with `k*STRIDE <= N`.
    checkpoints: Vec<Digest32>,
    secret: Digest32,
    /// Values of the segment last expanded: (first round, values ascending).
    segment: (u64, Vec<Digest32>),
}

impl std::fmt::Debug for HashChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("HashChain")
            .field("anchor", &self.anchor)
            .finish_non_exhaustive()
    }
}

const STRIDE: u64 = 1024;

impl HashChain {
    /// Builds the chain `v_N = secret, v_{i-1} = H(v_i)`. Costs `N` hashes.
    pub fn new(secret: Digest32, length: u64) -> HashChain {
        assert!(length >= 1, "a hash chain needs at least one value");
        let mut checkpoints = vec![Digest32::ZERO; (length / STRIDE + 1) as usize];
        let mut v = secret;
        let mut i = length;
        loop {
            if i.is_multiple_of(STRIDE) {
                checkpoints[(i / STRIDE) as usize] = v;
            }
            if i == 0 {
                break;
            }
            v = chain_step(&v);
            i -= 1;
        }
        let anchor = ChainAnchor {
            anchor: checkpoints[0],
            length,
        };
        HashChain {
            anchor,
            checkpoints,
            secret,
            segment: (0, Vec::new()),
        }
    }

    /// The public anchor.
    pub fn anchor(&self) -> ChainAnchor {
        self.anchor
    }

    /// `v_round`, for `0 <= round <= N`.
    pub fn value(&mut self, round: u64) -> Option<Digest32> {
        if round > self.anchor.length {
            return None;
        }
        let (first, vals) = &self.segment;
        if round >= *first && round < first + vals.len() as u64 {
            return Some(vals[(round - first) as usize]);
        }
        // Expand the segment [k*STRIDE, (k+1)*STRIDE) from the next checkpoint (or the secret).
        let k = round / STRIDE;
        let top = ((k + 1) * STRIDE).min(self.anchor.length);
        let mut v = if top == self.anchor.length {
            self.secret
        } else {
            self.checkpoints[(top / STRIDE) as usize]
        };
        let first = k * STRIDE;
        let mut vals = vec![Digest32::ZERO; (top - first + 1) as usize];
        for i in (first..=top).rev() {
            vals[(i - first) as usize] = v;
            if i > first {
                v = chain_step(&v);
            }
        }
        let out = vals[(round - first) as usize];
        self.segment = (first, vals);
        Some(out)
    }
}

impl BeaconSource for HashChain {
    fn reveal(&mut self, anchor: &ChainAnchor, round: u64) -> Option<BeaconReveal> {
        if *anchor != self.anchor || round == 0 {
            return None;
        }
        self.value(round)
            .map(|value| BeaconReveal::HashChain { round, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_revealed_value_hashes_to_the_previous_one() {
        for len in [1u64, 5, 1023, 1024, 1025, 3000] {
            let mut c = HashChain::new(Digest32([9; 32]), len);
            let mut prev = c.anchor().anchor;
            for r in 1..=len {
                let v = c.value(r).unwrap();
                assert_eq!(chain_step(&v), prev, "len {len} round {r}");
                prev = v;
            }
            assert_eq!(c.value(len).unwrap(), Digest32([9; 32]));
            assert_eq!(c.value(len + 1), None);
        }
    }

    #[test]
    fn random_access_matches_sequential_reveals() {
        let mut a = HashChain::new(Digest32([1; 32]), 5000);
        let mut b = a.clone();
        let seq: Vec<_> = (0..=5000).map(|r| a.value(r).unwrap()).collect();
        for r in [4999u64, 3, 2048, 1024, 1023, 0, 5000] {
            assert_eq!(b.value(r).unwrap(), seq[r as usize]);
        }
    }
}
