//! Value-stable randomness for scenario generation and the baselines: ChaCha20's raw 64-bit words
//! and helpers written here, so a seed gives the same court and the same case stream whatever
//! version of `rand` a dependency pulls in.

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng as _, SeedableRng};

/// A seeded generator with exactly specified helpers.
pub struct Rng(ChaCha20Rng);

impl Rng {
    /// A generator for `seed` and a stream label (so that independent parts of a scenario do not
    /// share words).
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16].copy_from_slice(&stream.to_le_bytes());
        key[16..].copy_from_slice(b"klero-sim/rng/v1");
        Rng(ChaCha20Rng::from_seed(key))
    }

    /// The next raw word.
    pub fn u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A uniform float in `[0, 1)` from the top 53 bits of one word.
    pub fn f64(&mut self) -> f64 {
        (self.u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in `0..n` by rejection (the same rule as the core's `uniform_below`).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        let zone = (1u128 << 64) - ((1u128 << 64) % n as u128);
        loop {
            let r = self.u64();
            if (r as u128) < zone {
                return r % n;
            }
        }
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// A Poisson variate with mean `lambda` (Knuth's product method, in chunks of 30 for large means).
    pub fn poisson(&mut self, lambda: f64) -> u32 {
        let mut left = lambda;
        let mut n = 0u32;
        while left > 0.0 {
            let step = left.min(30.0);
            left -= step;
            let limit = (-step).exp();
            let mut prod = self.f64();
            while prod > limit {
                n += 1;
                prod *= self.f64();
            }
        }
        n
    }

    /// An index drawn in proportion to `weights` (all non-negative, not all zero).
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let x = self.f64() * total;
        let mut acc = 0.0;
        for (i, w) in weights.iter().enumerate() {
            acc += w;
            if x < acc {
                return i;
            }
        }
        weights
            .iter()
            .rposition(|&w| w > 0.0)
            .expect("a positive weight")
    }

    /// 32 random bytes.
    pub fn bytes32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for c in out.chunks_mut(8) {
            c.copy_from_slice(&self.u64().to_le_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_words_and_streams_differ() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(7, 1).u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::new(7, 1).u64(), Rng::new(7, 2).u64());
    }

    #[test]
    fn poisson_mean_is_close() {
        let mut r = Rng::new(1, 0);
        let n = 20_000;
        let s: u64 = (0..n).map(|_| r.poisson(42.0) as u64).sum();
        let mean = s as f64 / n as f64;
        assert!((mean - 42.0).abs() < 0.3, "{mean}");
    }
}
