//! Synthetic courts and case streams, described by a scenario file and reproducible from its seed.
//!
//! A [`Scenario`] says what kind of court system to build; [`World::generate`] turns it into judges,
//! a year of filings and a timeline of everything else that happens (absences, judges joining and
//! leaving, conflicts, recusals, withdrawals). The world is the same for every policy: only the
//! draws differ.

use std::collections::VecDeque;

use klero_core::AbsenceReason;
use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// The parameters of Kleroterion's real draw (the core's [`klero_core::Policy`] without the case
/// types). The defaults are the ones `Policy::with_case_types` ships.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyParams {
    /// Cap numerator: no probability above `cap_num / cap_den / |E|`.
    pub cap_num: u32,
    /// Cap denominator.
    pub cap_den: u32,
    /// Balance strength in thousandths: the effective cap runs from 1 (0: a lottery by share) to the cap (1000).
    pub balance_permille: u32,
    /// Workload window in days.
    pub window_days: u32,
    /// Joining-credit limit in case-weight units: a judge entering a pool for the first time is
    /// lifted to the pooled mean minus this (SPEC §7.4).
    pub catch_up_limit: u32,
    /// Minimum pool size before the fallback.
    pub min_pool: u32,
}

impl Default for PolicyParams {
    fn default() -> Self {
        let p = klero_core::Policy::with_case_types(vec![]);
        PolicyParams {
            cap_num: p.cap_num,
            cap_den: p.cap_den,
            balance_permille: p.balance_permille,
            window_days: p.window_days,
            catch_up_limit: p.catch_up_limit,
            min_pool: p.min_pool,
        }
    }
}

impl PolicyParams {
    /// A short label, e.g. `cap=3/2 bal=1000 win=365 cu=10`.
    pub fn label(&self) -> String {
        format!(
            "cap={}/{} bal={} win={} cu={}",
            self.cap_num,
            self.cap_den,
            self.balance_permille,
            self.window_days,
            self.catch_up_limit
        )
    }
}

/// A division of every court and who sits in it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DivisionSpec {
    /// Division identifier (`civil`).
    pub name: String,
    /// Judges in the division.
    pub judges: u32,
    /// Specializations and the fraction of the division's judges holding each (1.0 = all).
    pub specializations: Vec<(String, f64)>,
}

/// A case type: where it goes, what it weighs, how often it is filed.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseTypeSpec {
    /// Policy code.
    pub code: String,
    /// Division (by name).
    pub division: String,
    /// Specialization needed.
    pub specialization: String,
    /// Workload weight.
    pub weight: u32,
    /// Judges per case.
    pub panel: u8,
    /// Relative frequency in the mix.
    pub mix: f64,
}

/// What the study measures and how hard.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StudySpec {
    /// Days in which the timing litigant may file.
    pub timing_window_days: u32,
    /// Litigants simulated for the timing advantage.
    pub timing_samples: u32,
    /// Fraction of the court's filings a corrupt clerk tries to steer.
    pub steer_fraction: f64,
    /// Honest replications (false-alarm calibration) per policy; 0 skips the steering study.
    pub null_runs: u32,
    /// Attacked replications per attack mode and policy.
    pub attack_runs: u32,
    /// Filing attempts a clerk makes in the duplicate-filing attack.
    pub refile_attempts: u32,
    /// Run the parameter sweep of the real draw.
    pub sweep: bool,
    /// Independent worlds each sweep point is run on (figures are means over them).
    pub sweep_runs: u32,
    /// Run the baselines.
    pub baselines: bool,
    /// PJe-style distance filter, in mean case weights above the least loaded.
    pub pje_distance: f64,
    /// SLPS-style pool margin, in mean case weights above the least loaded.
    pub slps_margin: f64,
    /// Cards per full share in the deck.
    pub deck_cards: u32,
    /// Worker threads.
    pub threads: u32,
}

impl Default for StudySpec {
    fn default() -> Self {
        StudySpec {
            timing_window_days: 7,
            timing_samples: 4000,
            steer_fraction: 0.05,
            null_runs: 100,
            attack_runs: 40,
            refile_attempts: 5,
            sweep: true,
            sweep_runs: 5,
            baselines: true,
            pje_distance: 3.0,
            slps_margin: 1.0,
            deck_cards: 10,
            threads: 2,
        }
    }
}

/// A scenario file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Name (`standard`).
    pub name: String,
    /// What it models.
    pub description: String,
    /// The seed everything is generated from.
    pub seed: u64,
    /// Number of identical courts.
    pub courts: u32,
    /// Divisions of each court.
    pub divisions: Vec<DivisionSpec>,
    /// Case types.
    pub case_types: Vec<CaseTypeSpec>,
    /// Expected filings per court over the period.
    pub cases_per_court: u32,
    /// Days simulated.
    pub days: u32,
    /// Relative filing rate Monday..Sunday.
    pub weekly: [f64; 7],
    /// Seasonal swing: rate multiplier `1 + a cos(2 pi (day - 15) / 365)` minus an August dip.
    pub seasonal_amplitude: f64,
    /// Share of the court president (first judge of each court), in thousandths.
    pub president_share: u32,
    /// Fraction of other judges working part time.
    pub part_time_fraction: f64,
    /// Share of a part-time judge.
    pub part_time_share: u32,
    /// Holiday days per judge per year.
    pub holiday_days: u32,
    /// Holiday blocks per judge.
    pub holiday_blocks: u32,
    /// Sick episodes per judge per year (Poisson).
    pub sick_episodes: f64,
    /// Longest sick episode in days.
    pub sick_days_max: u32,
    /// Length of one long leave per court (0 = none).
    pub long_leave_days: u32,
    /// Judges per court joining during the year.
    pub joiners: u32,
    /// Judges per court leaving during the year.
    pub leavers: u32,
    /// Frequent litigants (banks, insurers, law firms) per court.
    pub frequent_litigants: u32,
    /// Probability a case involves a frequent litigant.
    pub frequent_rate: f64,
    /// Conflicts each judge declares with frequent litigants.
    pub conflicts_per_judge: u32,
    /// Probability a drawn judge later recuses.
    pub recusal_rate: f64,
    /// Probability a filing names a related earlier case.
    pub related_rate: f64,
    /// Probability a filing duplicates an earlier one exactly.
    pub duplicate_rate: f64,
    /// Probability a case is withdrawn later.
    pub withdrawal_rate: f64,
    /// Probability a case is withdrawn within days and refiled with a corrected claim (honest).
    pub refiling_rate: f64,
    /// Probability a filing appeals an earlier case of the same court (its judges excluded).
    pub reappeal_rate: f64,
    /// The real draw's parameters.
    pub policy: PolicyParams,
    /// The study's settings.
    pub study: StudySpec,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "custom".into(),
            description: String::new(),
            seed: 1,
            courts: 1,
            divisions: vec![],
            case_types: vec![],
            cases_per_court: 10_000,
            days: 365,
            weekly: [1.15, 1.1, 1.05, 1.0, 0.9, 0.05, 0.02],
            seasonal_amplitude: 0.12,
            president_share: 400,
            part_time_fraction: 0.1,
            part_time_share: 750,
            holiday_days: 26,
            holiday_blocks: 3,
            sick_episodes: 1.5,
            sick_days_max: 8,
            long_leave_days: 90,
            joiners: 1,
            leavers: 1,
            frequent_litigants: 40,
            frequent_rate: 0.2,
            conflicts_per_judge: 2,
            recusal_rate: 0.01,
            related_rate: 0.02,
            duplicate_rate: 0.005,
            withdrawal_rate: 0.02,
            refiling_rate: 0.003,
            reappeal_rate: 0.0,
            policy: PolicyParams::default(),
            study: StudySpec::default(),
        }
    }
}

/// The scenario files shipped with the crate.
pub const BUILTIN: &[(&str, &str)] = &[
    ("standard", include_str!("../scenarios/standard.json")),
    ("small", include_str!("../scenarios/small.json")),
    ("appellate", include_str!("../scenarios/appellate.json")),
    ("national", include_str!("../scenarios/national.json")),
    ("audit", include_str!("../scenarios/audit.json")),
];

impl Scenario {
    /// A built-in scenario by name.
    pub fn builtin(name: &str) -> Result<Scenario, String> {
        let (_, text) = BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| format!("no built-in scenario {name:?}"))?;
        Scenario::parse(text)
    }
    /// Parses a scenario file (JSON).
    pub fn parse(text: &str) -> Result<Scenario, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

/// A judge of the synthetic court system.
#[derive(Clone, Debug)]
pub struct JudgeSpec {
    /// Identifier.
    pub id: String,
    /// Court index.
    pub court: u32,
    /// Division index within the court.
    pub division: u32,
    /// Specializations, ascending.
    pub specs: Vec<String>,
    /// Share in thousandths.
    pub share: u32,
    /// Sits from the first day.
    pub active_at_start: bool,
}

/// A filing.
#[derive(Clone, Debug)]
pub struct CaseSpec {
    /// Case number.
    pub id: String,
    /// Court index.
    pub court: u32,
    /// Division index.
    pub division: u32,
    /// Case type index.
    pub ty: u16,
    /// Party and counsel commitments, ascending.
    pub parties: Vec<[u8; 32]>,
    /// Claim digest.
    pub claim: [u8; 32],
    /// Related earlier case.
    pub related: Option<u32>,
    /// Appealed earlier case.
    pub earlier: Option<u32>,
    /// Filing time, milliseconds since the start of the first day.
    pub at: i64,
    /// A target of the corrupt clerk (attack runs only).
    pub steer: bool,
}

/// Something that happens at a moment of the year.
#[derive(Clone, Debug)]
pub enum Act {
    /// An absence is recorded (days relative to the first day).
    Absence {
        /// Judge index.
        judge: u32,
        /// First day away.
        from: i32,
        /// Last day away.
        until: i32,
        /// Why.
        reason: AbsenceReason,
    },
    /// A judge starts or stops taking cases.
    Active {
        /// Judge index.
        judge: u32,
        /// New status.
        active: bool,
    },
    /// A case is filed (and drawn).
    File(u32),
    /// The first judge of a case recuses (and a replacement is drawn).
    Recuse(u32),
    /// A case is withdrawn.
    Close(u32),
}

/// A court's identity.
#[derive(Clone, Debug)]
pub struct CourtSpec {
    /// Identifier.
    pub id: String,
    /// Judge indices, in id order.
    pub judges: Vec<u32>,
}

/// The generated world.
#[derive(Clone, Debug)]
pub struct World {
    /// The scenario it came from.
    pub scenario: Scenario,
    /// Courts.
    pub courts: Vec<CourtSpec>,
    /// Division names (the same in every court).
    pub divisions: Vec<String>,
    /// Judges, grouped by court.
    pub judges: Vec<JudgeSpec>,
    /// Declared conflicts (judge, commitment), declared before the first filing.
    pub conflicts: Vec<(u32, [u8; 32])>,
    /// Absences known before the year starts (holidays): recorded at setup.
    pub planned: Vec<Act>,
    /// Filings.
    pub cases: Vec<CaseSpec>,
    /// Everything else, in time order (milliseconds since the start of the first day).
    pub timeline: Vec<(i64, Act)>,
    /// The favoured judge of the steering study (court 0).
    pub favoured: u32,
    /// The mean case weight of the filings, counting each seat.
    pub mean_weight: f64,
}

/// Milliseconds per day.
pub const DAY_MS: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

impl World {
    /// Builds the world of `sc` from its seed. With `attack`, a fraction of the favoured judge's
    /// court's filings are marked as targets of a corrupt clerk; the honest part is unchanged.
    pub fn generate(sc: &Scenario, attack: bool) -> World {
        let mut rj = Rng::new(sc.seed, 1);
        let mut judges = Vec::new();
        let mut courts = Vec::new();
        let mut conflicts = Vec::new();
        let mut planned = Vec::new();
        let mut timeline: Vec<(i64, Act)> = Vec::new();
        let days = sc.days as i32;
        let divisions: Vec<String> = sc.divisions.iter().map(|d| d.name.clone()).collect();
        let mut litigants: Vec<Vec<[u8; 32]>> = Vec::new();
        for c in 0..sc.courts {
            let mut list = Vec::new();
            let lit: Vec<[u8; 32]> = (0..sc.frequent_litigants).map(|_| rj.bytes32()).collect();
            let mut k = 0u32;
            for (di, d) in sc.divisions.iter().enumerate() {
                // Each specialization goes to exactly round(fraction x judges) judges (at least
                // one), chosen at random, so that no specialization pool is left too small.
                let nd = d.judges as usize;
                let mut holds: Vec<Vec<String>> = vec![Vec::new(); nd];
                for (spec, f) in &d.specializations {
                    let k = ((f * nd as f64).round() as usize).clamp(1, nd);
                    let mut idx: Vec<usize> = (0..nd).collect();
                    for i in 0..k {
                        let r = i + rj.below((nd - i) as u64) as usize;
                        idx.swap(i, r);
                        holds[idx[i]].push(spec.clone());
                    }
                }
                for specs in holds {
                    let mut specs = specs;
                    if specs.is_empty() {
                        specs.push(d.specializations[0].0.clone());
                    }
                    specs.sort();
                    specs.dedup();
                    let share = if k == 0 {
                        sc.president_share
                    } else if rj.chance(sc.part_time_fraction) {
                        sc.part_time_share
                    } else {
                        1000
                    };
                    let ji = judges.len() as u32;
                    judges.push(JudgeSpec {
                        id: format!("J{c:03}-{k:02}"),
                        court: c,
                        division: di as u32,
                        specs,
                        share,
                        active_at_start: true,
                    });
                    list.push(ji);
                    k += 1;
                }
            }
            // Joiners start inactive and are activated during the year; leavers are deactivated.
            let n = list.len() as u64;
            for _ in 0..sc.joiners {
                let j = list[1 + rj.below(n - 1) as usize];
                judges[j as usize].active_at_start = false;
                let day = 60 + rj.below((days as u64).saturating_sub(150).max(1)) as i64;
                timeline.push((
                    day * DAY_MS + 6 * HOUR,
                    Act::Active {
                        judge: j,
                        active: true,
                    },
                ));
            }
            for _ in 0..sc.leavers {
                let j = list[1 + rj.below(n - 1) as usize];
                let day = 90 + rj.below((days as u64).saturating_sub(150).max(1)) as i64;
                timeline.push((
                    day * DAY_MS + 6 * HOUR,
                    Act::Active {
                        judge: j,
                        active: false,
                    },
                ));
            }
            for &j in &list {
                for _ in 0..sc.conflicts_per_judge.min(sc.frequent_litigants) {
                    let s = lit[rj.below(lit.len() as u64) as usize];
                    if !conflicts.contains(&(j, s)) {
                        conflicts.push((j, s));
                    }
                }
                // Holidays: blocks spread over the year, planned in advance.
                let blocks = sc.holiday_blocks.max(1);
                let per = sc.holiday_days / blocks;
                for b in 0..blocks {
                    if per == 0 {
                        break;
                    }
                    let span = days / blocks as i32;
                    let start =
                        b as i32 * span + rj.below((span - per as i32).max(1) as u64) as i32;
                    planned.push(Act::Absence {
                        judge: j,
                        from: start,
                        until: start + per as i32 - 1,
                        reason: AbsenceReason::Leave,
                    });
                }
                // Sick leave: recorded the morning it starts.
                for _ in 0..rj.poisson(sc.sick_episodes) {
                    let from = rj.below(days as u64) as i32;
                    let len = 1 + rj.below(sc.sick_days_max.max(1) as u64) as i32;
                    timeline.push((
                        from as i64 * DAY_MS + 7 * HOUR,
                        Act::Absence {
                            judge: j,
                            from,
                            until: from + len - 1,
                            reason: AbsenceReason::Sick,
                        },
                    ));
                }
            }
            if sc.long_leave_days > 0 && list.len() > 2 {
                let j = list[1 + rj.below(n - 1) as usize];
                let from =
                    30 + rj.below((days - 30 - sc.long_leave_days as i32).max(1) as u64) as i32;
                timeline.push((
                    (from as i64 - 20) * DAY_MS + 9 * HOUR,
                    Act::Absence {
                        judge: j,
                        from,
                        until: from + sc.long_leave_days as i32 - 1,
                        reason: AbsenceReason::Leave,
                    },
                ));
            }
            courts.push(CourtSpec {
                id: format!("court-{c:03}"),
                judges: list,
            });
            litigants.push(lit);
        }
        // The favoured judge: a full-share, always-active judge of court 0's first division.
        let favoured = courts[0]
            .judges
            .iter()
            .copied()
            .find(|&j| {
                let s = &judges[j as usize];
                s.share == 1000
                    && s.active_at_start
                    && s.division == 0
                    && !timeline.iter().any(|(_, a)| {
                        matches!(a, Act::Active { judge, .. } if *judge == j)
                            || matches!(a, Act::Absence { judge, from, until, .. } if *judge == j && until - from > 30)
                    })
            })
            .unwrap_or(courts[0].judges[0]);

        // Filings.
        let mut rc = Rng::new(sc.seed, 2);
        let mut ra = Rng::new(sc.seed, 3);
        let mix: Vec<f64> = sc.case_types.iter().map(|t| t.mix).collect();
        let mix_total: f64 = mix.iter().sum();
        let mut rate_sum = 0.0;
        for d in 0..days {
            rate_sum += day_rate(sc, d);
        }
        let base = sc.cases_per_court as f64 / rate_sum;
        let fav_specs = judges[favoured as usize].specs.clone();
        let steer_types: Vec<bool> = sc
            .case_types
            .iter()
            .map(|t| {
                t.panel == 1
                    && divisions.iter().position(|d| *d == t.division) == Some(0)
                    && fav_specs.contains(&t.specialization)
            })
            .collect();
        let steer_mix: f64 = mix
            .iter()
            .zip(&steer_types)
            .filter(|(_, s)| **s)
            .map(|(m, _)| m)
            .sum();
        let steer_p = if steer_mix > 0.0 {
            (sc.study.steer_fraction * mix_total / steer_mix).min(1.0)
        } else {
            0.0
        };
        let mut cases: Vec<CaseSpec> = Vec::new();
        let mut recent: Vec<VecDeque<u32>> = vec![VecDeque::new(); sc.courts as usize];
        let mut refile: Vec<(i32, u32)> = Vec::new();
        let mut next_no = vec![0u32; sc.courts as usize];
        for d in 0..days {
            for c in 0..sc.courts {
                let mut times: Vec<i64> = (0..rc.poisson(base * day_rate(sc, d)))
                    .map(|_| d as i64 * DAY_MS + 8 * HOUR + rc.below(8 * HOUR as u64) as i64)
                    .collect();
                // Honest refilings due today.
                let mut due = Vec::new();
                refile.retain(|&(day, orig)| {
                    if day == d && cases[orig as usize].court == c {
                        due.push(orig);
                        false
                    } else {
                        true
                    }
                });
                times.sort_unstable();
                let mut items: Vec<(i64, Option<u32>)> =
                    times.into_iter().map(|t| (t, None)).collect();
                for o in due {
                    items.push((
                        d as i64 * DAY_MS + 8 * HOUR + rc.below(8 * HOUR as u64) as i64,
                        Some(o),
                    ));
                }
                items.sort_unstable();
                for (at, refiled) in items {
                    let ci = cases.len() as u32;
                    let no = next_no[c as usize];
                    next_no[c as usize] += 1;
                    let id = format!("C{c:03}-{no:07}");
                    let rec = &recent[c as usize];
                    let mut case = if let Some(o) = refiled {
                        let mut k = cases[o as usize].clone();
                        k.claim = rc.bytes32();
                        k.related = None;
                        k.earlier = None;
                        k.steer = false;
                        k
                    } else if !rec.is_empty() && rc.chance(sc.duplicate_rate) {
                        let o = rec[rc.below(rec.len() as u64) as usize];
                        let mut k = cases[o as usize].clone();
                        k.related = None;
                        k.earlier = None;
                        k.steer = false;
                        k
                    } else {
                        let ty = rc.weighted(&mix) as u16;
                        let t = &sc.case_types[ty as usize];
                        let division =
                            divisions.iter().position(|x| *x == t.division).unwrap_or(0) as u32;
                        let mut parties = vec![rc.bytes32(), rc.bytes32()];
                        if rc.chance(sc.frequent_rate) && !litigants[c as usize].is_empty() {
                            let l = &litigants[c as usize];
                            parties.push(l[rc.below(l.len() as u64) as usize]);
                        }
                        parties.sort_unstable();
                        parties.dedup();
                        let pick =
                            |rc: &mut Rng, want: &dyn Fn(&CaseSpec) -> bool| -> Option<u32> {
                                if rec.is_empty() {
                                    return None;
                                }
                                let o = rec[rc.below(rec.len() as u64) as usize];
                                want(&cases[o as usize]).then_some(o)
                            };
                        let related = if rc.chance(sc.related_rate) {
                            pick(&mut rc, &|k: &CaseSpec| k.division == division)
                        } else {
                            None
                        };
                        // A related filing shares a party with the earlier case (SPEC §7.1).
                        if let Some(r) = related {
                            let shared = cases[r as usize].parties[0];
                            if let Err(pos) = parties.binary_search(&shared) {
                                parties.insert(pos, shared);
                            }
                        }
                        let earlier = if related.is_none() && rc.chance(sc.reappeal_rate) {
                            pick(&mut rc, &|k: &CaseSpec| k.at < at - 30 * DAY_MS)
                        } else {
                            None
                        };
                        CaseSpec {
                            id: String::new(),
                            court: c,
                            division,
                            ty,
                            parties,
                            claim: rc.bytes32(),
                            related,
                            earlier,
                            at,
                            steer: false,
                        }
                    };
                    case.id = id;
                    case.at = at;
                    // The attack marks targets with its own generator, so the honest stream is the
                    // same with and without it.
                    let target = ra.chance(steer_p);
                    if attack
                        && c == 0
                        && refiled.is_none()
                        && case.related.is_none()
                        && steer_types[case.ty as usize]
                    {
                        case.steer = target;
                    }
                    timeline.push((at, Act::File(ci)));
                    if rc.chance(sc.recusal_rate) {
                        let later = at + (1 + rc.below(30) as i64) * DAY_MS;
                        timeline.push((later, Act::Recuse(ci)));
                    }
                    if rc.chance(sc.withdrawal_rate) {
                        let later = at + (1 + rc.below(90) as i64) * DAY_MS;
                        timeline.push((later, Act::Close(ci)));
                    } else if refiled.is_none() && rc.chance(sc.refiling_rate) {
                        let later = at + (1 + rc.below(2) as i64) * DAY_MS;
                        timeline.push((later, Act::Close(ci)));
                        refile.push((d + 2 + rc.below(4) as i32, ci));
                    }
                    cases.push(case);
                    let r = &mut recent[c as usize];
                    r.push_back(ci);
                    if r.len() > 500 {
                        r.pop_front();
                    }
                }
            }
        }
        timeline.sort_by_key(|(t, _)| *t);
        let mut wsum = 0.0;
        for k in &cases {
            let t = &sc.case_types[k.ty as usize];
            wsum += t.weight as f64;
        }
        let mean_weight = if cases.is_empty() {
            1.0
        } else {
            wsum / cases.len() as f64
        };
        World {
            scenario: sc.clone(),
            courts,
            divisions,
            judges,
            conflicts,
            planned,
            cases,
            timeline,
            favoured,
            mean_weight,
        }
    }

    /// A digest of everything generated, to test determinism.
    #[cfg(test)]
    pub fn fingerprint(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        for j in &self.judges {
            let _ = write!(
                s,
                "{}:{}:{:?}:{};",
                j.id, j.share, j.specs, j.active_at_start
            );
        }
        for c in &self.cases {
            let _ = write!(
                s,
                "{}:{}:{}:{:?}:{:?};",
                c.id, c.at, c.ty, c.related, c.earlier
            );
        }
        for (t, a) in &self.timeline {
            let _ = write!(s, "{t}:{a:?};");
        }
        let d = klero_core::hash::sha256(&[s.as_bytes()]);
        d.to_hex()
    }
}

/// The relative filing rate of day `d` (day 0 = a Thursday, 1 January).
pub fn day_rate(sc: &Scenario, d: i32) -> f64 {
    let weekday = ((d + 3) % 7) as usize; // 0 = Monday; 2026-01-01 is a Thursday.
    let season = 1.0
        + sc.seasonal_amplitude * (2.0 * std::f64::consts::PI * (d as f64 - 15.0) / 365.0).cos();
    let august = if (212..243).contains(&(d % 365)) {
        0.6
    } else {
        1.0
    };
    sc.weekly[weekday] * season * august
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_from_the_seed() {
        for name in ["standard", "small", "appellate"] {
            let sc = Scenario::builtin(name).unwrap();
            let a = World::generate(&sc, false);
            let b = World::generate(&sc, false);
            assert_eq!(a.fingerprint(), b.fingerprint(), "{name}");
            let mut other = sc.clone();
            other.seed += 1;
            assert_ne!(
                a.fingerprint(),
                World::generate(&other, false).fingerprint()
            );
        }
    }

    #[test]
    fn the_attack_leaves_the_honest_stream_unchanged() {
        let sc = Scenario::builtin("standard").unwrap();
        let a = World::generate(&sc, false);
        let b = World::generate(&sc, true);
        assert_eq!(a.cases.len(), b.cases.len());
        let targets = b.cases.iter().filter(|c| c.steer).count() as f64;
        // About 5% of the court's filings are targets.
        let share = targets / b.cases.len() as f64;
        assert!((0.035..0.065).contains(&share), "{share}");
        assert!(a.cases.iter().all(|c| !c.steer));
        assert!(
            a.cases
                .iter()
                .zip(&b.cases)
                .all(|(x, y)| x.id == y.id && x.at == y.at && x.ty == y.ty)
        );
    }

    #[test]
    fn standard_has_the_size_the_issue_asks_for() {
        let sc = Scenario::builtin("standard").unwrap();
        let w = World::generate(&sc, false);
        assert_eq!(w.judges.len(), 20);
        assert!(
            (9_500..10_500).contains(&w.cases.len()),
            "{}",
            w.cases.len()
        );
        assert!((1.9..2.3).contains(&w.mean_weight), "{}", w.mean_weight);
        let n = Scenario::builtin("national").unwrap();
        assert_eq!(
            n.courts * n.divisions.iter().map(|d| d.judges).sum::<u32>(),
            600
        );
        assert_eq!(n.courts * n.cases_per_court, 1_000_000);
    }
}
