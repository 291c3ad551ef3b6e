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

/// The integer weight of each candidate, in the candidates' order (SPEC §7.5). `absent_count` and
/// `absent_shares` describe the judges excluded only for absence, who belong to the nominal pool the
/// cap is measured against.
///
/// 1. `key = load + normalized_load(case_weight * 1000, share)`: the load the judge would have after
///    taking this case.
/// 2. The effective cap `C = C_num / C_den` with `C_num = 1000 * cap_den + (cap_num - cap_den) *
///    balance_permille` and `C_den = 1000 * cap_den`: 1 (a lottery by share) at balance 0, `cap` at
///    1000.
/// 3. Each judge's maximum is `M_j = C_num * min(share_j * N, S)` from a budget `B = S * N * C_den`,
///    so `M_j / B = C * min(share_j / S, 1 / N)`: at most `C` times the judge's fair share and never
///    above `C / N`. First with the nominal pool (`N = n + absent_count`, `S` = all their shares);
///    if the maxima of the eligible judges cannot cover the budget, with the eligible judges alone
///    (`N = n`, `S` = their shares); if still not, by share alone (`M_j = C_num * share_j * n`,
///    `B = S * n * C_den`), which always covers it.
/// 4. Water-fill: in ascending order of `(key, position)`, each judge receives
///    `min(M_j, remaining budget)`; the weight is what it received.
pub fn weights(
    policy: &Policy,
    case_weight: u32,
    cands: &[LoadInput],
    absent_count: usize,
    absent_shares: u64,
) -> Vec<u64> {
    let n = cands.len() as u64;
    if n == 0 {
        return Vec::new();
    }
    let c_num = 1000 * policy.cap_den as u64
        + (policy.cap_num - policy.cap_den) as u64 * policy.balance_permille as u64;
    let c_den = 1000 * policy.cap_den as u64;
    let present: u64 = cands.iter().map(|c| c.share_permille as u64).sum();
    let tier = |nn: u64, ss: u64| -> (Vec<u64>, u64) {
        (
            cands
                .iter()
                .map(|c| c_num * (c.share_permille as u64 * nn).min(ss))
                .collect(),
            ss * nn * c_den,
        )
    };
    let (mut max, mut budget) = tier(n + absent_count as u64, present + absent_shares);
    if max.iter().sum::<u64>() < budget {
        (max, budget) = tier(n, present);
    }
    if max.iter().sum::<u64>() < budget {
        max = cands
            .iter()
            .map(|c| c_num * c.share_permille as u64 * n)
            .collect();
        budget = present * n * c_den;
    }
    // `(key, position)` packed into one u128, so the ordering compares single integers.
    let mut order: Vec<u128> = cands
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let key = c.load + normalized_load(case_weight as u64 * 1000, c.share_permille);
            ((key as u128) << 64) | i as u128
        })
        .collect();
    let mut fill = vec![0u64; cands.len()];
    let pos = |packed: u128| packed as u64 as usize;
    if max.windows(2).all(|w| w[0] == w[1]) {
        // Equal maxima (equal shares): only the split matters, so a selection (O(n)) replaces a sort.
        let m = max[0];
        let full = (budget / m) as usize;
        if full >= order.len() {
            fill.iter_mut().for_each(|f| *f = m);
        } else {
            order.select_nth_unstable(full);
            for &p in &order[..full] {
                fill[pos(p)] = m;
            }
            fill[pos(order[full])] = budget % m;
        }
    } else {
        order.sort_unstable();
        for &p in &order {
            let give = max[pos(p)].min(budget);
            fill[pos(p)] = give;
            budget -= give;
            if budget == 0 {
                break;
            }
        }
    }
    fill
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
    if seats == 1 && weights.iter().any(|&x| x > 0) {
        // The common case, without copying: the same words, the same pick.
        return vec![pick_weighted(&mut rng, weights)];
    }
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
        // 5 judges at full share, cap 3/2: C = 3000/2000, M = 3000 * 5000, B = 5000 * 5 * 2000.
        let m = 15_000_000;
        let w = weights(
            &policy(3, 2, 1000),
            1,
            &inputs(&[5000, 1000, 3000, 2000, 4000]),
            0,
            0,
        );
        assert_eq!(w, vec![0, m, m, m, m / 3]);
        let total: u64 = w.iter().sum();
        assert_eq!(total, 5000 * 5 * 2000);
        assert!(w.iter().all(|&x| x * 5 * 2 <= total * 3));
    }

    #[test]
    fn absences_elsewhere_do_not_raise_the_cap_above_the_nominal_pool() {
        // 4 eligible of a nominal 6: every maximum is 1.5/6 = 1/4, so the draw is uniform.
        let w = weights(
            &policy(3, 2, 1000),
            1,
            &inputs(&[0, 1000, 2000, 3000]),
            2,
            2000,
        );
        assert!(w.windows(2).all(|p| p[0] == p[1]), "{w:?}");
        // 5 eligible of a nominal 6: four get 1/4 each, the most loaded nothing.
        let w = weights(
            &policy(3, 2, 1000),
            1,
            &inputs(&[0, 1000, 2000, 3000, 4000]),
            1,
            1000,
        );
        let total: u64 = w.iter().sum();
        assert_eq!(w[4], 0);
        assert!(
            w.iter().all(|&x| x * 6 * 2 <= total * 3),
            "p <= 1.5/6: {w:?}"
        );
    }

    #[test]
    fn the_cap_follows_shares_and_a_heavy_case_counts_against_a_part_time_judge_first() {
        // Shares 250 and 1000, equal loads, weight 5: the full-share judge ranks first and is held
        // to 1.5/2 by the head cap; the quarter-share judge takes the rest (at most 1.5 x 250/1250).
        let mut c = inputs(&[0, 0]);
        c[0].share_permille = 250;
        assert_eq!(
            weights(&policy(3, 2, 1000), 5, &c, 0, 0),
            vec![1_250_000, 3_750_000]
        );
    }

    #[test]
    fn zero_balance_is_a_lottery_by_share() {
        let w = weights(&policy(3, 2, 0), 4, &inputs(&[9000, 0, 1]), 0, 0);
        assert!(w.windows(2).all(|p| p[0] == p[1]), "{w:?}");
        let mut c = inputs(&[9000, 0, 1]);
        c[0].share_permille = 500;
        let w = weights(&policy(3, 2, 0), 4, &c, 0, 0);
        assert_eq!((w[1], w[2]), (2 * w[0], 2 * w[0]), "{w:?}");
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
