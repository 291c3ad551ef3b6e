//! The measures: balance, unpredictability, timing advantage and the steering audit, all computed
//! from what the public log shows (pools, recorded probabilities, outcomes, absences, filings and
//! withdrawals).

use std::collections::HashMap;

use serde::Serialize;

use crate::engine::{DrawRec, PublicFacts, Run};
use crate::rng::Rng;
use crate::scenario::{DAY_MS, World};

/// Balance figures in mean case weights.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Balance {
    /// Year end: max over judges of |deviation − mean deviation|.
    pub year_end_max: f64,
    /// Year end: mean over judges of the same.
    pub year_end_mean: f64,
    /// Max over the weekly samples of the max.
    pub over_time_max: f64,
    /// Mean over the weekly samples of the mean.
    pub over_time_mean: f64,
    /// Plain-court figure at year end: max over regular judges of |intake per share − division
    /// mean| (no owed ledger; see `engine::plain_devs`).
    pub plain_year_end_max: f64,
}

/// Balance from a run's ledger.
pub fn balance(run: &Run) -> Balance {
    let ye_max = run.final_dev.iter().map(|x| x.1.abs()).fold(0.0, f64::max);
    let ye_mean = if run.final_dev.is_empty() {
        0.0
    } else {
        run.final_dev.iter().map(|x| x.1.abs()).sum::<f64>() / run.final_dev.len() as f64
    };
    let ot_max = run.series.iter().map(|x| x.1).fold(ye_max, f64::max);
    let ot_mean = if run.series.is_empty() {
        ye_mean
    } else {
        run.series.iter().map(|x| x.2).sum::<f64>() / run.series.len() as f64
    };
    let plain = run.plain_dev.iter().map(|x| x.1.abs()).fold(0.0, f64::max);
    Balance {
        plain_year_end_max: plain,
        year_end_max: ye_max,
        year_end_mean: ye_mean,
        over_time_max: ot_max,
        over_time_mean: ot_mean,
    }
}

/// Unpredictability: the probability of the most likely judge of each draw, given the public state.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Unpredictability {
    /// Largest `max p × |E|` over all draws.
    pub worst_p_times_pool: f64,
    /// Mean of `max p × |E|`.
    pub mean_p_times_pool: f64,
    /// Largest `max p`.
    pub worst_p: f64,
    /// Mean of `max p`.
    pub mean_p: f64,
    /// Mean min-entropy `−log2 max p`, in bits.
    pub mean_min_entropy_bits: f64,
    /// Smallest min-entropy, in bits.
    pub worst_min_entropy_bits: f64,
    /// Smallest margin over the bar, `min-entropy - (log2 |E| - 1)`, in bits (negative: the bar
    /// is missed by that much in some draw).
    pub worst_entropy_margin_bits: f64,
    /// Pool size of the draw with the smallest min-entropy.
    pub worst_entropy_pool: usize,
    /// Fraction of draws whose outcome was certain beforehand.
    pub certain_fraction: f64,
    /// Draws counted.
    pub draws: usize,
}

/// Unpredictability over the random draws of a run.
pub fn unpredictability(draws: &[DrawRec]) -> Unpredictability {
    let mut u = Unpredictability {
        worst_min_entropy_bits: f64::INFINITY,
        worst_entropy_margin_bits: f64::INFINITY,
        ..Default::default()
    };
    for d in draws {
        let mp = d.probs.iter().copied().fold(0.0, f64::max);
        let n = d.pool.len() as f64;
        u.worst_p_times_pool = u.worst_p_times_pool.max(mp * n);
        u.mean_p_times_pool += mp * n;
        u.worst_p = u.worst_p.max(mp);
        u.mean_p += mp;
        let h = -mp.log2() + 0.0; // + 0.0: a certain draw has 0 bits, not -0
        u.mean_min_entropy_bits += h;
        if h < u.worst_min_entropy_bits {
            u.worst_min_entropy_bits = h;
            u.worst_entropy_pool = d.pool.len();
        }
        u.worst_entropy_margin_bits = u.worst_entropy_margin_bits.min(h - (n.log2() - 1.0));
        if mp >= 1.0 - 1e-12 {
            u.certain_fraction += 1.0;
        }
    }
    let k = draws.len().max(1) as f64;
    u.mean_p_times_pool /= k;
    u.mean_p /= k;
    u.mean_min_entropy_bits /= k;
    u.certain_fraction /= k;
    if draws.is_empty() {
        u.worst_min_entropy_bits = 0.0;
        u.worst_entropy_margin_bits = 0.0;
    }
    u.draws = draws.len();
    u
}

/// Which moments the timing advantage compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    /// The definition the bar is measured with: only moments at which the target judge can be
    /// drawn (is in the pool), and only filings whose pool no case-specific exclusion (a
    /// conflict with that filing's parties, a recusal, an earlier instance) shaped.
    Fair,
    /// The first definition: every filing of the type, the target counted at 0 while away.
    AnyMoment,
}

/// The timing advantage: a litigant with a case of a given type may file at any moment of a window
/// of `window` days, sees the public state (hence the probability each judge would have), and files
/// when the judge they want is most likely. Over `samples` litigants (random court, case type from
/// the mix, window start and target judge), the advantage is
/// `Σ max_t p_t(target) / Σ mean_t p_t(target)`: how much more often they get the judge than a
/// litigant filing at a random moment of the same window. The moments are the real filings of the
/// same court and case type in the window.
///
/// Under [`Timing::AnyMoment`] (the first definition) two things no draw rule controls counted as
/// the draw's leak: the target's own absences (filing while the wanted judge is away gives 0 under
/// any rule that respects absences, even a lottery), and other filings' conflicts and recusals
/// (a moment whose pool lacked a judge conflicted with *that* filing's parties is not a moment the
/// litigant's own filing could have had). [`Timing::Fair`] leaves both out.
pub fn timing_advantage(
    w: &World,
    draws: &[DrawRec],
    window: u32,
    samples: u32,
    seed: u64,
    mode: Timing,
) -> f64 {
    let mut idx: HashMap<(u32, u16), Vec<usize>> = HashMap::new();
    for (i, d) in draws.iter().enumerate() {
        if d.filing && (mode == Timing::AnyMoment || d.generic) {
            idx.entry((d.court, d.ty)).or_default().push(i);
        }
    }
    let mix: Vec<f64> = w.scenario.case_types.iter().map(|t| t.mix).collect();
    let mut r = Rng::new(seed, 77);
    let days = w.scenario.days as u64;
    let (mut num, mut den) = (0.0, 0.0);
    for _ in 0..samples {
        let court = r.below(w.courts.len() as u64) as u32;
        let ty = r.weighted(&mix) as u16;
        let start = r.below(days.saturating_sub(window as u64).max(1)) as i32;
        let judges = &w.courts[court as usize].judges;
        let target = judges[r.below(judges.len() as u64) as usize];
        let Some(list) = idx.get(&(court, ty)) else {
            continue;
        };
        let from = list.partition_point(|&i| draws[i].day < start);
        let (mut mx, mut sum, mut k) = (0.0f64, 0.0, 0usize);
        for &i in &list[from..] {
            let d = &draws[i];
            if d.day >= start + window as i32 {
                break;
            }
            let p = match d.pool.iter().position(|&j| j == target) {
                Some(x) => d.probs[x],
                None if mode == Timing::Fair => continue,
                None => 0.0,
            };
            mx = mx.max(p);
            sum += p;
            k += 1;
        }
        if k > 0 {
            num += mx;
            den += sum / k as f64;
        }
    }
    if den > 0.0 { num / den } else { 1.0 }
}

/// The audit components computed from a public log.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Audit {
    /// Absences recorded on or after their first day and lasting at most two days.
    pub short_notice_absences: f64,
    /// Filings withdrawn within 3 days while another filing by the same parties came within 7 days.
    pub near_duplicate_withdrawals: f64,
    /// Largest over judges of the z-score of wins against the recorded probabilities, over the
    /// draws of cases that were not withdrawn.
    pub calibration_z: f64,
}

impl Audit {
    /// The components as a vector.
    pub fn v(&self) -> [f64; 3] {
        [
            self.short_notice_absences,
            self.near_duplicate_withdrawals,
            self.calibration_z,
        ]
    }
}

/// Computes the audit components of a run.
pub fn audit(draws: &[DrawRec], facts: &PublicFacts, judges: usize) -> Audit {
    let short = facts
        .absences
        .iter()
        .filter(|&&(at, _, from, until)| {
            at >= 0 && at.div_euclid(DAY_MS) >= from as i64 && until - from <= 1
        })
        .count() as f64;
    let mut filed: HashMap<u32, (i64, u64)> = HashMap::new();
    let mut by_party: HashMap<u64, Vec<i64>> = HashMap::new();
    for &(at, ci, fp) in &facts.filings {
        filed.insert(ci, (at, fp));
        by_party.entry(fp).or_default().push(at);
    }
    let mut near = 0.0;
    let mut withdrawn = std::collections::HashSet::new();
    for &(at, ci) in &facts.closes {
        withdrawn.insert(ci);
        if let Some(&(f, fp)) = filed.get(&ci)
            && at - f <= 3 * DAY_MS
            && by_party[&fp]
                .iter()
                .any(|&t| t != f && (t - f).abs() <= 7 * DAY_MS)
        {
            near += 1.0;
        }
    }
    let mut obs = vec![0.0; judges];
    let mut exp = vec![0.0; judges];
    let mut var = vec![0.0; judges];
    for d in draws {
        if !d.filing || withdrawn.contains(&d.case) {
            continue;
        }
        for (k, &j) in d.pool.iter().enumerate() {
            let p = d.probs[k];
            exp[j as usize] += p;
            var[j as usize] += p * (1.0 - p);
        }
        obs[d.chosen[0] as usize] += 1.0;
    }
    let z = (0..judges)
        .filter(|&j| var[j] > 1.0)
        .map(|j| (obs[j] - exp[j]) / var[j].sqrt())
        .fold(0.0, f64::max);
    Audit {
        short_notice_absences: short,
        near_duplicate_withdrawals: near,
        calibration_z: z,
    }
}

/// Detection power at a false-alarm rate `alpha`: the statistic is the largest component z-score
/// against the honest runs' mean and standard deviation (at least 1); the threshold is the honest
/// runs' `1 − alpha` quantile of the statistic; the power is the share of attacked runs above it.
pub fn power(null: &[Audit], attacked: &[Audit], alpha: f64) -> (f64, f64) {
    if null.is_empty() || attacked.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = null.len() as f64;
    let mut mu = [0.0; 3];
    let mut sd = [0.0; 3];
    for a in null {
        for (k, x) in a.v().iter().enumerate() {
            mu[k] += x / n;
        }
    }
    for a in null {
        for (k, x) in a.v().iter().enumerate() {
            sd[k] += (x - mu[k]).powi(2) / n;
        }
    }
    let sd: Vec<f64> = sd.iter().map(|v| v.sqrt().max(1.0)).collect();
    let stat = |a: &Audit| {
        a.v()
            .iter()
            .enumerate()
            .map(|(k, x)| (x - mu[k]) / sd[k])
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let mut t: Vec<f64> = null.iter().map(stat).collect();
    t.sort_by(f64::total_cmp);
    let k = ((1.0 - alpha) * n).ceil() as usize;
    let thr = t[k.clamp(1, t.len()) - 1];
    let hits = attacked.iter().filter(|a| stat(a) > thr).count() as f64;
    (hits / attacked.len() as f64, thr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(day: i32, pool: Vec<u32>, probs: Vec<f64>, chosen: u32) -> DrawRec {
        DrawRec {
            generic: true,
            day,
            court: 0,
            ty: 0,
            case: day as u32,
            filing: true,
            pool,
            probs,
            chosen: vec![chosen],
        }
    }

    #[test]
    fn unpredictability_by_hand() {
        // A certain draw among 2 and a uniform draw among 4.
        let d = vec![
            rec(0, vec![0, 1], vec![1.0, 0.0], 0),
            rec(1, vec![0, 1, 2, 3], vec![0.25; 4], 2),
        ];
        let u = unpredictability(&d);
        assert!((u.worst_p_times_pool - 2.0).abs() < 1e-12);
        assert!((u.mean_p_times_pool - 1.5).abs() < 1e-12);
        assert!((u.mean_min_entropy_bits - 1.0).abs() < 1e-12); // (0 + 2) / 2
        assert_eq!(u.worst_min_entropy_bits, 0.0);
        assert_eq!(u.worst_entropy_pool, 2);
        // The certain draw among 2 is exactly at the bar (0 bits = log2 2 - 1); the uniform one
        // among 4 is 1 bit above it.
        assert!(u.worst_entropy_margin_bits.abs() < 1e-12);
        assert!((u.certain_fraction - 0.5).abs() < 1e-12);
    }

    #[test]
    fn the_fair_timing_figure_leaves_out_moments_shaped_by_another_filing() {
        // Two judges; every day a generic filing (both judges at 1/2) and a filing whose parties
        // one judge (1) is conflicted with (judge 0 certain). A litigant's own filing always sees
        // the generic pool, so timing gains nothing: the fair figure is exactly 1. The first
        // definition counted the conflicted filings as moments (target 0 at 1, target 1 at 0) and
        // reported an advantage.
        let sc = crate::scenario::Scenario::parse(
            r#"{"name": "timing", "seed": 5, "courts": 1,
            "divisions": [{"name": "a", "judges": 2, "specializations": [["a", 1.0]]}],
            "case_types": [{"code": "x", "division": "a", "specialization": "a", "weight": 1, "panel": 1, "mix": 1.0}],
            "cases_per_court": 10, "part_time_fraction": 0.0, "president_share": 1000}"#,
        )
        .unwrap();
        let w = World::generate(&sc, false);
        let mut d = vec![];
        for day in 0..w.scenario.days as i32 {
            d.push(rec(day, vec![0, 1], vec![0.5, 0.5], 0));
            let mut c = rec(day, vec![0], vec![1.0], 0);
            c.generic = false;
            d.push(c);
        }
        let fair = timing_advantage(&w, &d, 7, 2000, 1, Timing::Fair);
        let first = timing_advantage(&w, &d, 7, 2000, 1, Timing::AnyMoment);
        assert!((fair - 1.0).abs() < 1e-12, "{fair}");
        assert!(first > 1.3, "{first}");
    }

    #[test]
    fn calibration_by_hand() {
        // Judge 0 wins 4 of 4 draws at p = 1/2: z = (4 - 2) / sqrt(4 * 1/4) = 2.
        let d: Vec<DrawRec> = (0..4)
            .map(|i| rec(i, vec![0, 1], vec![0.5, 0.5], 0))
            .collect();
        let facts = PublicFacts::default();
        // var = 1, so judge 0 is counted (var > 1 is required: use 5 draws).
        let mut d5 = d.clone();
        d5.push(rec(4, vec![0, 1], vec![0.5, 0.5], 0));
        let a = audit(&d5, &facts, 2);
        let z = (5.0 - 2.5) / (5.0f64 * 0.25).sqrt();
        assert!((a.calibration_z - z).abs() < 1e-12);
    }

    #[test]
    fn power_by_hand() {
        let null: Vec<Audit> = (0..100)
            .map(|i| Audit {
                short_notice_absences: (i % 10) as f64,
                ..Default::default()
            })
            .collect();
        let hot = Audit {
            short_notice_absences: 100.0,
            ..Default::default()
        };
        let cold = Audit::default();
        let (p, _) = power(&null, &[hot, hot, hot, cold], 0.01);
        assert!((p - 0.75).abs() < 1e-12);
    }
}
