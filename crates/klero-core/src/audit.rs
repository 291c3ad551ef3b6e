//! The observer's audit: statistics that flag steering, computed by anyone from the public log.
//!
//! Verifying a log proves the arithmetic of every draw, not the fairness of what fed it. The ways
//! real allocation systems were steered all leave traces in the log, and this module looks for them,
//! replaying the log through the same [`Verifier`] as `klero verify` (so it runs on any exported
//! log, offline, and an audit of a log that does not verify says so):
//!
//! - **calibration**: every judge's presiding seats against the sum of the probabilities the draws
//!   recorded for them, with a z-score and a p-value corrected for the number of judges (Holm), and a
//!   calibration table over all random draws (deciles of predicted probability against observed
//!   frequency);
//! - **short-notice changes**: absences, deactivations, division, specialization and share changes,
//!   cancelled absences and conflict declarations recorded shortly before draws they affected, per
//!   actor and per judge; the test asks whether such changes were followed *promptly* by a draw
//!   they affected more often than the court's own filing rate around that moment explains;
//! - **withdraw and refile**: cases closed soon after their draw whose parties filed again soon,
//!   per clerk, and the judges who ended up with the refiled cases;
//! - **reassignments and recusals**: per clerk, per judge and per reason, against the court's base
//!   rate, and the judges who ended up with reassigned cases;
//! - **fallbacks**: draws at a widened pool (`court`, `court_below_minimum`) and allocations by
//!   reference or by any non-random method, per actor, against the court's base rate.
//!
//! Every finding lists the entries that support it, so anyone can check it by hand.
//!
//! ## The "second chance" test
//!
//! A draw is fair, so withdrawing and refiling a case, or reassigning it, until a wanted judge comes
//! up leaves every single draw calibrated: the trace is in *which draws stuck*. Draws of refiled
//! cases and replacement draws after a reassignment are "second-chance draws"; one that is itself
//! undone (the case is closed and refiled, or reassigned again, within `undo_days`) did not stick.
//! Under honest conduct the stuck second-chance draws are as calibrated as any other; under the
//! attack the wanted judge wins far more of them than their recorded probabilities allow.
//!
//! ## What a flag means
//!
//! Every test gives a p-value: the chance of a result at least this extreme if the court behaved
//! honestly (under the test's stated model). Within a family (all the judges, all the actors) the
//! p-values are corrected by Holm's method; a finding is flagged when its corrected p-value is below
//! `alpha` (default 0.001). With about ten families, an honest court is flagged in well under 1% of
//! audits (measured on simulated courts: see the README's "Auditing a court"). A flag is a question
//! to ask, with the entries to ask it about, not a proof: a judge on long leave collects
//! reassignments honestly, and a busy registry records absences while filings arrive.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::Serialize;

use crate::day::{Day, Millis};
use crate::event::{Actor, Draw, Event, Exclusion, LogEntry, Method, PoolScope};
use crate::ids::{CaseId, Commitment, CourtId, JudgeId};
use crate::state::{State, fmt_index};
use crate::verify::{Failure, Verifier};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// Evidence lists are cut at this many entries (the count is always complete).
const MAX_EVIDENCE: usize = 200;

/// What to audit and how sensitive the tests are.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditConfig {
    /// Only this court (default: every court in the log).
    pub court: Option<CourtId>,
    /// Only count what happened on or after this day (the whole log is still replayed).
    pub since: Option<Day>,
    /// A finding is flagged when its corrected p-value is below this.
    pub alpha: f64,
    /// A change is short-notice when a draw it affected was opened within this many hours.
    pub short_notice_hours: u32,
    /// A short-notice change is "prompt" when the first draw it affected was opened within this many
    /// minutes.
    pub prompt_minutes: u32,
    /// A draw is undone when its case is closed (for refiling) or reassigned within this many days.
    pub undo_days: u32,
    /// A closed case's parties refiling within this many days of the closing form a refile chain.
    pub refile_days: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            court: None,
            since: None,
            alpha: 0.001,
            short_notice_hours: 24,
            prompt_minutes: 10,
            undo_days: 7,
            refile_days: 14,
        }
    }
}

/// One statistical test of one subject (a judge, an actor, or the whole court).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// Which test (`calibration`, `short_notice_prompt`, `refile_winner`, ...).
    pub test: String,
    /// Whom it is about: `judge J-04`, `clerk clerk-1`, `court north`.
    pub subject: String,
    /// The result in words.
    pub statement: String,
    /// The observed count.
    pub observed: f64,
    /// What honest conduct leads one to expect.
    pub expected: f64,
    /// The p-value of the observation under honest conduct.
    pub p_value: f64,
    /// The p-value corrected for the number of subjects compared (Holm).
    pub adjusted_p: f64,
    /// `adjusted_p < alpha`.
    pub flagged: bool,
    /// Entries that support the finding (the first 200).
    pub entries: Vec<u64>,
}

/// A count of something out of a number of opportunities, for one subject.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Count {
    /// Whom it is about.
    pub subject: String,
    /// How many times.
    pub count: u64,
    /// Out of how many opportunities (what the rate is taken over is named in each section).
    pub out_of: u64,
}

/// Per-judge calibration: presiding seats won against the recorded probabilities.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JudgeCalibration {
    /// The judge.
    pub judge: JudgeId,
    /// Random draws the judge was eligible in.
    pub draws: u64,
    /// Presiding (first) seats won.
    pub wins: u64,
    /// Sum of the recorded first-seat probabilities.
    pub expected: f64,
    /// Sum of `p (1 - p)`: the variance of the wins under the recorded probabilities.
    pub variance: f64,
    /// `(wins - expected) / sqrt(variance)`.
    pub z: f64,
    /// Two-sided p-value (normal approximation with continuity and skewness corrections).
    pub p_value: f64,
    /// Holm-corrected over the court's judges.
    pub adjusted_p: f64,
    /// `adjusted_p < alpha`.
    pub flagged: bool,
}

/// One bin of the calibration plot.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CalibrationBin {
    /// Lower edge of the predicted probability (inclusive).
    pub from: f64,
    /// Upper edge (exclusive; the last bin includes 1).
    pub to: f64,
    /// (judge, draw) pairs in the bin.
    pub pairs: u64,
    /// Mean predicted probability.
    pub predicted: f64,
    /// Observed frequency of a win.
    pub observed: f64,
}

/// Calibration of a court's random draws.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Calibration {
    /// Random draws counted.
    pub draws: u64,
    /// Per judge.
    pub judges: Vec<JudgeCalibration>,
    /// Ten bins of predicted probability.
    pub bins: Vec<CalibrationBin>,
}

/// A change recorded shortly before a draw it affected.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShortNoticeChange {
    /// The entry that recorded the change.
    pub entry: u64,
    /// When.
    pub at: Millis,
    /// Who recorded it (`court_admin registrar`).
    pub actor: String,
    /// The judge it concerns.
    pub judge: JudgeId,
    /// `absence`, `absence_cancelled`, `deactivation`, `activation`, `division`, `specialization`,
    /// `share` or `conflict`.
    pub kind: String,
    /// The draw entries it affected within the short-notice window.
    pub draws: Vec<u64>,
    /// Milliseconds from the change to the trigger of the first draw it affected.
    pub gap_ms: i64,
    /// The chance, from the court's filing rate around that moment, that a draw would follow this
    /// soon by coincidence (for prompt changes; the prompt test sums these).
    pub chance: f64,
}

/// Short-notice changes of a court.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShortNotice {
    /// Changes recorded for the court's judges (every kind above).
    pub changes: u64,
    /// Those that affected a draw within `short_notice_hours`.
    pub short_notice: Vec<ShortNoticeChange>,
    /// Per actor: short-notice changes out of all their changes.
    pub per_actor: Vec<Count>,
    /// Per judge concerned: short-notice changes out of all changes concerning them.
    pub per_judge: Vec<Count>,
    /// Per day: short-notice changes recorded that day (for a plot over time).
    pub per_day: Vec<(Day, u64)>,
    /// Whether prompt changes (a draw within `prompt_minutes`) are more than coincidence explains.
    pub prompt: Finding,
    /// Per actor: prompt changes out of their changes, against the court's rate.
    pub actor_tests: Vec<Finding>,
}

/// A case closed soon after its draw whose parties filed again soon.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RefileChain {
    /// The case closed.
    pub closed_case: CaseId,
    /// The closing entry.
    pub closed_entry: u64,
    /// The judge the closed case had (presiding).
    pub closed_judge: Option<JudgeId>,
    /// The new filing.
    pub refiled_case: CaseId,
    /// The new filing's entry.
    pub filed_entry: u64,
    /// Who filed it.
    pub clerk: String,
    /// Its draw entry.
    pub draw_entry: Option<u64>,
    /// The judge it got (presiding).
    pub judge: Option<JudgeId>,
    /// The refiled case was itself closed and refiled, or reassigned, soon after.
    pub undone: bool,
}

/// Withdraw and refile.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Refiling {
    /// Every chain link found.
    pub chains: Vec<RefileChain>,
    /// Per clerk: refilings out of filings.
    pub per_clerk: Vec<Count>,
    /// Per judge: presiding seats won in refiled cases' draws that stuck, against their
    /// probabilities.
    pub judge_tests: Vec<Finding>,
    /// Per clerk: refilings against the court's rate (only with two clerks or more).
    pub clerk_tests: Vec<Finding>,
    /// Per judge: of the draws in refile chains the judge won, how few were withdrawn, against the
    /// share of all chain draws that were withdrawn (the wanted judge is the one parties stop at).
    pub kept_tests: Vec<Finding>,
}

/// Reassignments and recusals.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reassignments {
    /// Reassignments counted.
    pub reassignments: u64,
    /// Recusals counted.
    pub recusals: u64,
    /// Reassignments per clerk, out of their case actions (filings, reassignments, closings).
    pub per_clerk: Vec<Count>,
    /// Reassignments per judge removed, out of seats they won.
    pub per_judge_removed: Vec<Count>,
    /// Reassignments per reason.
    pub per_reason: Vec<Count>,
    /// Recusals per judge, out of seats they won.
    pub recusals_per_judge: Vec<Count>,
    /// Recusals per reason.
    pub recusals_per_reason: Vec<Count>,
    /// Per judge: presiding seats won in replacement draws after a reassignment that stuck.
    pub judge_tests: Vec<Finding>,
    /// Per clerk: reassignments against the court's rate (only with two clerks or more).
    pub clerk_tests: Vec<Finding>,
    /// Per judge: recusals against the court's rate per seat won.
    pub recusal_tests: Vec<Finding>,
    /// Per judge: of the draws they won that a reassignment soon undid or that followed one, how
    /// few were undone (the wanted judge is the one the reassigning stops at).
    pub kept_tests: Vec<Finding>,
}

/// Fallbacks: widened pools and allocations not by a plain random draw.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fallbacks {
    /// Draw entries counted.
    pub draws: u64,
    /// Per method (`random`, `related`, `duplicate`, ...).
    pub per_method: Vec<Count>,
    /// Per pool scope (`division`, `court`, `court_below_minimum`).
    pub per_scope: Vec<Count>,
    /// Per actor of the trigger: fallback uses out of draws they triggered.
    pub per_actor: Vec<Count>,
    /// The draw entries that fell back (the first 200).
    pub entries: Vec<u64>,
    /// Per actor against the court's rate (only with two actors or more).
    pub actor_tests: Vec<Finding>,
}

/// The audit of one court.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CourtAudit {
    /// The court.
    pub court: CourtId,
    /// Filings counted.
    pub filings: u64,
    /// Calibration.
    pub calibration: Calibration,
    /// Short-notice changes.
    pub short_notice: ShortNotice,
    /// Withdraw and refile.
    pub refiling: Refiling,
    /// Reassignments and recusals.
    pub reassignments: Reassignments,
    /// Fallbacks.
    pub fallbacks: Fallbacks,
    /// Every flagged finding, most significant first.
    pub flags: Vec<Finding>,
}

/// The audit of a log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditReport {
    /// The settings used.
    pub config: AuditConfig,
    /// Entries replayed.
    pub entries: u64,
    /// The first entry that failed verification, if any (the audit covers the entries before it).
    pub failure: Option<String>,
    /// The court asked for, when the log has no such court.
    pub unknown_court: Option<CourtId>,
    /// Per court, in ascending order of court id.
    pub courts: Vec<CourtAudit>,
}

impl AuditReport {
    /// True when anything is flagged or the log did not verify.
    pub fn flagged(&self) -> bool {
        self.failure.is_some()
            || self.unknown_court.is_some()
            || self.courts.iter().any(|c| !c.flags.is_empty())
    }
}

// ----------------------------------------------------------------------------------------------
// Statistics.

/// The complementary error function (Numerical Recipes' `erfcc`, fractional error below 1.2e-7).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Two-sided p-value of a standard normal z-score.
pub fn normal_two_sided(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

/// The two-sided p-value of `wins` for a sum of Bernoulli trials with mean `mean`, variance `var`
/// and third central moment `third`: twice the smaller tail, each by the normal approximation with
/// a continuity correction and a one-term Edgeworth correction for skewness (a judge with small
/// probabilities has a longer upper tail than the normal curve).
pub fn calibration_p(wins: u64, mean: f64, var: f64, third: f64) -> f64 {
    let sd = var.sqrt();
    let gamma = third / (var * sd);
    let phi = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let upper_z = (wins as f64 - 0.5 - mean) / sd;
    let lower_z = (wins as f64 + 0.5 - mean) / sd;
    let upper = 0.5 * erfc(upper_z / std::f64::consts::SQRT_2)
        + phi(upper_z) * gamma * (upper_z * upper_z - 1.0) / 6.0;
    let lower = 0.5 * erfc(-lower_z / std::f64::consts::SQRT_2)
        - phi(lower_z) * gamma * (lower_z * lower_z - 1.0) / 6.0;
    (2.0 * upper.min(lower)).clamp(0.0, 1.0)
}

/// `P(X >= k)` for a sum `X` of independent Bernoulli trials with probabilities `ps` (exact).
pub fn poisson_binomial_upper(ps: &[f64], k: u64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k as usize > ps.len() {
        return 0.0;
    }
    let k = k as usize;
    // dist[i] = P(X = i) for i < k; tail = P(X >= k).
    let mut dist = vec![0.0f64; k];
    dist[0] = 1.0;
    let mut tail = 0.0f64;
    for &p in ps {
        let p = p.clamp(0.0, 1.0);
        tail += dist[k - 1] * p;
        for i in (1..k).rev() {
            dist[i] = dist[i] * (1.0 - p) + dist[i - 1] * p;
        }
        dist[0] *= 1.0 - p;
    }
    tail.clamp(0.0, 1.0)
}

fn ln_gamma(x: f64) -> f64 {
    // Lanczos approximation (g = 7, n = 9).
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// `P(X >= k)` for `X ~ Binomial(n, p)`.
pub fn binomial_upper(n: u64, k: u64, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let (nf, lp, lq) = (n as f64, p.ln(), (1.0 - p).ln());
    let lc = ln_gamma(nf + 1.0);
    let mut sum = 0.0;
    for i in k..=n {
        let fi = i as f64;
        let term =
            (lc - ln_gamma(fi + 1.0) - ln_gamma(nf - fi + 1.0) + fi * lp + (nf - fi) * lq).exp();
        sum += term;
        if term < sum * 1e-17 && fi > nf * p {
            break;
        }
    }
    sum.min(1.0)
}

/// Holm's step-down correction: adjusted p-values in the input order.
pub fn holm(ps: &[f64]) -> Vec<f64> {
    let m = ps.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| ps[a].total_cmp(&ps[b]));
    let mut out = vec![0.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        let adj = ((m - rank) as f64 * ps[i]).min(1.0);
        running = running.max(adj);
        out[i] = running;
    }
    out
}

/// Applies Holm within `tests` and sets `flagged` at `alpha`.
fn correct(tests: &mut [Finding], alpha: f64) {
    let adj = holm(&tests.iter().map(|t| t.p_value).collect::<Vec<_>>());
    for (t, a) in tests.iter_mut().zip(adj) {
        t.adjusted_p = a;
        t.flagged = a < alpha;
    }
}

fn evidence(v: &[u64]) -> Vec<u64> {
    v.iter().take(MAX_EVIDENCE).copied().collect()
}

fn actor_name(a: &Actor) -> String {
    format!("{} {}", a.role.name(), a.id)
}

/// The JSON name of a draw method: `random`, `related`, `duplicate`, or any kind added later.
fn method_name(m: &Method) -> String {
    match m {
        Method::Random => "random".into(),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "other".into()),
    }
}

fn scope_name(s: PoolScope) -> &'static str {
    match s {
        PoolScope::Division => "division",
        PoolScope::Court => "court",
        PoolScope::CourtBelowMinimum => "court_below_minimum",
    }
}

/// First-seat probabilities of a random draw's eligible judges (`weight / sum`); empty when the
/// draw has no weights (by reference).
fn first_seat(d: &Draw) -> Vec<(JudgeId, f64)> {
    let total: u128 = d.eligible.iter().map(|c| c.weight as u128).sum();
    if total == 0 {
        // Every weight zero: the SPEC draws uniformly (§7.6).
        let n = d.eligible.len() as f64;
        return d
            .eligible
            .iter()
            .map(|c| (c.judge.clone(), 1.0 / n))
            .collect();
    }
    d.eligible
        .iter()
        .map(|c| (c.judge.clone(), c.weight as f64 / total as f64))
        .collect()
}

/// A subject's count, opportunities and supporting entries.
type Tally = (String, u64, u64, Vec<u64>);

/// A binomial rate test per subject (count out of opportunities) against the pooled rate of the
/// subjects **of the same role** (the first word of the subject: a judge's recusal draws fall back
/// more often than a clerk's filings, honestly), one-sided (too many), Holm-corrected over all the
/// subjects tested; a role with fewer than two subjects is not tested.
fn rate_tests(test: &str, what: &str, counts: &[Tally], alpha: f64) -> Vec<Finding> {
    let role = |s: &str| s.split(' ').next().unwrap_or("").to_owned();
    let mut groups: BTreeMap<String, Vec<&Tally>> = BTreeMap::new();
    for c in counts.iter().filter(|c| c.2 > 0) {
        groups.entry(role(&c.0)).or_default().push(c);
    }
    let mut out: Vec<Finding> = Vec::new();
    for with in groups.values() {
        if with.len() < 2 {
            continue;
        }
        let (k, n) = with.iter().fold((0, 0), |(k, n), c| (k + c.1, n + c.2));
        if k == 0 {
            continue;
        }
        let rate = k as f64 / n as f64;
        out.extend(with.iter().map(|(who, k, n, ev)| {
            let expected = *n as f64 * rate;
            Finding {
                test: test.into(),
                subject: who.clone(),
                statement: format!(
                    "{who}: {k} {what} out of {n}, where the rate of their peers ({:.2}%) gives \
                     {expected:.1}",
                    rate * 100.0
                ),
                observed: *k as f64,
                expected,
                p_value: binomial_upper(*n, *k, rate),
                adjusted_p: 1.0,
                flagged: false,
                entries: evidence(ev),
            }
        }));
    }
    correct(&mut out, alpha);
    out
}

/// Per judge: presiding seats won among `draws` against the recorded probabilities (exact,
/// one-sided: too many wins).
fn winner_tests(test: &str, what: &str, draws: &[&SecondChance], alpha: f64) -> Vec<Finding> {
    let mut per: BTreeMap<JudgeId, (Vec<f64>, u64, Vec<u64>)> = BTreeMap::new();
    for d in draws {
        for (j, p) in &d.probs {
            per.entry(j.clone()).or_default().0.push(*p);
        }
        if let Some(w) = &d.winner {
            let e = per.entry(w.clone()).or_default();
            e.1 += 1;
            e.2.push(d.draw_entry);
        }
    }
    let mut out: Vec<Finding> = per
        .into_iter()
        .filter(|(_, (ps, _, _))| !ps.is_empty())
        .map(|(j, (ps, wins, ev))| {
            let expected: f64 = ps.iter().sum();
            Finding {
                test: test.into(),
                subject: format!("judge {j}"),
                statement: format!(
                    "judge {j} presides over {wins} of the {} {what} they could get, where the \
                     recorded probabilities give {expected:.1}",
                    ps.len()
                ),
                observed: wins as f64,
                expected,
                p_value: poisson_binomial_upper(&ps, wins),
                adjusted_p: 1.0,
                flagged: false,
                entries: evidence(&ev),
            }
        })
        .collect();
    correct(&mut out, alpha);
    out
}

/// Per judge: the draws in chains (refile or reassignment) they won, and how many of those were
/// undone, against the undone share of all chain draws (one-sided: too few undone). `items` are
/// (winner, undone, supporting entry).
fn kept_tests(items: &[(JudgeId, bool, u64)], test: &str, what: &str, alpha: f64) -> Vec<Finding> {
    // (won, undone, entries) per judge.
    let mut per: BTreeMap<JudgeId, (u64, u64, Vec<u64>)> = BTreeMap::new();
    for (j, undone, entry) in items {
        let e = per.entry(j.clone()).or_default();
        e.0 += 1;
        e.1 += *undone as u64;
        e.2.push(*entry);
    }
    let (n, k) = per.values().fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1));
    if n == 0 || k == 0 || k == n {
        return vec![];
    }
    let rate = k as f64 / n as f64;
    let mut out: Vec<Finding> = per
        .into_iter()
        .map(|(j, (won, undone, ev))| {
            let kept = won - undone;
            Finding {
                test: test.into(),
                subject: format!("judge {j}"),
                statement: format!(
                    "judge {j} won {won} draws in {what} and {kept} of them stuck, where the rate \
                     at which such draws were undone ({:.0}%) gives {:.1}",
                    rate * 100.0,
                    won as f64 * (1.0 - rate)
                ),
                observed: kept as f64,
                expected: won as f64 * (1.0 - rate),
                p_value: binomial_upper(won, kept, 1.0 - rate),
                adjusted_p: 1.0,
                flagged: false,
                entries: evidence(&ev),
            }
        })
        .collect();
    correct(&mut out, alpha);
    out
}

// ----------------------------------------------------------------------------------------------
// Collection.

/// What a change does to a judge's place in later draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    /// Keeps the judge out for this reason.
    Excludes(Exclusion),
    /// Puts the judge in the pool, or changes their weight there.
    Includes,
}

#[derive(Clone, Debug)]
struct Change {
    entry: u64,
    at: Millis,
    actor: String,
    judge: JudgeId,
    kind: &'static str,
    effects: Vec<Effect>,
    draws: Vec<u64>,
    first_trigger_at: Option<Millis>,
    counted: bool,
}

#[derive(Clone, Debug)]
struct SecondChance {
    draw_entry: u64,
    at: Millis,
    probs: Vec<(JudgeId, f64)>,
    winner: Option<JudgeId>,
    undone: bool,
}

#[derive(Clone, Debug)]
struct Closed {
    at: Millis,
    case: CaseId,
    entry: u64,
    judge: Option<JudgeId>,
}

#[derive(Clone, Debug, Default)]
struct CourtData {
    filings: u64,
    filing_times: Vec<Millis>,
    // Calibration.
    cal: BTreeMap<JudgeId, (u64, u64, f64, f64, f64)>, // draws, wins, sum p, p(1-p), p(1-p)(1-2p)
    cal_draws: u64,
    bins: [(u64, f64, f64); 10], // pairs, sum predicted, wins
    // Short notice.
    changes: Vec<Change>,
    // Refiling.
    chains: Vec<RefileChain>,
    refiles: Vec<SecondChance>,
    filings_by: BTreeMap<String, (u64, Vec<u64>)>,
    refiles_by: BTreeMap<String, (u64, Vec<u64>)>,
    // Reassignments and recusals.
    reassigned: Vec<SecondChance>,
    /// Reassignments within `undo_days` of the case's last draw: (judge removed, entry).
    quick_reassign: Vec<(JudgeId, u64)>,
    seats: BTreeMap<JudgeId, u64>,
    case_actions_by: BTreeMap<String, u64>,
    reassign_by_clerk: BTreeMap<String, (u64, Vec<u64>)>,
    reassign_by_judge: BTreeMap<JudgeId, u64>,
    reassign_by_reason: BTreeMap<String, u64>,
    recusal_by_judge: BTreeMap<JudgeId, (u64, Vec<u64>)>,
    recusal_by_reason: BTreeMap<String, u64>,
    // Fallbacks.
    draws: u64,
    per_method: BTreeMap<String, u64>,
    per_scope: BTreeMap<String, u64>,
    triggers_by: BTreeMap<String, (u64, u64, Vec<u64>)>, // draws, fallbacks, entries
    fallback_entries: Vec<u64>,
}

/// What the trigger entry of the next draw was.
#[derive(Clone, Debug)]
struct Trigger {
    at: Millis,
    actor: String,
    kind: TriggerKind,
}

#[derive(Clone, Debug)]
enum TriggerKind {
    Filing,
    Recusal,
    Reassignment,
}

/// An audit fed one entry at a time (a file or a server's pages), replaying and verifying each.
#[derive(Clone, Debug)]
pub struct Auditor {
    config: AuditConfig,
    verifier: Verifier,
    since_ms: Millis,
    courts: BTreeMap<CourtId, CourtData>,
    /// Recent changes per judge (indices into the court's `changes`), newest last.
    recent: HashMap<JudgeId, VecDeque<(CourtId, usize)>>,
    /// The last draw of each case: (entry, time, presiding judge).
    last_draw: HashMap<CaseId, (u64, Millis, Option<JudgeId>)>,
    /// Cases closed soon after their draw, by court and party set.
    closed: HashMap<(CourtId, Vec<Commitment>), Vec<Closed>>,
    /// The open second-chance draw of a case: (court, refile?, index).
    second: HashMap<CaseId, (CourtId, bool, usize)>,
    trigger: Option<Trigger>,
    pending_chain: Option<RefileChain>,
}

impl Auditor {
    /// An auditor at the start of a log.
    pub fn new(config: AuditConfig) -> Auditor {
        let since_ms = config.since.map_or(Millis::MIN, |d| d.start_millis());
        Auditor {
            config,
            verifier: Verifier::new(),
            since_ms,
            courts: BTreeMap::new(),
            recent: HashMap::new(),
            last_draw: HashMap::new(),
            closed: HashMap::new(),
            second: HashMap::new(),
            trigger: None,
            pending_chain: None,
        }
    }

    /// The log as replayed so far (its size, Merkle root, state).
    pub fn log(&self) -> &crate::verify::Log {
        self.verifier.log()
    }

    /// Sizes the replay's tables for a log of about `entries` entries: [`crate::Verifier::reserve`].
    pub fn reserve(&mut self, entries: u64) {
        self.verifier.reserve(entries);
    }

    /// Entries replayed so far.
    pub fn entries(&self) -> u64 {
        self.verifier.log().size()
    }

    /// Records a failure found outside the entries (an unreadable line, say), naming the SPEC
    /// section it breaks.
    pub fn fail(&mut self, section: &'static str, message: String) {
        self.verifier.fail(section, message);
    }

    /// True once the replay has failed.
    pub fn failed(&self) -> bool {
        self.verifier.failure().is_some()
    }

    fn counts(&self, at: Millis) -> bool {
        at >= self.since_ms
    }

    fn wanted(&self, court: &CourtId) -> bool {
        self.config.court.as_ref().is_none_or(|c| c == court)
    }

    /// Verifies and applies the next entry, then collects what the audit needs from it. After a
    /// failure every further call returns that failure.
    pub fn push(&mut self, e: &LogEntry) -> Result<(), Failure> {
        // What the entry changes is judged against the state before it.
        let before = self.observe_before(e);
        self.verifier.push(e)?;
        self.observe_after(e, before);
        Ok(())
    }

    fn state(&self) -> &State {
        self.verifier.log().state()
    }

    /// Facts that must be read before the entry is applied.
    fn observe_before(&self, e: &LogEntry) -> Option<Change> {
        let st = self.state();
        let actor = actor_name(&e.actor);
        let change = |judge: &JudgeId, kind: &'static str, effects: Vec<Effect>| Change {
            entry: e.index,
            at: e.at,
            actor: actor.clone(),
            judge: judge.clone(),
            kind,
            effects,
            draws: vec![],
            first_trigger_at: None,
            counted: false,
        };
        match &e.event {
            Event::AbsenceRecorded { judge, .. } => Some(change(
                judge,
                "absence",
                vec![Effect::Excludes(Exclusion::Absent)],
            )),
            Event::AbsenceCancelled { absence } => {
                let judge = st
                    .courts()
                    .flat_map(|(c, _)| st.court_judges(c))
                    .find(|j| j.absences.iter().any(|a| &a.id == absence))?;
                Some(change(
                    &judge.id,
                    "absence_cancelled",
                    vec![Effect::Includes],
                ))
            }
            Event::ConflictDeclared { judge, .. } => Some(change(
                judge,
                "conflict",
                vec![Effect::Excludes(Exclusion::Conflict)],
            )),
            Event::JudgeUpdated {
                judge,
                division,
                specializations,
                share_permille,
                active,
            } => {
                let old = st.judge(judge)?;
                let (kind, effects): (&'static str, Vec<Effect>) = if old.active && !active {
                    ("deactivation", vec![Effect::Excludes(Exclusion::Inactive)])
                } else if !old.active && *active {
                    ("activation", vec![Effect::Includes])
                } else if &old.division != division {
                    (
                        "division",
                        vec![Effect::Excludes(Exclusion::OtherDivision), Effect::Includes],
                    )
                } else if old
                    .specializations
                    .iter()
                    .any(|s| !specializations.contains(s))
                {
                    (
                        "specialization",
                        vec![Effect::Excludes(Exclusion::NoSpecialization)],
                    )
                } else if old.share_permille != *share_permille {
                    ("share", vec![Effect::Includes])
                } else if old.specializations != *specializations {
                    // Only additions are left: the judge enters pools they were not in.
                    ("specialization", vec![Effect::Includes])
                } else {
                    return None;
                };
                Some(change(judge, kind, effects))
            }
            _ => None,
        }
    }

    fn observe_after(&mut self, e: &LogEntry, change: Option<Change>) {
        let counts = self.counts(e.at);
        let actor = actor_name(&e.actor);
        if let Some(c) = change {
            let Some(court) = self.state().judge(&c.judge).map(|j| j.court.clone()) else {
                return;
            };
            if !self.wanted(&court) {
                return;
            }
            let data = self.courts.entry(court.clone()).or_default();
            let mut c = c;
            c.counted = counts;
            data.changes.push(c.clone());
            let ix = data.changes.len() - 1;
            let q = self.recent.entry(c.judge.clone()).or_default();
            q.push_back((court, ix));
            return;
        }
        match &e.event {
            Event::CaseFiled {
                case,
                court,
                parties,
                ..
            } => {
                if !self.wanted(court) {
                    return;
                }
                let window = self.config.refile_days as i64 * DAY_MS;
                let key = (court.clone(), parties.clone());
                // The most recent closing of the same parties links to this filing, once.
                let link = self.closed.get_mut(&key).and_then(|v| {
                    v.retain(|c| e.at - c.at <= window);
                    let i = v.iter().rposition(|c| &c.case != case)?;
                    Some(v.remove(i))
                });
                if let Some(c) = &link {
                    // The closed case's draw (if a second chance itself) did not stick.
                    self.undo(&c.case, c.at);
                }
                let data = self.courts.entry(court.clone()).or_default();
                data.filing_times.push(e.at);
                if counts {
                    data.filings += 1;
                    let f = data.filings_by.entry(actor.clone()).or_default();
                    f.0 += 1;
                    *data.case_actions_by.entry(actor.clone()).or_default() += 1;
                }
                self.pending_chain = link.map(|c| RefileChain {
                    closed_case: c.case.clone(),
                    closed_entry: c.entry,
                    closed_judge: c.judge.clone(),
                    refiled_case: case.clone(),
                    filed_entry: e.index,
                    clerk: actor.clone(),
                    draw_entry: None,
                    judge: None,
                    undone: false,
                });
                self.trigger = Some(Trigger {
                    at: e.at,
                    actor,
                    kind: TriggerKind::Filing,
                });
            }
            Event::Recusal {
                case,
                judge,
                reason,
            } => {
                let Some(court) = self.case_court(case) else {
                    return;
                };
                if counts {
                    let data = self.courts.entry(court).or_default();
                    let r = data.recusal_by_judge.entry(judge.clone()).or_default();
                    r.0 += 1;
                    r.1.push(e.index);
                    *data.recusal_by_reason.entry(enum_name(reason)).or_default() += 1;
                }
                self.trigger = Some(Trigger {
                    at: e.at,
                    actor,
                    kind: TriggerKind::Recusal,
                });
            }
            Event::Reassignment {
                case,
                judge,
                reason,
            } => {
                let Some(court) = self.case_court(case) else {
                    return;
                };
                self.undo(case, e.at);
                let quick = self
                    .last_draw
                    .get(case)
                    .is_some_and(|d| e.at - d.1 <= self.config.undo_days as i64 * DAY_MS);
                if counts {
                    let data = self.courts.entry(court).or_default();
                    if quick {
                        data.quick_reassign.push((judge.clone(), e.index));
                    }
                    let r = data.reassign_by_clerk.entry(actor.clone()).or_default();
                    r.0 += 1;
                    r.1.push(e.index);
                    *data.case_actions_by.entry(actor.clone()).or_default() += 1;
                    *data.reassign_by_judge.entry(judge.clone()).or_default() += 1;
                    *data
                        .reassign_by_reason
                        .entry(enum_name(reason))
                        .or_default() += 1;
                }
                self.trigger = Some(Trigger {
                    at: e.at,
                    actor,
                    kind: TriggerKind::Reassignment,
                });
            }
            Event::CaseClosed { case, .. } => {
                let Some(court) = self.case_court(case) else {
                    return;
                };
                if counts {
                    let data = self.courts.entry(court.clone()).or_default();
                    *data.case_actions_by.entry(actor).or_default() += 1;
                }
                let undo = self.config.undo_days as i64 * DAY_MS;
                if let Some((_, drawn_at, judge)) = self.last_draw.get(case).cloned()
                    && e.at - drawn_at <= undo
                    && let Some(parties) = self.state().case(case).map(|c| c.parties.to_vec())
                {
                    self.closed
                        .entry((court, parties))
                        .or_default()
                        .push(Closed {
                            at: e.at,
                            case: case.clone(),
                            entry: e.index,
                            judge,
                        });
                }
            }
            Event::Draw(d) => self.on_draw(e, d, counts),
            _ => {}
        }
    }

    fn case_court(&self, case: &CaseId) -> Option<CourtId> {
        let court = self.state().case(case)?.court.clone();
        self.wanted(&court).then_some(court)
    }

    /// Marks the last second-chance draw of `case` undone if it is at most `undo_days` before `at`
    /// (the case was reassigned, or closed and refiled).
    fn undo(&mut self, case: &CaseId, at: Millis) {
        let undo = self.config.undo_days as i64 * DAY_MS;
        if let Some((court, is_refile, ix)) = self.second.get(case).cloned()
            && let Some(data) = self.courts.get_mut(&court)
        {
            let list = if is_refile {
                &mut data.refiles
            } else {
                &mut data.reassigned
            };
            if at - list[ix].at <= undo {
                list[ix].undone = true;
                if is_refile
                    && let Some(c) = data
                        .chains
                        .iter_mut()
                        .rev()
                        .find(|c| &c.refiled_case == case)
                {
                    c.undone = true;
                }
            }
        }
    }

    fn on_draw(&mut self, e: &LogEntry, d: &Draw, counts: bool) {
        let trigger = self.trigger.take();
        let Some(court) = self.state().case(&d.case).map(|c| c.court.clone()) else {
            return;
        };
        let presiding = d.chosen.first().cloned();
        self.last_draw
            .insert(d.case.clone(), (e.index, e.at, presiding.clone()));
        if !self.wanted(&court) {
            return;
        }
        let trigger_at = trigger.as_ref().map_or(e.at, |t| t.at);
        let trigger_actor = trigger
            .as_ref()
            .map_or_else(|| "unknown".to_owned(), |t| t.actor.clone());
        // Draws made by the random sampler (`random`, and the random draws after a binding that
        // did not hold) record their chances.
        let probs = if d.method.is_random() {
            first_seat(d)
        } else {
            vec![]
        };
        // Short-notice changes: every recent change of a judge this draw excluded or included.
        let horizon = self.config.short_notice_hours as i64 * HOUR_MS;
        let mut touched: Vec<(JudgeId, Effect)> = d
            .excluded
            .iter()
            .map(|x| (x.judge.clone(), Effect::Excludes(x.reason)))
            .collect();
        touched.extend(
            d.eligible
                .iter()
                .map(|c| (c.judge.clone(), Effect::Includes)),
        );
        for (judge, effect) in touched {
            let Some(q) = self.recent.get_mut(&judge) else {
                continue;
            };
            while let Some((c, ix)) = q.front() {
                let old = self
                    .courts
                    .get(c)
                    .is_none_or(|data| trigger_at - data.changes[*ix].at > horizon);
                if old {
                    q.pop_front();
                } else {
                    break;
                }
            }
            for (c, ix) in q.iter() {
                let Some(data) = self.courts.get_mut(c) else {
                    continue;
                };
                let ch = &mut data.changes[*ix];
                if ch.effects.contains(&effect) && ch.at <= trigger_at {
                    ch.draws.push(e.index);
                    ch.first_trigger_at.get_or_insert(trigger_at);
                }
            }
        }
        let data = self.courts.entry(court.clone()).or_default();
        let mut second: Option<(bool, SecondChance)> = None;
        if let Some(t) = &trigger {
            match t.kind {
                TriggerKind::Filing => {
                    if let Some(mut chain) = self.pending_chain.take() {
                        chain.draw_entry = Some(e.index);
                        chain.judge = presiding.clone();
                        if counts {
                            let r = data.refiles_by.entry(t.actor.clone()).or_default();
                            r.0 += 1;
                            r.1.push(chain.filed_entry);
                            data.chains.push(chain);
                        }
                        if !probs.is_empty() {
                            second = Some((
                                true,
                                SecondChance {
                                    draw_entry: e.index,
                                    at: e.at,
                                    probs: probs.clone(),
                                    winner: presiding.clone(),
                                    undone: false,
                                },
                            ));
                        }
                    }
                }
                TriggerKind::Reassignment if !probs.is_empty() => {
                    second = Some((
                        false,
                        SecondChance {
                            draw_entry: e.index,
                            at: e.at,
                            probs: probs.clone(),
                            winner: presiding.clone(),
                            undone: false,
                        },
                    ));
                }
                _ => {}
            }
        }
        if !counts {
            return;
        }
        if let Some((is_refile, sc)) = second {
            let list = if is_refile {
                &mut data.refiles
            } else {
                &mut data.reassigned
            };
            list.push(sc);
            let ix = list.len() - 1;
            self.second
                .insert(d.case.clone(), (court.clone(), is_refile, ix));
        }
        for j in &d.chosen {
            *data.seats.entry(j.clone()).or_default() += 1;
        }
        // Fallbacks.
        data.draws += 1;
        *data.per_method.entry(method_name(&d.method)).or_default() += 1;
        *data
            .per_scope
            .entry(scope_name(d.scope).to_owned())
            .or_default() += 1;
        let fallback = !matches!(d.method, Method::Random) || d.scope != PoolScope::Division;
        let t = data.triggers_by.entry(trigger_actor).or_default();
        t.0 += 1;
        if fallback {
            t.1 += 1;
            t.2.push(e.index);
            data.fallback_entries.push(e.index);
        }
        // Calibration.
        if !probs.is_empty() {
            data.cal_draws += 1;
            for (j, p) in &probs {
                let won = presiding.as_ref() == Some(j);
                let c = data.cal.entry(j.clone()).or_default();
                c.0 += 1;
                c.1 += won as u64;
                c.2 += p;
                c.3 += p * (1.0 - p);
                c.4 += p * (1.0 - p) * (1.0 - 2.0 * p);
                let b = ((p * 10.0) as usize).min(9);
                data.bins[b].0 += 1;
                data.bins[b].1 += p;
                data.bins[b].2 += won as u64 as f64;
            }
        }
    }

    /// The report: every court's statistics and flags.
    pub fn finish(mut self) -> AuditReport {
        let alpha = self.config.alpha;
        let prompt_ms = self.config.prompt_minutes as i64 * 60_000;
        let mut courts = Vec::new();
        // The court asked for is reported even when nothing in it was counted yet.
        if let Some(c) = self.config.court.clone()
            && self.state().court(&c).is_some()
        {
            self.courts.entry(c).or_default();
        }
        for (court, data) in std::mem::take(&mut self.courts) {
            courts.push(court_audit(court, data, alpha, prompt_ms));
        }
        let failure = self.verifier.report().failure.map(|f| f.to_string());
        let unknown_court = self
            .config
            .court
            .clone()
            .filter(|c| failure.is_none() && self.state().court(c).is_none());
        AuditReport {
            config: self.config.clone(),
            entries: self.verifier.log().size(),
            failure,
            unknown_court,
            courts,
        }
    }
}

fn enum_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "other".into())
}

fn counts_of<K: std::fmt::Display>(
    m: &BTreeMap<K, u64>,
    prefix: &str,
    out_of: impl Fn(&K) -> u64,
) -> Vec<Count> {
    m.iter()
        .map(|(k, v)| Count {
            subject: format!("{prefix}{k}"),
            count: *v,
            out_of: out_of(k),
        })
        .collect()
}

fn court_audit(court: CourtId, mut data: CourtData, alpha: f64, prompt_ms: i64) -> CourtAudit {
    // Calibration.
    let mut judges: Vec<JudgeCalibration> = data
        .cal
        .iter()
        .map(|(j, &(draws, wins, exp, var, third))| {
            let z = if var > 0.0 {
                (wins as f64 - exp) / var.sqrt()
            } else {
                0.0
            };
            JudgeCalibration {
                judge: j.clone(),
                draws,
                wins,
                expected: exp,
                variance: var,
                z,
                // Below a variance of 4 the normal approximation says little: not tested.
                p_value: if var >= 4.0 {
                    calibration_p(wins, exp, var, third)
                } else {
                    1.0
                },
                adjusted_p: 1.0,
                flagged: false,
            }
        })
        .collect();
    let adj = holm(&judges.iter().map(|j| j.p_value).collect::<Vec<_>>());
    for (j, a) in judges.iter_mut().zip(adj) {
        j.adjusted_p = a;
        j.flagged = a < alpha;
    }
    let bins = data
        .bins
        .iter()
        .enumerate()
        .map(|(i, &(n, sp, w))| CalibrationBin {
            from: i as f64 / 10.0,
            to: (i + 1) as f64 / 10.0,
            pairs: n,
            predicted: if n > 0 { sp / n as f64 } else { 0.0 },
            observed: if n > 0 { w / n as f64 } else { 0.0 },
        })
        .collect();
    let calibration = Calibration {
        draws: data.cal_draws,
        judges,
        bins,
    };

    // Short notice.
    let times = &data.filing_times;
    let rate_at = |t: Millis| -> f64 {
        // Filings of the court in the four hours around `t`, plus one: a rate per millisecond.
        let lo = times.partition_point(|&x| x < t - 2 * HOUR_MS);
        let hi = times.partition_point(|&x| x <= t + 2 * HOUR_MS);
        (hi - lo + 1) as f64 / (4 * HOUR_MS) as f64
    };
    let counted: Vec<&Change> = data.changes.iter().filter(|c| c.counted).collect();
    let mut short = Vec::new();
    let mut chances = Vec::new();
    let mut prompt_entries = Vec::new();
    let mut prompt_count = 0u64;
    let mut per_actor: BTreeMap<String, (u64, u64, u64, Vec<u64>)> = BTreeMap::new();
    let mut per_judge: BTreeMap<JudgeId, (u64, u64)> = BTreeMap::new();
    let mut per_day: BTreeMap<Day, u64> = BTreeMap::new();
    for c in &counted {
        let a = per_actor.entry(c.actor.clone()).or_default();
        a.1 += 1;
        per_judge.entry(c.judge.clone()).or_default().1 += 1;
        let Some(first) = c.first_trigger_at else {
            continue;
        };
        a.0 += 1;
        per_judge.entry(c.judge.clone()).or_default().0 += 1;
        *per_day.entry(Day::from_millis(c.at)).or_default() += 1;
        let gap = first - c.at;
        let chance = 1.0 - (-(prompt_ms as f64) * rate_at(c.at)).exp();
        chances.push(chance);
        if gap <= prompt_ms {
            prompt_count += 1;
            a.2 += 1;
            a.3.push(c.entry);
            prompt_entries.push(c.entry);
        }
        short.push(ShortNoticeChange {
            entry: c.entry,
            at: c.at,
            actor: c.actor.clone(),
            judge: c.judge.clone(),
            kind: c.kind.into(),
            draws: evidence(&c.draws),
            gap_ms: gap,
            chance,
        });
    }
    // Folded from +0.0: `Sum` for floats starts from -0.0, which a court without short-notice
    // changes would be shown ("gives -0.0") and given in its JSON report.
    let expected = chances.iter().fold(0.0, |sum, c| sum + c);
    let mut prompt = vec![Finding {
        test: "short_notice_prompt".into(),
        subject: format!("court {court}"),
        statement: format!(
            "{prompt_count} of {} short-notice changes were followed within {} minutes by a draw \
             they affected, where the court's filing rate around those moments gives {expected:.1}",
            short.len(),
            prompt_ms / 60_000
        ),
        observed: prompt_count as f64,
        expected,
        p_value: poisson_binomial_upper(&chances, prompt_count),
        adjusted_p: 1.0,
        flagged: false,
        entries: evidence(&prompt_entries),
    }];
    correct(&mut prompt, alpha);
    let actor_counts: Vec<Tally> = per_actor
        .iter()
        .map(|(a, v)| (a.clone(), v.2, v.1, v.3.clone()))
        .collect();
    let short_notice = ShortNotice {
        changes: counted.len() as u64,
        per_actor: per_actor
            .iter()
            .map(|(a, v)| Count {
                subject: a.clone(),
                count: v.0,
                out_of: v.1,
            })
            .collect(),
        per_judge: per_judge
            .iter()
            .map(|(j, v)| Count {
                subject: format!("judge {j}"),
                count: v.0,
                out_of: v.1,
            })
            .collect(),
        per_day: per_day.into_iter().collect(),
        short_notice: short,
        prompt: prompt.pop().expect("one"),
        actor_tests: rate_tests(
            "short_notice_actor",
            "prompt short-notice changes",
            &actor_counts,
            alpha,
        ),
    };

    // Refiling.
    let stuck: Vec<&SecondChance> = data.refiles.iter().filter(|s| !s.undone).collect();
    let clerk_counts: Vec<Tally> = data
        .filings_by
        .iter()
        .map(|(a, (n, _))| {
            let r = data.refiles_by.get(a).cloned().unwrap_or_default();
            (a.clone(), r.0, *n, r.1)
        })
        .collect();
    let refiling = Refiling {
        per_clerk: clerk_counts
            .iter()
            .map(|c| Count {
                subject: c.0.clone(),
                count: c.1,
                out_of: c.2,
            })
            .collect(),
        judge_tests: winner_tests(
            "refile_winner",
            "refiled cases' draws that stuck",
            &stuck,
            alpha,
        ),
        clerk_tests: rate_tests("refile_clerk", "refilings", &clerk_counts, alpha),
        kept_tests: {
            let mut items = Vec::new();
            for c in &data.chains {
                if let Some(j) = &c.closed_judge {
                    items.push((j.clone(), true, c.closed_entry));
                }
                if !c.undone
                    && let (Some(j), Some(d)) = (&c.judge, c.draw_entry)
                {
                    items.push((j.clone(), false, d));
                }
            }
            kept_tests(&items, "refile_kept", "refile chains", alpha)
        },
        chains: std::mem::take(&mut data.chains),
    };

    // Reassignments and recusals.
    let stuck: Vec<&SecondChance> = data.reassigned.iter().filter(|s| !s.undone).collect();
    let clerk_counts: Vec<Tally> = data
        .case_actions_by
        .iter()
        .map(|(a, n)| {
            let r = data.reassign_by_clerk.get(a).cloned().unwrap_or_default();
            (a.clone(), r.0, *n, r.1)
        })
        .collect();
    let seats = data.seats.clone();
    let recusal_counts: Vec<Tally> = seats
        .iter()
        .map(|(j, n)| {
            let r = data.recusal_by_judge.get(j).cloned().unwrap_or_default();
            (format!("judge {j}"), r.0, *n, r.1)
        })
        .collect();
    let reassignments = Reassignments {
        reassignments: data.reassign_by_clerk.values().map(|v| v.0).sum(),
        recusals: data.recusal_by_judge.values().map(|v| v.0).sum(),
        per_clerk: clerk_counts
            .iter()
            .map(|c| Count {
                subject: c.0.clone(),
                count: c.1,
                out_of: c.2,
            })
            .collect(),
        per_judge_removed: counts_of(&data.reassign_by_judge, "judge ", |j| {
            seats.get(j).copied().unwrap_or(0)
        }),
        per_reason: counts_of(&data.reassign_by_reason, "", |_| 0),
        recusals_per_judge: recusal_counts
            .iter()
            .filter(|c| c.1 > 0)
            .map(|c| Count {
                subject: c.0.clone(),
                count: c.1,
                out_of: c.2,
            })
            .collect(),
        recusals_per_reason: counts_of(&data.recusal_by_reason, "", |_| 0),
        judge_tests: winner_tests(
            "reassignment_winner",
            "replacement draws after a reassignment that stuck",
            &stuck,
            alpha,
        ),
        clerk_tests: rate_tests("reassignment_clerk", "reassignments", &clerk_counts, alpha),
        recusal_tests: rate_tests("recusal_judge", "recusals", &recusal_counts, alpha),
        kept_tests: {
            let mut items: Vec<(JudgeId, bool, u64)> = data
                .quick_reassign
                .iter()
                .map(|(j, e)| (j.clone(), true, *e))
                .collect();
            items.extend(
                data.reassigned
                    .iter()
                    .filter(|s| !s.undone)
                    .filter_map(|s| s.winner.clone().map(|w| (w, false, s.draw_entry))),
            );
            kept_tests(&items, "reassignment_kept", "reassignment chains", alpha)
        },
    };

    // Fallbacks.
    let actor_counts: Vec<Tally> = data
        .triggers_by
        .iter()
        .map(|(a, (n, k, ev))| (a.clone(), *k, *n, ev.clone()))
        .collect();
    let fallbacks = Fallbacks {
        draws: data.draws,
        per_method: counts_of(&data.per_method, "", |_| data.draws),
        per_scope: counts_of(&data.per_scope, "", |_| data.draws),
        per_actor: actor_counts
            .iter()
            .map(|c| Count {
                subject: c.0.clone(),
                count: c.1,
                out_of: c.2,
            })
            .collect(),
        entries: evidence(&data.fallback_entries),
        actor_tests: rate_tests("fallback_actor", "fallback uses", &actor_counts, alpha),
    };

    let mut flags: Vec<Finding> = calibration
        .judges
        .iter()
        .filter(|j| j.flagged)
        .map(|j| Finding {
            test: "calibration".into(),
            subject: format!("judge {}", j.judge),
            statement: format!(
                "judge {} presided over {} of {} draws, where the recorded probabilities give \
                 {:.1} (z = {:.1})",
                j.judge, j.wins, j.draws, j.expected, j.z
            ),
            observed: j.wins as f64,
            expected: j.expected,
            p_value: j.p_value,
            adjusted_p: j.adjusted_p,
            flagged: true,
            entries: vec![],
        })
        .collect();
    for list in [
        std::slice::from_ref(&short_notice.prompt),
        &short_notice.actor_tests,
        &refiling.judge_tests,
        &refiling.clerk_tests,
        &refiling.kept_tests,
        &reassignments.judge_tests,
        &reassignments.clerk_tests,
        &reassignments.recusal_tests,
        &reassignments.kept_tests,
        &fallbacks.actor_tests,
    ] {
        flags.extend(list.iter().filter(|f| f.flagged).cloned());
    }
    flags.sort_by(|a, b| a.adjusted_p.total_cmp(&b.adjusted_p));
    CourtAudit {
        court,
        filings: data.filings,
        calibration,
        short_notice,
        refiling,
        reassignments,
        fallbacks,
        flags,
    }
}

/// Audits a whole log held in memory (see [`Auditor`] to stream one).
pub fn audit<'a>(
    entries: impl IntoIterator<Item = &'a LogEntry>,
    config: AuditConfig,
) -> AuditReport {
    let mut a = Auditor::new(config);
    for e in entries {
        if a.push(e).is_err() {
            break;
        }
    }
    a.finish()
}

/// The report in plain words, for a person.
pub fn summary(r: &AuditReport) -> String {
    let mut s = String::new();
    let p = |x: f64| {
        if x < 1e-6 {
            "below one in a million".to_owned()
        } else {
            format!("{x:.2e}")
        }
    };
    s.push_str(&format!(
        "{} entries replayed and verified{}\n",
        fmt_index(r.entries),
        match &r.failure {
            Some(_) => " up to the first failure",
            None => "",
        }
    ));
    if let Some(f) = &r.failure {
        s.push_str(&format!("FAILED VERIFICATION: {f}\n"));
    }
    if let Some(c) = &r.unknown_court {
        s.push_str(&format!("there is no court {c} in this log\n"));
    }
    for c in &r.courts {
        s.push_str(&format!(
            "\nCourt {}: {} filings, {} random draws, {} draw entries\n",
            c.court,
            fmt_index(c.filings),
            fmt_index(c.calibration.draws),
            fmt_index(c.fallbacks.draws)
        ));
        let worst = c
            .calibration
            .judges
            .iter()
            .max_by(|a, b| a.z.abs().total_cmp(&b.z.abs()));
        if let Some(w) = worst {
            s.push_str(&format!(
                "  calibration: {} judges; the furthest from expectation is judge {} with {} seats \
                 against {:.1} expected (z = {:.2})\n",
                c.calibration.judges.len(),
                w.judge,
                w.wins,
                w.expected,
                w.z
            ));
        }
        s.push_str(&format!(
            "  short-notice changes: {} of {} changes affected a draw within hours; {}\n",
            c.short_notice.short_notice.len(),
            c.short_notice.changes,
            c.short_notice.prompt.statement
        ));
        s.push_str(&format!(
            "  withdraw and refile: {} refilings of cases closed soon after their draw\n",
            c.refiling.chains.len()
        ));
        s.push_str(&format!(
            "  reassignments: {}; recusals: {}\n",
            c.reassignments.reassignments, c.reassignments.recusals
        ));
        let fb: u64 = c.fallbacks.per_actor.iter().map(|a| a.count).sum();
        s.push_str(&format!(
            "  fallbacks (widened pools, allocation by reference): {fb} of {} draws\n",
            c.fallbacks.draws
        ));
        if c.flags.is_empty() {
            s.push_str("  nothing flagged\n");
        }
        for f in &c.flags {
            let ev: Vec<String> = f.entries.iter().take(10).map(|&i| fmt_index(i)).collect();
            s.push_str(&format!(
                "  FLAGGED ({}): {}; chance under honest conduct {} (corrected {})",
                f.test,
                f.statement,
                p(f.p_value),
                p(f.adjusted_p)
            ));
            if !ev.is_empty() {
                s.push_str(&format!(
                    "; see entries {}{}",
                    ev.join(", "),
                    if f.entries.len() > 10 { ", ..." } else { "" }
                ));
            }
            s.push('\n');
        }
    }
    s.push_str(if r.flagged() {
        "\nRESULT: something is flagged. A flag is a question to ask about the entries listed, not proof of steering.\n"
    } else {
        "\nRESULT: nothing flagged at the default threshold.\n"
    });
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beacon::HashChain;
    use crate::event::{AbsenceReason, ClosingReason, ReassignReason, Role};
    use crate::hash::sha256;
    use crate::ids::*;
    use crate::policy::{CaseType, Policy};
    use crate::verify::Log;

    const T0: Millis = 1_767_603_600_000; // 2026-01-05T09:00:00Z
    const MIN: i64 = 60_000;

    /// A one-court log written through `Log::append` and `Log::draw`, as a server writes it.
    struct W {
        log: Log,
        chain: HashChain,
        out: Vec<LogEntry>,
        n: u32,
    }

    fn id<T: std::str::FromStr>(s: &str) -> T
    where
        T::Err: std::fmt::Debug,
    {
        s.parse().unwrap()
    }

    fn clerk(c: &str) -> Actor {
        Actor::new(Role::Clerk, c)
    }

    impl W {
        /// `judges` judges of court `c`, division `d`, equal shares; a lottery by share (balance 0),
        /// so every eligible judge has the same probability.
        fn new(judges: usize, min_pool: u32) -> W {
            let mut policy = Policy::with_case_types(vec![CaseType {
                code: id("civil"),
                specialization: id("civil"),
                weight: 1,
                panel: 1,
            }]);
            policy.min_pool = min_pool;
            policy.balance_permille = 0;
            let chain = HashChain::new(sha256(&[b"audit test"]), 1000);
            let mut w = W {
                log: Log::new(),
                chain,
                out: vec![],
                n: 0,
            };
            let admin = Actor::new(Role::SystemAdmin, "sysadmin");
            let anchor = w.chain.anchor();
            w.push(
                T0,
                admin.clone(),
                Event::Genesis {
                    log_id: id("audit-test"),
                    policy,
                    beacon: anchor,
                },
            );
            w.push(
                T0,
                admin.clone(),
                Event::CourtCreated {
                    court: id("c"),
                    name: "C".into(),
                },
            );
            for d in ["d", "e"] {
                w.push(
                    T0,
                    admin.clone(),
                    Event::DivisionCreated {
                        court: id("c"),
                        division: id(d),
                        name: d.into(),
                    },
                );
            }
            for i in 0..judges {
                w.push(
                    T0,
                    Actor::new(Role::CourtAdmin, "registrar"),
                    Event::JudgeRegistered {
                        judge: id(&format!("J-{i}")),
                        court: id("c"),
                        division: id("d"),
                        specializations: vec![id("civil")],
                        share_permille: 1000,
                        active: true,
                    },
                );
            }
            w
        }

        fn push(&mut self, at: Millis, actor: Actor, ev: Event) -> u64 {
            let opens = ev.opens_draw().cloned();
            let e = self.log.append(at, actor, ev).expect("valid event");
            let ix = e.index;
            self.out.push(e);
            if let Some(case) = opens {
                let d = self.log.draw(at, &case, &mut self.chain).expect("drawn");
                self.out.push(d);
            }
            ix
        }

        /// Files a case with parties `p` (a small number names a party) and returns its number.
        fn file(&mut self, at: Millis, by: &str, p: u8) -> CaseId {
            self.n += 1;
            let case: CaseId = id(&format!("K-{}", self.n));
            self.push(
                at,
                clerk(by),
                Event::CaseFiled {
                    case: case.clone(),
                    court: id("c"),
                    division: id("d"),
                    case_type: id("civil"),
                    weight: 1,
                    parties: vec![Digest32([p; 32])],
                    claim: sha256(&[&self.n.to_be_bytes()]),
                    related: None,
                    earlier_instance: None,
                },
            );
            case
        }

        fn last_draw(&self) -> &Draw {
            match &self.out.last().unwrap().event {
                Event::Draw(d) => d,
                _ => panic!("not a draw"),
            }
        }
    }

    fn court(r: &AuditReport) -> &CourtAudit {
        assert_eq!(r.courts.len(), 1, "{r:?}");
        &r.courts[0]
    }

    #[test]
    fn the_statistics_match_hand_computation() {
        // Four fair coins all heads: 1/16.
        assert!((poisson_binomial_upper(&[0.5; 4], 4) - 1.0 / 16.0).abs() < 1e-15);
        // At least one of p = 0.2 and 0.5: 1 - 0.8 x 0.5.
        assert!((poisson_binomial_upper(&[0.2, 0.5], 1) - 0.6).abs() < 1e-15);
        assert_eq!(poisson_binomial_upper(&[0.2, 0.5], 3), 0.0);
        // Binomial(10, 1/2) >= 8: (45 + 10 + 1) / 1024.
        assert!((binomial_upper(10, 8, 0.5) - 56.0 / 1024.0).abs() < 1e-12);
        assert!((binomial_upper(10, 0, 0.5) - 1.0).abs() < 1e-12);
        // Holm: sorted 0.01 x 3, 0.03 x 2, 0.04 x 1, made monotone.
        let h = holm(&[0.01, 0.04, 0.03]);
        assert!((h[0] - 0.03).abs() < 1e-15 && (h[1] - 0.06).abs() < 1e-15);
        assert!((h[2] - 0.06).abs() < 1e-15);
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((normal_two_sided(1.959_964) - 0.05).abs() < 1e-6);
        assert!((normal_two_sided(-3.0) - 0.002_699_8).abs() < 1e-6);
    }

    #[test]
    fn the_calibration_p_value_follows_the_exact_tail_of_rare_wins() {
        // 400 draws at p = 0.05: mean 20, variance 19. The exact upper tail at 32 wins, doubled,
        // against the corrected normal approximation: within 10%, where the plain normal curve is
        // off by a third.
        let ps = vec![0.05; 400];
        let exact = 2.0 * poisson_binomial_upper(&ps, 32);
        let third = 400.0 * 0.05 * 0.95 * 0.9;
        let approx = calibration_p(32, 20.0, 19.0, third);
        assert!((approx / exact - 1.0).abs() < 0.1, "{approx} {exact}");
        let plain = normal_two_sided(12.0 / 19f64.sqrt());
        assert!((plain / exact - 1.0).abs() > 0.3, "{plain} {exact}");
    }

    #[test]
    fn calibration_counts_wins_against_recorded_probabilities() {
        // Two judges, a lottery: p = 1/2 in each of 20 draws, so expected 10 and variance 5.
        let mut w = W::new(2, 1);
        for k in 0..20 {
            w.file(T0 + k * 3 * 3_600_000, "clerk-1", 1 + k as u8);
        }
        let wins0 = w
            .out
            .iter()
            .filter(|e| matches!(&e.event, Event::Draw(d) if d.chosen[0].as_str() == "J-0"))
            .count() as u64;
        let r = audit(&w.out, AuditConfig::default());
        assert!(r.failure.is_none());
        let c = court(&r);
        assert_eq!(c.calibration.draws, 20);
        let j0 = &c.calibration.judges[0];
        assert_eq!((j0.judge.as_str(), j0.draws, j0.wins), ("J-0", 20, wins0));
        assert!((j0.expected - 10.0).abs() < 1e-12 && (j0.variance - 5.0).abs() < 1e-12);
        let z = (wins0 as f64 - 10.0) / 5f64.sqrt();
        assert!((j0.z - z).abs() < 1e-12);
        // Symmetric at p = 1/2 (no skew): twice the normal tail beyond |wins - 10| - 1/2.
        let zc = ((wins0 as f64 - 10.0).abs() - 0.5).max(0.0) / 5f64.sqrt();
        let want = if wins0 == 10 {
            1.0
        } else {
            normal_two_sided(zc)
        };
        assert!((j0.p_value - want).abs() < 1e-9, "{} {want}", j0.p_value);
        // Both judges sit in the 0.5 bin: 40 pairs, 20 wins.
        let b = &c.calibration.bins[5];
        assert_eq!(b.pairs, 40);
        assert!((b.predicted - 0.5).abs() < 1e-12 && (b.observed - 0.5).abs() < 1e-12);
        assert!(c.flags.is_empty(), "{:?}", c.flags);
        // No absence was recorded: nothing is expected, and shown as a plain zero.
        let prompt = &c.short_notice.prompt;
        assert_eq!(c.short_notice.changes, 0);
        assert!(
            prompt.expected == 0.0 && prompt.expected.is_sign_positive(),
            "{}",
            prompt.expected
        );
        assert!(!summary(&r).contains("-0.0"), "{}", summary(&r));
    }

    #[test]
    fn an_absence_recorded_minutes_before_a_draw_is_short_notice_and_prompt() {
        let mut w = W::new(3, 1);
        let t = T0 + 3_600_000;
        let day = Day::from_millis(t);
        let abs = w.push(
            t,
            Actor::new(Role::CourtAdmin, "registrar"),
            Event::AbsenceRecorded {
                absence: id("A-1"),
                judge: id("J-2"),
                from: day,
                until: day,
                reason: AbsenceReason::Sick,
            },
        );
        w.file(t + 2 * MIN, "clerk-1", 1);
        let draw = w.out.len() as u64 - 1;
        // Another filing three hours later: outside the +-2 h window of the absence.
        w.file(t + 3 * 3_600_000, "clerk-1", 2);
        let r = audit(&w.out, AuditConfig::default());
        let sn = &court(&r).short_notice;
        assert_eq!(sn.changes, 1);
        assert_eq!(sn.short_notice.len(), 1);
        let ch = &sn.short_notice[0];
        assert_eq!(
            (ch.entry, ch.kind.as_str(), ch.gap_ms),
            (abs, "absence", 2 * MIN)
        );
        // Both later draws excluded J-2 within 24 hours.
        assert_eq!(ch.draws, vec![draw, draw + 2]);
        // One filing in the 4 hours around the absence, plus one: 2 per 4 hours; the chance of a
        // draw within 10 minutes is 1 - exp(-10 x 2 / 240).
        let chance = 1.0 - (-10.0 * 2.0 / 240.0f64).exp();
        assert!((ch.chance - chance).abs() < 1e-12);
        assert_eq!(sn.prompt.observed, 1.0);
        assert!((sn.prompt.p_value - chance).abs() < 1e-12);
        assert_eq!(sn.prompt.entries, vec![abs]);
        assert_eq!(
            sn.per_actor,
            vec![Count {
                subject: "court_admin registrar".into(),
                count: 1,
                out_of: 1
            }]
        );
        // Recorded a day and a half before the draws it affects, it is not short notice.
        let mut w = W::new(3, 1);
        w.push(
            t,
            Actor::new(Role::CourtAdmin, "registrar"),
            Event::AbsenceRecorded {
                absence: id("A-1"),
                judge: id("J-2"),
                from: Day(day.0 + 2),
                until: Day(day.0 + 2),
                reason: AbsenceReason::Leave,
            },
        );
        w.file(t + 36 * 3_600_000, "clerk-1", 1);
        let r = audit(&w.out, AuditConfig::default());
        assert!(court(&r).short_notice.short_notice.is_empty());
    }

    #[test]
    fn many_absences_each_just_before_a_draw_are_flagged() {
        // A corrupt registry makes two of three judges absent a minute before each of 12 filings a
        // day apart: 24 prompt changes where coincidence explains about one.
        let mut w = W::new(3, 1);
        let admin = Actor::new(Role::CourtAdmin, "registrar");
        for k in 0..12 {
            let t = T0 + k * 86_400_000;
            let day = Day::from_millis(t);
            for j in [1, 2] {
                w.push(
                    t,
                    admin.clone(),
                    Event::AbsenceRecorded {
                        absence: id(&format!("A-{k}-{j}")),
                        judge: id(&format!("J-{j}")),
                        from: day,
                        until: day,
                        reason: AbsenceReason::Sick,
                    },
                );
            }
            w.file(t + MIN, "clerk-1", k as u8);
            assert_eq!(w.last_draw().chosen[0].as_str(), "J-0");
        }
        let r = audit(&w.out, AuditConfig::default());
        let c = court(&r);
        assert_eq!(c.short_notice.prompt.observed, 24.0);
        assert!(c.short_notice.prompt.flagged, "{:?}", c.short_notice.prompt);
        assert!(r.flagged());
        assert!(summary(&r).contains("FLAGGED (short_notice_prompt)"));
    }

    #[test]
    fn withdraw_and_refile_until_a_judge_comes_up_is_found_and_flagged() {
        // Four judges, a lottery (p = 1/4). For each of 30 parties, a clerk files, and while the
        // judge is not J-0 withdraws the next day and refiles the day after.
        let mut w = W::new(4, 1);
        let mut t = T0;
        let mut links = 0;
        let mut stuck_wins = 0;
        let mut stuck = 0;
        for p in 0..30u8 {
            for attempt in 0..8 {
                let case = w.file(t, "clerk-1", 100 + p);
                let won = w.last_draw().chosen[0].as_str() == "J-0";
                if attempt > 0 {
                    links += 1;
                }
                t += 86_400_000;
                if won || attempt == 7 {
                    if attempt > 0 {
                        stuck += 1;
                        stuck_wins += won as u32;
                    }
                    break;
                }
                w.push(
                    t,
                    clerk("clerk-1"),
                    Event::CaseClosed {
                        case,
                        reason: ClosingReason::Withdrawal,
                    },
                );
                t += 86_400_000;
            }
        }
        let r = audit(&w.out, AuditConfig::default());
        let c = court(&r);
        assert_eq!(c.refiling.chains.len(), links);
        assert_eq!(
            c.refiling.chains.iter().filter(|c| !c.undone).count(),
            stuck
        );
        let j0 = c
            .refiling
            .judge_tests
            .iter()
            .find(|f| f.subject == "judge J-0")
            .unwrap();
        // Every stuck refiled draw gave J-0 a quarter.
        assert_eq!(j0.observed, stuck_wins as f64);
        assert!((j0.expected - stuck as f64 * 0.25).abs() < 1e-12);
        let ps = vec![0.25; stuck];
        assert!((j0.p_value - poisson_binomial_upper(&ps, stuck_wins as u64)).abs() < 1e-15);
        assert!(j0.flagged, "{j0:?}");
        // J-0's draws were never withdrawn, while most chain draws were.
        let kept = c
            .refiling
            .kept_tests
            .iter()
            .find(|f| f.subject == "judge J-0")
            .unwrap();
        let chain_draws = (links + stuck) as u64;
        let rate_kept = stuck as f64 / chain_draws as f64;
        assert_eq!(kept.observed, stuck_wins as f64);
        assert!(
            (kept.p_value - binomial_upper(stuck_wins as u64, stuck_wins as u64, rate_kept)).abs()
                < 1e-12
        );
        assert!(kept.flagged, "{kept:?}");
        // A single honest refiling is listed and not flagged.
        let mut w = W::new(4, 1);
        let case = w.file(T0, "clerk-1", 7);
        w.push(
            T0 + 86_400_000,
            clerk("clerk-1"),
            Event::CaseClosed {
                case,
                reason: ClosingReason::Withdrawal,
            },
        );
        w.file(T0 + 2 * 86_400_000, "clerk-1", 7);
        let r = audit(&w.out, AuditConfig::default());
        assert_eq!(court(&r).refiling.chains.len(), 1);
        assert!(!r.flagged());
    }

    #[test]
    fn reassigning_until_a_judge_comes_up_is_flagged_and_counted_per_clerk() {
        let mut w = W::new(8, 1);
        let mut t = T0;
        let mut stuck = 0;
        for p in 0..30u8 {
            let case = w.file(t, "clerk-1", p);
            let mut reassigned = false;
            for _ in 0..8 {
                let d = w.last_draw().clone();
                if d.chosen[0].as_str() == "J-0" {
                    break;
                }
                t += 3_600_000;
                w.push(
                    t,
                    clerk("clerk-2"),
                    Event::Reassignment {
                        case: case.clone(),
                        judge: d.chosen[0].clone(),
                        reason: ReassignReason::Other,
                    },
                );
                reassigned = true;
            }
            stuck += reassigned as usize;
            t += 86_400_000;
        }
        let r = audit(&w.out, AuditConfig::default());
        let c = court(&r);
        let ra = &c.reassignments;
        let n: u64 = ra.per_reason.iter().map(|x| x.count).sum();
        assert_eq!(ra.reassignments, n);
        assert_eq!(ra.per_reason[0].subject, "other");
        let j0 = ra
            .judge_tests
            .iter()
            .find(|f| f.subject == "judge J-0")
            .unwrap();
        // Only the last replacement draw of each case stuck; judges who were reassigned off are
        // recused from the case, so J-0's probability grows: the expectation is the sum of them.
        let drawn: usize = ra.judge_tests.iter().map(|f| f.entries.len()).sum();
        assert_eq!(drawn, stuck);
        assert!(j0.flagged, "{j0:?}");
        // clerk-1 files, clerk-2 reassigns: two clerks, and clerk-2's rate stands out.
        let c2 = ra
            .per_clerk
            .iter()
            .find(|x| x.subject == "clerk clerk-2")
            .unwrap();
        assert_eq!(c2.count, n);
        assert!(ra.clerk_tests.iter().any(|f| f.subject == "clerk clerk-2"));
    }

    #[test]
    fn fallbacks_are_counted_per_actor_of_the_trigger() {
        // Two judges and a minimum pool of 3: every draw is widened and still below the minimum.
        let mut w = W::new(2, 3);
        w.file(T0, "clerk-1", 1);
        w.file(T0 + MIN, "clerk-2", 2);
        let r = audit(&w.out, AuditConfig::default());
        let fb = &court(&r).fallbacks;
        assert_eq!(fb.draws, 2);
        assert_eq!(
            fb.per_scope,
            vec![Count {
                subject: "court_below_minimum".into(),
                count: 2,
                out_of: 2
            }]
        );
        assert_eq!(fb.per_actor.len(), 2);
        assert!(fb.per_actor.iter().all(|a| a.count == 1 && a.out_of == 1));
        assert_eq!(fb.entries.len(), 2);
    }

    #[test]
    fn since_and_court_limit_what_is_counted() {
        let mut w = W::new(2, 1);
        w.file(T0, "clerk-1", 1);
        w.file(T0 + 2 * 86_400_000, "clerk-1", 2);
        let since = Day(Day::from_millis(T0).0 + 1);
        let r = audit(
            &w.out,
            AuditConfig {
                since: Some(since),
                ..AuditConfig::default()
            },
        );
        assert_eq!(court(&r).filings, 1);
        assert_eq!(court(&r).calibration.draws, 1);
        let r = audit(
            &w.out,
            AuditConfig {
                court: Some(id("nowhere")),
                ..AuditConfig::default()
            },
        );
        assert!(r.courts.is_empty() && r.failure.is_none());
        assert_eq!(r.unknown_court, Some(id("nowhere")));
        assert!(r.flagged());
    }

    #[test]
    fn a_log_that_does_not_verify_is_reported_and_flagged() {
        let mut w = W::new(2, 1);
        w.file(T0, "clerk-1", 1);
        let mut bad = w.out.clone();
        bad.remove(3);
        let r = audit(&bad, AuditConfig::default());
        assert!(
            r.failure
                .as_deref()
                .unwrap()
                .starts_with("entry 3 (SPEC §9):")
        );
        assert!(r.flagged());
    }

    #[test]
    fn the_sample_log_is_audited_without_flags() {
        let log = crate::sample::sample_log(&crate::sample::SampleSpec::small(1));
        let r = audit(&log, AuditConfig::default());
        assert!(r.failure.is_none());
        assert_eq!(r.entries, log.len() as u64);
        let c = court(&r);
        assert!(
            c.fallbacks
                .per_method
                .iter()
                .any(|m| m.subject == "duplicate")
        );
        assert!(!r.flagged(), "{}", summary(&r));
    }
}
