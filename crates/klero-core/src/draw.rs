//! The draw's arithmetic (SPEC §7.4–7.6): integer weights from loads, and sampling from ChaCha20's
//! raw 64-bit words with an exact rejection rule. Nothing here uses `rand`'s distributions, whose
//! values change between versions.

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use crate::ids::Digest32;
use crate::policy::Policy;

/// Normalized-load scale: loads are kept in thousandths of a case-weight unit at a full share.
pub const LOAD_SCALE: u64 = 1000;

/// The normalized load of a judge whose intake in the window sums to `intake` weight units, at a
/// share of `share_permille`: `floor(intake * 1000 * 1000 / share_permille)`.
pub fn normalized_load(intake: u64, share_permille: u32) -> u64 {
    intake * LOAD_SCALE * 1000 / share_permille.max(1) as u64
}

/// One candidate as the weight rule sees it.
#[derive(Clone, Copy, Debug)]
pub struct LoadInput {
    /// Normalized load (SPEC §7.4).
    pub load: u64,
    /// Share in thousandths.
    pub share_permille: u32,
}

/// Catch-up credit (SPEC §7.4): the intake, in case-weight units, to add to each candidate so that
/// none counts as more than `limit` units below the pool's mean. With `mean = floor(sum(load) / n)`
/// and `floor = mean - limit * 1000` (not below 0), a candidate with `load < floor` receives
/// `ceil((floor - load) * share_permille / 1_000_000)`; everyone else receives 0.
///
/// This is the bounded absence compensation: a judge back from leave (or new) is lifted to the floor
/// and then catches up only the last `limit` units, at no more than the cap's rate.
pub fn catch_up_credit(cands: &[LoadInput], limit: u32) -> Vec<u64> {
    let n = cands.len() as u64;
    if n == 0 {
        return Vec::new();
    }
    let mean = cands.iter().map(|c| c.load).sum::<u64>() / n;
    let floor = mean.saturating_sub(limit as u64 * LOAD_SCALE);
    cands
        .iter()
        .map(|c| {
            if c.load >= floor {
                0
            } else {
                ((floor - c.load) * c.share_permille as u64).div_ceil(LOAD_SCALE * 1000)
            }
        })
        .collect()
}

/// The integer weight of each candidate, in the candidates' order (SPEC §7.5).
///
/// 1. `key = load + normalized_load(case_weight, share)`: the load the judge would have after taking
///    this case.
/// 2. Water-fill: in ascending order of `(key, position)`, each candidate receives
///    `min(cap_num, remaining)` from a budget of `n * cap_den` units.
/// 3. `weight = (1000 - balance) * cap_den + balance * waterfill`.
///
/// So no weight exceeds `1000 * cap_num` while the total is exactly `1000 * n * cap_den`: no
/// probability exceeds `cap / n`.
pub fn weights(policy: &Policy, case_weight: u32, cands: &[LoadInput]) -> Vec<u64> {
    let n = cands.len() as u64;
    let mut order: Vec<(u64, usize)> = cands
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                c.load + normalized_load(case_weight as u64, c.share_permille),
                i,
            )
        })
        .collect();
    order.sort_unstable();
    let (cap, unit) = (policy.cap_num as u64, policy.cap_den as u64);
    let mut budget = n * unit;
    let mut fill = vec![0u64; cands.len()];
    for &(_, i) in &order {
        let give = cap.min(budget);
        fill[i] = give;
        budget -= give;
        if budget == 0 {
            break;
        }
    }
    let b = policy.balance_permille as u64;
    fill.iter().map(|&f| (1000 - b) * unit + b * f).collect()
}

/// The random number generator of a draw: ChaCha20 keyed by the seed (SPEC §7.6).
pub fn rng(seed: &Digest32) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(seed.0)
}

/// A uniform integer in `0..total` from raw 64-bit words: a word `r` is accepted when
/// `r < 2^64 - (2^64 mod total)`, and the result is `r mod total`; otherwise the next word is taken.
pub fn uniform_below(rng: &mut impl Rng, total: u64) -> u64 {
    assert!(total > 0, "uniform_below needs a positive total");
    let zone = (1u128 << 64) - ((1u128 << 64) % total as u128);
    loop {
        let r = rng.next_u64();
        if (r as u128) < zone {
            return r % total;
        }
    }
}

/// Picks an index with probability proportional to its weight: `x = uniform_below(sum)`, and the
/// first index whose cumulative weight exceeds `x`.
pub fn pick_weighted(rng: &mut impl Rng, weights: &[u64]) -> usize {
    let total: u64 = weights.iter().sum();
    let x = uniform_below(rng, total);
    let mut acc = 0u64;
    for (i, w) in weights.iter().enumerate() {
        acc += w;
        if x < acc {
            return i;
        }
    }
    unreachable!("x < total")
}

/// Draws `seats` distinct indices without replacement. Each step picks by the remaining weights; if
/// every remaining weight is zero, each remaining candidate counts as weight 1 for that step.
/// Returns indices in the order drawn (the first presides).
pub fn draw_without_replacement(seed: &Digest32, weights: &[u64], seats: usize) -> Vec<usize> {
    assert!(seats <= weights.len(), "more seats than candidates");
    let mut rng = rng(seed);
    let mut w = weights.to_vec();
    let mut taken = vec![false; w.len()];
    let mut out = Vec::with_capacity(seats);
    for _ in 0..seats {
        if w.iter().zip(&taken).all(|(&x, &t)| t || x == 0) {
            for (x, &t) in w.iter_mut().zip(&taken) {
                *x = if t { 0 } else { 1 };
            }
        }
        let i = pick_weighted(&mut rng, &w);
        out.push(i);
        taken[i] = true;
        w[i] = 0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Fallback;

    fn policy(cap_num: u32, cap_den: u32, balance: u32) -> Policy {
        Policy {
            min_pool: 1,
            fallback: Fallback::Refuse,
            cap_num,
            cap_den,
            balance_permille: balance,
            window_days: 365,
            catch_up_limit: 10,
            case_types: vec![],
        }
    }

    fn inputs(loads: &[u64]) -> Vec<LoadInput> {
        loads
            .iter()
            .map(|&load| LoadInput {
                load,
                share_permille: 1000,
            })
            .collect()
    }

    #[test]
    fn chacha20_words_match_the_rfc_8439_zero_key_block() {
        let mut r = rng(&Digest32::ZERO);
        assert_eq!(r.next_u32(), 0xade0b876);
        assert_eq!(r.next_u32(), 0x903df1a0);
        let mut r = rng(&Digest32::ZERO);
        assert_eq!(r.next_u64(), 0x903df1a0_ade0b876);
    }

    #[test]
    fn waterfill_gives_the_least_loaded_the_cap_and_never_exceeds_it() {
        // 5 judges, cap 3/2: budget 10 units -> 3, 3, 3, 1, 0 by ascending load.
        let w = weights(
            &policy(3, 2, 1000),
            1,
            &inputs(&[5000, 1000, 3000, 2000, 4000]),
        );
        assert_eq!(w, vec![0, 3000, 3000, 3000, 1000]);
        let total: u64 = w.iter().sum();
        assert_eq!(total, 1000 * 5 * 2);
        assert!(w.iter().all(|&x| x * 5 * 2 <= total * 3));
    }

    #[test]
    fn a_heavy_case_counts_against_a_part_time_judge_first() {
        // Equal loads; the judge at a quarter share would reach a higher load with this case.
        let mut c = inputs(&[0, 0]);
        c[0].share_permille = 250;
        assert_eq!(weights(&policy(3, 2, 1000), 5, &c), vec![1000, 3000]);
    }

    #[test]
    fn zero_balance_is_a_uniform_lottery() {
        let w = weights(&policy(3, 2, 0), 4, &inputs(&[9000, 0, 1]));
        assert_eq!(w, vec![2000, 2000, 2000]);
    }

    #[test]
    fn catch_up_credit_lifts_only_judges_far_below_the_mean() {
        // mean 20_000, limit 10 units -> floor 10_000.
        let mut c = inputs(&[0, 9_500, 50_500]);
        assert_eq!(catch_up_credit(&c, 10), vec![10, 1, 0]);
        // At a half share the same deficit in normalized load is half as much intake.
        c[0].share_permille = 500;
        assert_eq!(catch_up_credit(&c, 10), vec![5, 1, 0]);
        assert_eq!(
            catch_up_credit(&inputs(&[0, 9_500, 50_500]), 1000),
            vec![0, 0, 0]
        );
    }

    #[test]
    fn rejection_sampling_rejects_words_above_the_zone() {
        // total = 2^63 + 1: zone = 2^64 - (2^64 mod total) = 2^64 - (2^63 - 1), about half rejected.
        let total = (1u64 << 63) + 1;
        let mut r = rng(&Digest32([3; 32]));
        let mut raw = rng(&Digest32([3; 32]));
        let x = uniform_below(&mut r, total);
        let zone = (1u128 << 64) - ((1u128 << 64) % total as u128);
        let first_ok = std::iter::from_fn(|| Some(raw.next_u64()))
            .find(|&w| (w as u128) < zone)
            .unwrap();
        assert_eq!(x, first_ok % total);
    }

    #[test]
    fn a_pool_of_one_always_picks_that_judge() {
        for s in 0..20u8 {
            assert_eq!(
                draw_without_replacement(&Digest32([s; 32]), &[7], 1),
                vec![0]
            );
        }
    }

    #[test]
    fn panels_never_repeat_a_judge_and_fill_from_zero_weights_when_needed() {
        for s in 0..50u8 {
            let got = draw_without_replacement(&Digest32([s; 32]), &[3000, 3000, 0], 3);
            let mut sorted = got.clone();
            sorted.sort();
            assert_eq!(sorted, vec![0, 1, 2]);
            assert_eq!(got[2], 2, "the zero-weight judge comes last");
        }
    }

    #[test]
    fn frequencies_follow_the_weights() {
        let w = [1u64, 2, 3, 4];
        let mut counts = [0u32; 4];
        for s in 0..20_000u32 {
            let mut seed = [0u8; 32];
            seed[..4].copy_from_slice(&s.to_be_bytes());
            counts[draw_without_replacement(&Digest32(seed), &w, 1)[0]] += 1;
        }
        for (i, c) in counts.iter().enumerate() {
            let expect = 20_000.0 * w[i] as f64 / 10.0;
            assert!(
                (*c as f64 - expect).abs() < 4.0 * expect.sqrt() + 10.0,
                "{counts:?}"
            );
        }
    }
}
