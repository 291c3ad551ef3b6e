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
    /// Balanced-rate factor (SPEC §7.5, [`balanced_rates`]): the judge's balanced probability in
    /// a pool is their factor over the pool's sum of factors.
    pub rate: u64,
}

/// Absence credit (SPEC §7.4): the intake, in thousandths of a case-weight unit, credited to a judge
/// who would have been in a draw's pool but for an absence:
/// `floor(case_weight * 1000 * seats * rate / pool_rates)`, where `rate` is the judge's
/// balanced-rate factor and `pool_rates` the sum of the eligible judges' factors. The judges of
/// the pool carry this draw at exactly that rate in expectation (each `w * seats * rate_i /
/// pool_rates`), so a judge back from leave is level with them: neither flooded with the work they
/// missed nor owed it. (With equal factors per share this is `w * seats * share / S`, `S` the
/// eligible shares.)
pub fn absence_credit(case_weight: u32, seats: u8, rate: u64, pool_rates: u64) -> u64 {
    if pool_rates == 0 {
        return 0;
    }
    (case_weight as u128 * 1000 * seats as u128 * rate as u128 / pool_rates as u128) as u64
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

/// Iterations of the matrix scaling in [`balanced_rates`] (SPEC §7.5).
pub const RATE_ITERATIONS: u32 = 16;

/// Balanced-rate factors are kept to this many bits after each iteration (SPEC §7.5).
pub const RATE_BITS: u32 = 40;

/// No iterated factor is below this (`2^30`, 1/1024 of the largest): where the case mix cannot be
/// balanced (a class needs more than its holders' shares), a judge's rate for their other work
/// tends to 0; this keeps it positive, so the floor of [`weights`] keeps every judge drawable.
pub const RATE_FLOOR: u128 = 1 << 30;

/// The balanced-rate factors of a balance group (SPEC §7.5): `shares[j]` is judge `j`'s share,
/// `volumes[k]` the window's intake of class `k` (thousandths), `holds[j * volumes.len() + k]`
/// whether judge `j` can take class `k`. Returns one factor per judge; a judge's balanced rate for
/// a class is their factor over the sum of the factors of the class's pool.
///
/// The factors are those of iterative proportional fitting: judge `j` receives
/// `x_j * V_k / X_k` of class `k` (`X_k` the sum of the factors of the judges who hold `k`), and
/// `x_j` is rescaled until every judge's total is proportional to their share, so that rates at
/// these factors keep every judge level given the window's case mix and who can take what. Only
/// classes with a positive volume and at least one holder count ("active"); a judge who holds none
/// has factor 0. If every judge who holds an active class holds every active class, the factors are
/// the shares (the exact solution). Otherwise, from `x_j = share_j`, `RATE_ITERATIONS` times:
///
/// 1. `X_k = sum of x_j over the holders of k`, for each active class;
/// 2. `D_j = sum over the active classes j holds of floor(V_k * 2^64 / X_k)`;
/// 3. `y_j = floor(share_j * 2^100 / D_j)` (0 for a judge without active classes);
/// 4. with `b` the bit length of `max y`, `x_j = y_j >> (b - 40)` if `b > 40`, else
///    `y_j << (40 - b)`; then a judge with active classes and `x_j < 2^30` gets `x_j = 2^30`.
pub fn balanced_rates(shares: &[u32], holds: &[bool], volumes: &[u64]) -> Vec<u64> {
    let k = volumes.len();
    assert_eq!(
        holds.len(),
        shares.len() * k,
        "one holding flag per judge and class"
    );
    let mut out = Vec::with_capacity(shares.len());
    balanced_rates_by(shares, volumes, |j, c| holds[j * k + c], &mut out);
    out
}

/// [`balanced_rates`] with `held(j, k)` telling whether judge `j` can take class `k`, writing the
/// factors into `out` (cleared first): the draw's planning asks the judges directly and reuses
/// `out`, and in the common case (every judge holds every active class or none) nothing is
/// allocated.
pub fn balanced_rates_by(
    shares: &[u32],
    volumes: &[u64],
    held: impl Fn(usize, usize) -> bool,
    out: &mut Vec<u64>,
) {
    let k = volumes.len();
    let n = shares.len();
    out.clear();
    if k <= 64 {
        // The active classes as a bit set, and each judge's active classes: if each judge holds
        // none or all of them, the factors are the shares (the same test as below, on words).
        let active = (0..k)
            .filter(|&c| volumes[c] > 0 && (0..n).any(|j| held(j, c)))
            .fold(0u64, |m, c| m | 1 << c);
        let row = |j: usize| {
            (0..k)
                .filter(|&c| active >> c & 1 == 1 && held(j, c))
                .fold(0u64, |m, c| m | 1 << c)
        };
        let mut all_or_none = true;
        for (j, &share) in shares.iter().enumerate() {
            let r = row(j);
            if r != 0 && r != active {
                all_or_none = false;
                break;
            }
            out.push(if r != 0 { share as u64 } else { 0 });
        }
        if all_or_none {
            return;
        }
        out.clear();
    }
    let active: Vec<usize> = (0..k)
        .filter(|&c| volumes[c] > 0 && (0..n).any(|j| held(j, c)))
        .collect();
    // How many active classes each judge holds: none (factor 0), all, or some.
    let count: Vec<usize> = (0..n)
        .map(|j| active.iter().filter(|&&c| held(j, c)).count())
        .collect();
    if count.iter().all(|&m| m == 0 || m == active.len()) {
        out.extend((0..n).map(|j| if count[j] > 0 { shares[j] as u64 } else { 0 }));
        return;
    }
    // Judges with the same share and the same active classes always have the same factor, so the
    // iteration runs once per such kind, weighted by how many judges share it: the sums, and so
    // the results, are those of the per-judge rule above.
    // A kind's active classes as a bit set: the first 64 in a word, any further ones in a list
    // (empty, so not allocated, in any real division).
    type Row = (u64, Vec<u64>);
    let words = active.len().div_ceil(64);
    let row_of = |j: usize| -> Row {
        let mut row = (0u64, vec![0u64; words.saturating_sub(1)]);
        for (c, &ac) in active.iter().enumerate() {
            if held(j, ac) {
                if c < 64 {
                    row.0 |= 1 << c;
                } else {
                    row.1[c / 64 - 1] |= 1 << (c % 64);
                }
            }
        }
        row
    };
    let has = |row: &Row, c: usize| {
        let w = if c < 64 { row.0 } else { row.1[c / 64 - 1] };
        w >> (c % 64) & 1 == 1
    };
    // Group the judges into kinds: sort by (share, row), then take runs of equal keys.
    let rows: Vec<Row> = (0..n).map(row_of).collect();
    let mut order: Vec<usize> = (0..n).filter(|&j| count[j] > 0).collect();
    order.sort_unstable_by(|&a, &b| (shares[a], &rows[a]).cmp(&(shares[b], &rows[b])));
    // (share, active classes held, number of judges, factor)
    let mut kinds: Vec<(u32, Row, u128, u128)> = vec![];
    let mut kind_of: Vec<Option<usize>> = vec![None; n];
    for &j in &order {
        match kinds.last_mut() {
            Some(kind) if kind.0 == shares[j] && kind.1 == rows[j] => kind.2 += 1,
            _ => kinds.push((shares[j], rows[j].clone(), 1, shares[j] as u128)),
        }
        kind_of[j] = Some(kinds.len() - 1);
    }
    let mut big_x = vec![0u128; active.len()];
    let mut term = vec![0u128; active.len()];
    for _ in 0..RATE_ITERATIONS {
        for (c, slot) in big_x.iter_mut().enumerate() {
            *slot = kinds
                .iter()
                .filter(|kind| has(&kind.1, c))
                .map(|kind| kind.2 * kind.3)
                .sum();
        }
        for (c, t) in term.iter_mut().enumerate() {
            *t = ((volumes[active[c]] as u128) << 64) / big_x[c];
        }
        let y: Vec<u128> = kinds
            .iter()
            .map(|kind| {
                let d: u128 = (0..active.len())
                    .filter(|&c| has(&kind.1, c))
                    .map(|c| term[c])
                    .sum();
                ((kind.0 as u128) << 100).checked_div(d).unwrap_or(0)
            })
            .collect();
        let max = y.iter().copied().max().unwrap_or(0);
        let bits = 128 - max.leading_zeros();
        for (kind, y) in kinds.iter_mut().zip(y) {
            let v = if bits > RATE_BITS {
                y >> (bits - RATE_BITS)
            } else {
                y << (RATE_BITS - bits)
            };
            kind.3 = v.max(RATE_FLOOR);
        }
    }
    out.extend(kind_of.iter().map(|k| k.map_or(0, |i| kinds[i].3 as u64)));
}

/// The lower bound of a judge's probability is their balanced rate divided by this (SPEC §7.5).
pub const FLOOR_DIVISOR: u64 = 4;

/// The total of the weights of a draw (SPEC §7.5): every draw's weights sum to exactly this.
pub const WEIGHT_BUDGET: u64 = 1 << 40;

/// The effective cap `C = C_num / C_den` of a policy (SPEC §7.5): `C_num = 1000 * cap_den +
/// (cap_num - cap_den) * balance_permille`, `C_den = 1000 * cap_den`; 1 at balance 0 and
/// `cap_num / cap_den` at balance 1000.
pub fn effective_cap(policy: &Policy) -> (u64, u64) {
    (
        1000 * policy.cap_den as u64
            + (policy.cap_num - policy.cap_den) as u64 * policy.balance_permille as u64,
        1000 * policy.cap_den as u64,
    )
}

/// The integer weight of each candidate, in the candidates' order (SPEC §7.5); they sum to exactly
/// [`WEIGHT_BUDGET`] `B`. `absent_rates` is the sum of the balanced-rate factors of the judges
/// excluded only for absence, who belong to the nominal pool the rates are measured against.
///
/// 1. `key = load + normalized_load(case_weight * 1000, share)`: the load the judge would have after
///    taking this case.
/// 2. The effective cap `C = C_num / C_den` ([`effective_cap`]).
/// 3. With `X` a sum of factors and `n` the number of candidates, each judge's balanced rate is
///    `q_j = rate_j / X`; their upper bound is `U_j = min(ceil(B * C_num * rate_j / (C_den * X)),
///    floor(2 * B / n))` (at most `C` times the balanced rate and never above `2 / n`) and their
///    lower bound `L_j = min(U_j, floor(B * rate_j / (4 * X)))` (at least a quarter of the
///    balanced rate: no load makes a judge impossible to draw). Use the first that covers the budget (`sum of U_j >= B`):
///    1. the nominal pool: `X` = the candidates' factors plus `absent_rates`;
///    2. the eligible pool alone: `X` = the candidates' factors;
///    3. the ceiling alone: `U_j = floor(2 * B / n)`, `L_j` as in 2 (capped by `U_j`).
/// 4. Every judge receives `L_j`; the rest of the budget is water-filled in ascending order of
///    `(key, position)`, each judge receiving up to `U_j` in all.
///
/// If the candidates' factors sum to 0, every factor counts as the judge's share.
pub fn weights(
    policy: &Policy,
    case_weight: u32,
    cands: &[LoadInput],
    absent_rates: u64,
) -> Vec<u64> {
    let mut out = Vec::with_capacity(cands.len());
    weights_into(
        policy,
        case_weight,
        cands,
        absent_rates,
        &mut out,
        &mut WeightBuffers::default(),
    );
    out
}

/// The working space of [`weights_into`], kept from one draw to the next so that planning a draw
/// allocates nothing for it.
#[derive(Clone, Debug, Default)]
pub struct WeightBuffers {
    /// Each candidate's room above their lower bound.
    room: Vec<u64>,
    /// `(key, position)` packed into one u128, so the ordering compares single integers.
    order: Vec<u128>,
}

/// [`weights`], written into `out` (cleared first), with working space from `buf`.
pub fn weights_into(
    policy: &Policy,
    case_weight: u32,
    cands: &[LoadInput],
    absent_rates: u64,
    out: &mut Vec<u64>,
    buf: &mut WeightBuffers,
) {
    out.clear();
    let n = cands.len();
    if n == 0 {
        return;
    }
    let (c_num, c_den) = effective_cap(policy);
    let (c_num, c_den) = (c_num as u128, c_den as u128);
    let b = WEIGHT_BUDGET as u128;
    let by_share = cands.iter().all(|c| c.rate == 0);
    let rate = |c: &LoadInput| -> u128 {
        if by_share {
            c.share_permille as u128
        } else {
            c.rate as u128
        }
    };
    let present: u128 = cands.iter().map(rate).sum();
    let ceiling = 2 * b / n as u128;
    // The bounds at a sum of factors `x`: each lower bound into `out` (`fill`), each room
    // (upper less lower) into `room`; returns the sums of the upper and of the lower bounds.
    let room = &mut buf.room;
    let bounds = |x: u128, fill: &mut Vec<u64>, room: &mut Vec<u64>| -> (u128, u128) {
        fill.clear();
        room.clear();
        let (mut upper_sum, mut lower_sum) = (0u128, 0u128);
        // Judges with the same factor have the same bounds (the common case: equal shares).
        let mut last: Option<(u128, u128, u128)> = None;
        for c in cands {
            let r = rate(c);
            let (u, l) = match last {
                Some((lr, u, l)) if lr == r => (u, l),
                _ => {
                    let u = (b * c_num * r).div_ceil(c_den * x).min(ceiling);
                    let l = (b * r / (FLOOR_DIVISOR as u128 * x)).min(u);
                    last = Some((r, u, l));
                    (u, l)
                }
            };
            upper_sum += u;
            lower_sum += l;
            fill.push(l as u64);
            room.push((u - l) as u64);
        }
        (upper_sum, lower_sum)
    };
    let absent = if by_share { 0 } else { absent_rates as u128 };
    let fill = out;
    let (mut upper_sum, mut lower_sum) = bounds(present + absent, fill, room);
    if upper_sum < b {
        (upper_sum, lower_sum) = bounds(present, fill, room);
    }
    if upper_sum < b {
        // Every upper bound is the ceiling; the lower bounds stay, capped by it.
        lower_sum = 0;
        for (f, r) in fill.iter_mut().zip(room.iter_mut()) {
            *f = (*f).min(ceiling as u64);
            *r = ceiling as u64 - *f;
            lower_sum += *f as u128;
        }
    }
    let mut budget = (b - lower_sum) as u64;
    if budget == 0 {
        return;
    }
    let order = &mut buf.order;
    order.clear();
    order.extend(cands.iter().enumerate().map(|(i, c)| {
        let key = c.load + normalized_load(case_weight as u64 * 1000, c.share_permille);
        ((key as u128) << 64) | i as u128
    }));
    let pos = |packed: u128| packed as u64 as usize;
    if room.windows(2).all(|w| w[0] == w[1]) && room[0] > 0 {
        // Equal room (equal factors and shares): only the split matters, so a selection (O(n))
        // replaces a sort.
        let m = room[0];
        let full = (budget / m) as usize;
        if full >= order.len() {
            fill.iter_mut().for_each(|f| *f += m);
        } else {
            order.select_nth_unstable(full);
            for &p in &order[..full] {
                fill[pos(p)] += m;
            }
            fill[pos(order[full])] += budget % m;
        }
    } else {
        order.sort_unstable();
        for &p in order.iter() {
            let give = room[pos(p)].min(budget);
            fill[pos(p)] += give;
            budget -= give;
            if budget == 0 {
                break;
            }
        }
    }
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
    pick_weighted_by(rng, weights.len(), |i| weights[i])
}

/// [`pick_weighted`] over `n` weights given by index.
fn pick_weighted_by(rng: &mut impl Rng, n: usize, weight: impl Fn(usize) -> u64) -> usize {
    let total: u64 = (0..n).map(&weight).sum();
    let x = uniform_below(rng, total);
    let mut acc = 0u64;
    for i in 0..n {
        acc += weight(i);
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
    let mut out = Vec::with_capacity(seats);
    draw_each(seed, weights.len(), |i| weights[i], seats, |i| out.push(i));
    out
}

/// [`draw_without_replacement`] over `n` candidates whose weights `weight` gives by index, handing
/// each index drawn to `pick`, in the order drawn: a draw's outcome is checked without copying
/// its weights or collecting the indices.
pub fn draw_each(
    seed: &Digest32,
    n: usize,
    weight: impl Fn(usize) -> u64,
    seats: usize,
    mut pick: impl FnMut(usize),
) {
    assert!(seats <= n, "more seats than candidates");
    let mut rng = rng(seed);
    if seats == 1 && (0..n).any(|i| weight(i) > 0) {
        // The common case, without copying: the same words, the same pick.
        pick(pick_weighted_by(&mut rng, n, weight));
        return;
    }
    let mut w: Vec<u64> = (0..n).map(weight).collect();
    let mut taken = vec![false; w.len()];
    for _ in 0..seats {
        if w.iter().zip(&taken).all(|(&x, &t)| t || x == 0) {
            for (x, &t) in w.iter_mut().zip(&taken) {
                *x = if t { 0 } else { 1 };
            }
        }
        let i = pick_weighted(&mut rng, &w);
        pick(i);
        taken[i] = true;
        w[i] = 0;
    }
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
                rate: 1000,
            })
            .collect()
    }

    const B: u64 = WEIGHT_BUDGET; // 2^40 = 1_099_511_627_776

    #[test]
    fn chacha20_words_match_the_rfc_8439_zero_key_block() {
        let mut r = rng(&Digest32::ZERO);
        assert_eq!(r.next_u32(), 0xade0b876);
        assert_eq!(r.next_u32(), 0x903df1a0);
        let mut r = rng(&Digest32::ZERO);
        assert_eq!(r.next_u64(), 0x903df1a0_ade0b876);
    }

    #[test]
    fn waterfill_between_a_quarter_and_one_and_a_half_times_the_balanced_rate() {
        // 5 equal judges, cap 3/2: q = 1/5. U = min(ceil(0.3 B), floor(0.4 B)) = 329_853_488_333,
        // L = floor(B / 20) = 54_975_581_388. After the floors, 824_633_720_836 is left; each judge
        // has room U - L = 274_877_906_945, so the three least loaded (1, 3, 2) fill to U and the
        // fourth (4) takes the last unit.
        let (u, l) = (329_853_488_333, 54_975_581_388);
        let w = weights(
            &policy(3, 2, 1000),
            1,
            &inputs(&[5000, 1000, 3000, 2000, 4000]),
            0,
        );
        assert_eq!(w, vec![l, u, u, u, l + 1]);
        assert_eq!(w.iter().sum::<u64>(), B);
    }

    #[test]
    fn a_part_time_president_most_loaded_leaves_the_less_loaded_full_judge_ahead() {
        // Issue 7 item 5: shares 250, 1000, 1000, the president most loaded. X = 2250, n = 3:
        // ceiling floor(2B/3) = 733_007_751_850; the full judges' U = ceil(2B/3) is held to it.
        // L = floor(B/36) = 30_541_989_660 and floor(B/9) = 122_167_958_641 (twice): 824_633_720_834
        // left. Judge 1 (key 2000) fills to the ceiling, judge 2 (key 3000) takes the remaining
        // 213_793_927_625 above its floor. Under the head-share cap both full judges got 1/2.
        let mut c = inputs(&[8000, 1000, 2000]);
        c[0].share_permille = 250;
        c[0].rate = 250;
        let w = weights(&policy(3, 2, 1000), 1, &c, 0);
        assert_eq!(
            w,
            vec![
                30_541_989_660,
                733_007_751_850,
                122_167_958_641 + 213_793_927_625
            ]
        );
        assert!(
            w[1] > 2 * w[2],
            "the less loaded full judge is pulled ahead"
        );
    }

    #[test]
    fn absences_elsewhere_do_not_raise_the_cap_above_the_nominal_pool() {
        // 4 eligible of a nominal 6: U = ceil(1.5 B / 6) = B/4 exactly, so the draw is uniform.
        let w = weights(
            &policy(3, 2, 1000),
            1,
            &inputs(&[0, 1000, 2000, 3000]),
            2000,
        );
        assert_eq!(w, vec![B / 4; 4]);
        // 5 eligible of a nominal 6: U = B/4, L = floor(B/24) each. The three least loaded fill to
        // 1/4, the fourth takes what is left (B/4 - L), the most loaded keeps its floor.
        let w = weights(
            &policy(3, 2, 1000),
            1,
            &inputs(&[0, 1000, 2000, 3000, 4000]),
            1000,
        );
        assert_eq!(w.iter().sum::<u64>(), B);
        assert!(w.iter().all(|&x| x <= B / 4), "p <= 1.5/6: {w:?}");
        assert_eq!(
            w[4],
            B / 24,
            "the most loaded keeps its floor, a quarter of 1/6"
        );
    }

    #[test]
    fn the_ceiling_holds_when_the_balanced_rate_itself_exceeds_two_over_n() {
        // Rates 900, 50, 50: U = min(ceil(1.35 B), floor(2B/3)), ceil(0.075 B) twice, sum < B in
        // tiers 1 and 2, so tier 3: every upper bound is floor(2B/3), the floors stay.
        let mut c = inputs(&[0, 0, 0]);
        c[0].rate = 900;
        c[1].rate = 50;
        c[2].rate = 50;
        let w = weights(&policy(3, 2, 1000), 1, &c, 0);
        assert_eq!(w.iter().sum::<u64>(), B);
        assert_eq!(w[0], 2 * B / 3);
        assert!(w.iter().all(|&x| x <= 2 * B / 3));
    }

    #[test]
    fn zero_balance_is_a_lottery_by_balanced_rate() {
        // C = 1: U = ceil(B * rate / X), L <= U; loads do not matter.
        let w = weights(&policy(3, 2, 0), 4, &inputs(&[9000, 0, 1]), 0);
        assert_eq!(w.iter().sum::<u64>(), B);
        assert!(w.iter().all(|&x| x.abs_diff(B / 3) <= 1), "{w:?}");
        let mut c = inputs(&[9000, 0, 1]);
        c[0].rate = 500;
        let w = weights(&policy(3, 2, 0), 4, &c, 0);
        // B/5 (2^40 / 5 = 219_902_325_555.2) and 2B/5, water-filled by key: ceilings first.
        assert_eq!(w, vec![219_902_325_554, 439_804_651_111, 439_804_651_111]);
    }

    #[test]
    fn balanced_rates_let_generalists_take_the_general_work_specialists_cannot() {
        // Judges 0, 1 general only; 2, 3 general and special. Volumes: general 3000, special 1000.
        // Level at 1000 each needs the specialists to take all special work (500 each) and 500
        // general each: general rates 1/3, 1/3, 1/6, 1/6, i.e. factors in the ratio 2 : 1.
        let holds = [true, false, true, false, true, true, true, true];
        let x = balanced_rates(&[1000; 4], &holds, &[3000, 1000]);
        assert_eq!(x[0], x[1]);
        assert_eq!(x[2], x[3]);
        let ratio = x[0] as f64 / x[2] as f64;
        assert!((ratio - 2.0).abs() < 1e-3, "{x:?}");
        assert!(x.iter().all(|&v| v <= 1 << RATE_BITS));
        // Everyone holds every active class: the factors are the shares. A class without volume,
        // or a judge holding no active class, does not count.
        let holds = [true, false, true, true, true, false];
        assert_eq!(
            balanced_rates(&[1000, 500, 250], &holds, &[7, 0]),
            vec![1000, 500, 250]
        );
        assert_eq!(
            balanced_rates(&[1000, 500], &[true, false, false, true], &[7, 0]),
            vec![1000, 0]
        );
    }

    #[test]
    fn balanced_rates_handle_more_than_64_classes() {
        // 70 classes; judge 0 holds them all, judges 1 and 2 only the first (and last). Class 0
        // carries most of the volume, the others a little each: the generalists 1 and 2 take
        // class 0, judge 0 the rest, so judge 0's factor ends below theirs.
        let k = 70;
        let mut holds = vec![true; k];
        for _ in 0..2 {
            holds.extend((0..k).map(|c| c == 0 || c == k - 1));
        }
        let mut volumes = vec![10u64; k];
        volumes[0] = 3000;
        let x = balanced_rates(&[1000; 3], &holds, &volumes);
        assert_eq!(x[1], x[2]);
        assert!(x[0] < x[1] && x[0] > 0, "{x:?}");
    }

    #[test]
    fn a_part_time_judge_gets_a_quarter_the_rate_of_a_colleague_and_keeps_the_floor() {
        // Shares 250 and 1000, equal loads, weight 5, rates = shares: the full-share judge ranks
        // first (key 5000 against 20000). X = 1250, n = 2: U = min(ceil(1.5 B * 1000/1250), B) = B
        // for the full judge; L = floor(B * 250 / 5000) = B / 20 for the part-timer.
        let mut c = inputs(&[0, 0]);
        c[0].share_permille = 250;
        c[0].rate = 250;
        assert_eq!(
            weights(&policy(3, 2, 1000), 5, &c, 0),
            vec![B / 20, B - B / 20]
        );
    }

    #[test]
    fn absence_credit_is_the_rate_the_pool_carries() {
        // Weight 3, one seat, 4 judges at full share in the pool: 3 * 1000 / 4 = 750 thousandths,
        // exactly what each of the four carries in expectation.
        assert_eq!(absence_credit(3, 1, 1000, 4000), 750);
        // A half-share judge: 3000 * 500 / 4000 = 375.
        assert_eq!(absence_credit(3, 1, 500, 4000), 375);
        // A panel of three seats triples it.
        assert_eq!(absence_credit(3, 3, 1000, 4000), 2250);
        assert_eq!(absence_credit(3, 1, 1000, 0), 0);
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
