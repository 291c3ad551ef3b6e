//! The draw's arithmetic (SPEC §7.4–7.6): integer weights from loads, and sampling from ChaCha20's
//! raw 64-bit words with an exact rejection rule. Nothing here uses `rand`'s distributions, whose
//! values change between versions.

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use crate::ids::Digest32;
use crate::policy::Policy;

/// Normalized-load scale: loads are kept in thousandths of a case-weight unit at a full share.
pub const LOAD_SCALE: u64 = 1000;

/// The normalized load of a judge whose intake in the window sums to `intake_milli` thousandths of a
/// case-weight unit, at a share of `share_permille`: `floor(intake_milli * 1000 / share_permille)`.
/// At a full share the load equals the intake in thousandths.
pub fn normalized_load(intake_milli: u64, share_permille: u32) -> u64 {
    if share_permille == 1000 {
        intake_milli // the common case, without a division
    } else {
        intake_milli * 1000 / share_permille.max(1) as u64
    }
}

/// One candidate as the weight rule sees it.
#[derive(Clone, Copy, Debug)]
pub struct LoadInput {
    /// Normalized load (SPEC §7.4).
    pub load: u64,
    /// Share in thousandths.
    pub share_permille: u32,
}

/// Absence credit (SPEC §7.4): the intake, in thousandths of a case-weight unit, credited to a judge
/// who would have been in a draw's pool but for an absence: their fair share of the draw,
/// `floor(case_weight * 1000 * seats * share / (pool_shares + share))`, where `pool_shares` is the
/// sum of the eligible judges' shares. A judge back from leave is thus level with the others: neither
/// flooded with the work they missed nor owed it.
pub fn absence_credit(case_weight: u32, seats: u8, share_permille: u32, pool_shares: u64) -> u64 {
    case_weight as u64 * 1000 * seats as u64 * share_permille as u64
        / (pool_shares + share_permille as u64)
}

/// Joining credit (SPEC §7.4): the intake, in thousandths, that lifts a judge entering a pool for
/// the first time (newly registered or re-activated) to `catch_up_limit` units below the mean load of
/// `pooled` judges: `ceil((floor - load) * share / 1000)` with
/// `floor = mean - catch_up_limit * 1000` (not below 0), or 0 if the judge is not below it.
pub fn joining_credit(
    load: u64,
    share_permille: u32,
    pooled_mean: u64,
    catch_up_limit: u32,
) -> u64 {
    let floor = pooled_mean.saturating_sub(catch_up_limit as u64 * LOAD_SCALE);
    if load >= floor {
        0
    } else {
        ((floor - load) * share_permille as u64).div_ceil(1000)
    }
}

/// The integer weight of each candidate, in the candidates' order (SPEC §7.5). `nominal` is the
/// pool the cap is measured against: the eligible judges plus those excluded only for absence
/// (`nominal >= cands.len()`).
///
/// 1. `key = load + normalized_load(case_weight * 1000, share)`: the load the judge would have after
///    taking this case.
/// 2. Water-fill: with `n = cands.len()`, a budget of `B = n * nominal * cap_den` units and a
///    per-judge maximum `M = max(cap_num * n, nominal * cap_den)`, in ascending order of
///    `(key, position)` the first `floor(B / M)` candidates receive `M`, the next receives `B mod M`,
///    and the rest 0.
/// 3. `weight = (1000 - balance) * nominal * cap_den + balance * fill`.
///
/// The total is exactly `1000 * B`, so no probability exceeds `max(cap / nominal, 1 / n)`, which
/// is at most `cap / n`: absences elsewhere in the court do not raise any judge's chance above the cap
/// measured against the full pool, as long as no more than a share `1 - 1/cap` of it is away.
pub fn weights(policy: &Policy, case_weight: u32, cands: &[LoadInput], nominal: usize) -> Vec<u64> {
    let n = cands.len() as u64;
    let nominal = (nominal as u64).max(n);
    // `(key, position)` packed into one u128, so the selection compares single integers.
    let mut order: Vec<u128> = cands
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let key = c.load + normalized_load(case_weight as u64 * 1000, c.share_permille);
            ((key as u128) << 64) | i as u128
        })
        .collect();
    let unit = nominal * policy.cap_den as u64;
    let cap = (policy.cap_num as u64 * n).max(unit);
    let b = policy.balance_permille as u64;
    // Only the split matters (who gets M, who gets the remainder), so a selection (O(n)) replaces a
    // full sort. `(key, position)` pairs are distinct, so the split is the one a sort would give.
    let budget = n * unit;
    let full = (budget / cap) as usize;
    let rest = budget % cap;
    let mut fill = vec![0u64; cands.len()];
    if full >= order.len() {
        fill.iter_mut().for_each(|f| *f = cap);
    } else {
        order.select_nth_unstable(full);
        for &packed in &order[..full] {
            fill[packed as u64 as usize] = cap;
        }
        fill[order[full] as u64 as usize] = rest;
    }
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
        // 5 judges, no absences, cap 3/2: unit 10, M 15, budget 50 -> 15, 15, 15, 5, 0 by key.
        let w = weights(
            &policy(3, 2, 1000),
            1,
            &inputs(&[5000, 1000, 3000, 2000, 4000]),
            5,
        );
        assert_eq!(w, vec![0, 15000, 15000, 15000, 5000]);
        let total: u64 = w.iter().sum();
        assert_eq!(total, 1000 * 5 * 5 * 2);
        assert!(w.iter().all(|&x| x * 5 * 2 <= total * 3));
    }

    #[test]
    fn absences_elsewhere_do_not_raise_the_cap_above_the_nominal_pool() {
        // 4 eligible of a nominal 6: unit 12, M = max(12, 12) = 12 -> uniform, p = 1/4 <= 1.5/6.
        let w = weights(&policy(3, 2, 1000), 1, &inputs(&[0, 1000, 2000, 3000]), 6);
        assert_eq!(w, vec![12000; 4]);
        // 5 eligible of a nominal 6: unit 12, M = 15, budget 60 -> 15, 15, 15, 15, 0.
        let w = weights(
            &policy(3, 2, 1000),
            1,
            &inputs(&[0, 1000, 2000, 3000, 4000]),
            6,
        );
        assert_eq!(w, vec![15000, 15000, 15000, 15000, 0]);
        let total: u64 = w.iter().sum();
        assert!(w.iter().all(|&x| x * 6 * 2 <= total * 3), "p <= 1.5/6");
    }

    #[test]
    fn a_heavy_case_counts_against_a_part_time_judge_first() {
        // Equal loads; the judge at a quarter share would reach a higher load with this case.
        let mut c = inputs(&[0, 0]);
        c[0].share_permille = 250;
        assert_eq!(weights(&policy(3, 2, 1000), 5, &c, 2), vec![2000, 6000]);
    }

    #[test]
    fn zero_balance_is_a_uniform_lottery() {
        let w = weights(&policy(3, 2, 0), 4, &inputs(&[9000, 0, 1]), 3);
        assert_eq!(w, vec![6000, 6000, 6000]);
    }

    #[test]
    fn absence_credit_is_the_fair_share_of_the_draw() {
        // Weight 3, one seat, 4 judges at full share in the pool: 3 * 1000 / 5 = 600 thousandths.
        assert_eq!(absence_credit(3, 1, 1000, 4000), 600);
        // A half-share judge: 3000 * 500 / 4500 = 333.
        assert_eq!(absence_credit(3, 1, 500, 4000), 333);
        // A panel of three seats triples it.
        assert_eq!(absence_credit(3, 3, 1000, 4000), 1800);
    }

    #[test]
    fn joining_credit_lifts_a_new_judge_to_the_mean_less_the_limit() {
        assert_eq!(joining_credit(0, 1000, 20_000, 0), 20_000);
        assert_eq!(joining_credit(0, 500, 20_000, 0), 10_000);
        assert_eq!(joining_credit(0, 1000, 20_000, 5), 15_000);
        assert_eq!(joining_credit(25_000, 1000, 20_000, 0), 0);
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
