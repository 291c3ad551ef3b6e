//! Runs one policy over a world: the timeline is replayed in order, every filing is allocated by the
//! policy's backend, and everything an observer of the public log could see is recorded for the
//! measures.
//!
//! The [`Mirror`] keeps the facts the eligibility rules need (who is active, absent, conflicted,
//! recused, already on a case) so that the baselines apply the same pool rules as the core, and so
//! that the corrupt clerk of the steering study knows whom to mark absent. The real draw does not
//! use it: the core computes its own pools and the mirror only follows the outcomes.

use std::collections::{HashMap, HashSet};

use klero_core::AbsenceReason;

use crate::scenario::{Act, CaseSpec, DAY_MS, World};

/// How the corrupt clerk of the steering study works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attack {
    /// No attack: an honest court.
    None,
    /// Before a target filing, the other judges of the pool except `min_pool - 1` are recorded
    /// absent (sick) for the day.
    Absences,
    /// A target filing is withdrawn and refiled, with a slightly different claim, until the
    /// favoured judge comes up (up to the scenario's attempts).
    Duplicates,
    /// A target filing that another judge drew is reassigned by the clerk (reason `other`), again
    /// and again until the favoured judge comes up (up to the scenario's attempts).
    Reassign,
}

/// The outcome of one allocation as the public log shows it.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The eligible pool (judge indices), empty for an allocation by reference.
    pub pool: Vec<u32>,
    /// Probability of each pool member for the first (presiding) seat.
    pub probs: Vec<f64>,
    /// The judges chosen, presiding first.
    pub chosen: Vec<u32>,
}

/// What the eligibility rules give for an allocation.
#[derive(Clone, Debug)]
pub enum Plan {
    /// By reference to these judges (related case or duplicate filing).
    Reference(Vec<u32>),
    /// A random draw from this pool for this many seats.
    Pool(Vec<u32>, u8),
    /// Too few judges: the filing is refused.
    Refused,
}

/// A policy: allocates filings and replacement draws.
pub trait Backend {
    /// Registers the world before the first filing.
    fn setup(&mut self, w: &World);
    /// An absence is recorded at `at`.
    fn absence(&mut self, at: i64, judge: u32, from: i32, until: i32, reason: AbsenceReason);
    /// A judge starts or stops taking cases.
    fn set_active(&mut self, at: i64, judge: u32, active: bool);
    /// A case is filed and allocated; `None` if the filing was refused.
    fn file(&mut self, at: i64, ci: u32, case: &CaseSpec, m: &Mirror) -> Option<Outcome>;
    /// `judge` leaves case `ci` and a replacement is drawn; `None` if refused.
    fn recuse(&mut self, at: i64, ci: u32, judge: u32, m: &Mirror) -> Option<Outcome>;
    /// The clerk takes case `ci` away from `judge` and a replacement is drawn; `None` if refused.
    /// The allocation is the same as a recusal's; only the log records it differently.
    fn reassign(&mut self, at: i64, ci: u32, judge: u32, m: &Mirror) -> Option<Outcome> {
        self.recuse(at, ci, judge, m)
    }
    /// A case is withdrawn.
    fn close(&mut self, at: i64, ci: u32);
}

/// The duplicate-filing key: court, parties, claim.
/// Court, division, case type, parties, claim: the duplicate key of SPEC §4.5.
type DupKey = (u32, u32, u16, Vec<[u8; 32]>, [u8; 32]);

/// The facts the pool rules need, kept in step with the log.
pub struct Mirror {
    /// Taking cases.
    pub active: Vec<bool>,
    /// Absences (first day, last day).
    pub absences: Vec<Vec<(i32, i32)>>,
    conflicts: Vec<HashSet<[u8; 32]>>,
    /// Current judges of each case (presiding first).
    pub case_judges: Vec<Vec<u32>>,
    ever: Vec<Vec<u32>>,
    recused: Vec<Vec<u32>>,
    dup: HashMap<DupKey, u32>,
    /// Specialization of each case type.
    type_spec: Vec<String>,
    /// Weight of each case type.
    pub type_weight: Vec<u32>,
    type_panel: Vec<u8>,
    min_pool: usize,
    /// Judge attributes (court, division, specs, share).
    pub judges: Vec<(u32, u32, Vec<String>, u32)>,
    court_judges: Vec<Vec<u32>>,
    /// Filings (the world's plus the clerk's refilings).
    pub cases: Vec<CaseSpec>,
}

impl Mirror {
    pub(crate) fn new(w: &World) -> Mirror {
        let n = w.judges.len();
        let mut conflicts = vec![HashSet::new(); n];
        for &(j, s) in &w.conflicts {
            conflicts[j as usize].insert(s);
        }
        let mut absences = vec![Vec::new(); n];
        for a in &w.planned {
            if let Act::Absence {
                judge, from, until, ..
            } = a
            {
                absences[*judge as usize].push((*from, *until));
            }
        }
        Mirror {
            active: w.judges.iter().map(|j| j.active_at_start).collect(),
            absences,
            conflicts,
            case_judges: vec![],
            ever: vec![],
            recused: vec![],
            dup: HashMap::new(),
            type_spec: w
                .scenario
                .case_types
                .iter()
                .map(|t| t.specialization.clone())
                .collect(),
            type_weight: w.scenario.case_types.iter().map(|t| t.weight).collect(),
            type_panel: w.scenario.case_types.iter().map(|t| t.panel).collect(),
            min_pool: w.scenario.policy.min_pool as usize,
            judges: w
                .judges
                .iter()
                .map(|j| (j.court, j.division, j.specs.clone(), j.share))
                .collect(),
            court_judges: w.courts.iter().map(|c| c.judges.clone()).collect(),
            cases: w.cases.clone(),
        }
    }

    /// True if `j` is recorded absent on `day`.
    pub fn absent(&self, j: u32, day: i32) -> bool {
        self.absences[j as usize]
            .iter()
            .any(|&(f, u)| f <= day && day <= u)
    }

    /// The core's exclusion test (SPEC §7.2), in the same order; `true` = eligible.
    fn eligible(&self, j: u32, ci: u32, day: i32, whole: bool, spec: Option<&str>) -> bool {
        let (_, div, specs, _) = &self.judges[j as usize];
        let c = &self.cases[ci as usize];
        let cu = ci as usize;
        self.active[j as usize]
            && (whole || *div == c.division)
            && spec.is_none_or(|s| specs.iter().any(|x| x == s))
            && !self.absent(j, day)
            && !c
                .parties
                .iter()
                .any(|p| self.conflicts[j as usize].contains(p))
            && !self.recused.get(cu).is_some_and(|r| r.contains(&j))
            && !c
                .earlier
                .is_some_and(|e| self.ever[e as usize].contains(&j))
            && !self.case_judges.get(cu).is_some_and(|r| r.contains(&j))
    }

    /// The pool for `seats` seats under the minimum-pool rule and the `widen_then_proceed` fallback.
    fn pool(&self, ci: u32, day: i32, seats: u8) -> Plan {
        let c = &self.cases[ci as usize];
        let spec = self.type_spec[c.ty as usize].as_str();
        let min = self.min_pool.max(seats as usize);
        let pass = |whole: bool| -> Vec<u32> {
            self.court_judges[c.court as usize]
                .iter()
                .copied()
                .filter(|&j| self.eligible(j, ci, day, whole, Some(spec)))
                .collect()
        };
        let ok = pass(false);
        if ok.len() >= min {
            return Plan::Pool(ok, seats);
        }
        let ok = pass(true);
        if ok.len() >= seats as usize && !ok.is_empty() {
            Plan::Pool(ok, seats)
        } else {
            Plan::Refused
        }
    }

    /// What the rules give for filing `ci` on `day`: a duplicate or a related case by reference,
    /// else a draw.
    pub fn plan_filing(&self, ci: u32, day: i32) -> Plan {
        let c = &self.cases[ci as usize];
        // A duplicate or related binding holds only if every bound judge may sit on the case.
        let spec = Some(self.type_spec[c.ty as usize].as_str());
        let bound = |e: u32| {
            let rj = &self.case_judges[e as usize];
            !rj.is_empty() && rj.iter().all(|&j| self.eligible(j, ci, day, false, spec))
        };
        let key = (c.court, c.division, c.ty, c.parties.clone(), c.claim);
        if let Some(&latest) = self.dup.get(&key) {
            if bound(latest) {
                return Plan::Reference(self.case_judges[latest as usize].clone());
            }
        } else if let Some(r) = c.related
            && bound(r)
        {
            return Plan::Reference(self.case_judges[r as usize].clone());
        }
        self.pool(ci, day, self.type_panel[c.ty as usize])
    }

    /// The replacement pool when `judge` leaves `ci` (the judge already counted as recused).
    pub fn plan_recusal(&self, ci: u32, day: i32) -> Plan {
        self.pool(ci, day, 1)
    }

    /// The panel size of case `ci`.
    pub fn seats(&self, ci: u32) -> u8 {
        self.type_panel[self.cases[ci as usize].ty as usize]
    }
}

/// One random draw as the public log shows it.
#[derive(Clone, Debug)]
pub struct DrawRec {
    /// Day of the draw.
    pub day: i32,
    /// Court.
    pub court: u32,
    /// Case type.
    pub ty: u16,
    /// Case index.
    pub case: u32,
    /// Opened by a filing (not a recusal).
    pub filing: bool,
    /// The pool.
    pub pool: Vec<u32>,
    /// First-seat probabilities.
    pub probs: Vec<f64>,
    /// Chosen judges.
    pub chosen: Vec<u32>,
}

/// What an observer can see besides the draws: absences with their recording time, filings and
/// withdrawals (for the steering audit).
#[derive(Clone, Debug, Default)]
pub struct PublicFacts {
    /// (recorded at, judge, first day, last day).
    pub absences: Vec<(i64, u32, i32, i32)>,
    /// (filed at, case, party-set fingerprint).
    pub filings: Vec<(i64, u32, u64)>,
    /// (closed at, case).
    pub closes: Vec<(i64, u32)>,
}

/// The result of running one policy over one world.
pub struct Run {
    /// Every random draw.
    pub draws: Vec<DrawRec>,
    /// Other public facts.
    pub facts: PublicFacts,
    /// Weekly (day, max |dev|, mean |dev|) in mean case weights.
    pub series: Vec<(i32, f64, f64)>,
    /// Year-end deviation of each judge in mean case weights (judges ever in a pool).
    pub final_dev: Vec<(u32, f64)>,
    /// Year-end plain deviation (see [`plain_devs`]) of each regular judge.
    pub plain_dev: Vec<(u32, f64)>,
    /// Target filings the clerk steered successfully, and target filings attempted.
    pub steered: (u32, u32),
    /// Filings refused for lack of judges.
    pub refused: u32,
    /// Wall time of the run in seconds (allocation only).
    pub seconds: f64,
}

fn party_fingerprint(c: &CaseSpec) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in &c.parties {
        for &b in p {
            h = (h ^ b as u64).wrapping_mul(0x100000001b3);
        }
    }
    h ^ c.court as u64
}

/// The balance ledger: each judge's weighted intake against what they were owed: every filing's
/// weight shared among the judges of its division present that day, in proportion to share.
struct Ledger {
    intake: Vec<f64>,
    avail: Vec<f64>,
    shares: Vec<f64>,
    group: Vec<(u32, u32)>,
    court_judges: Vec<Vec<u32>>,
}

impl Ledger {
    /// Owes the filing mass of a case to the judges of its court and division present that day,
    /// in proportion to their shares.
    fn expose(&mut self, m: &Mirror, court: u32, division: u32, day: i32, mass: f64) {
        let present: Vec<u32> = self.court_judges[court as usize]
            .iter()
            .copied()
            .filter(|&j| {
                self.group[j as usize].1 == division && m.active[j as usize] && !m.absent(j, day)
            })
            .collect();
        let total: f64 = present.iter().map(|&j| self.shares[j as usize]).sum();
        for j in present {
            self.avail[j as usize] += mass * self.shares[j as usize] / total;
        }
    }

    /// Deviation of each judge's intake from what they were owed, per unit share, minus the mean of
    /// their division, in mean case weights.
    fn devs(&self, mean_weight: f64) -> Vec<(u32, f64)> {
        let mut by_group: std::collections::BTreeMap<(u32, u32), Vec<(u32, f64)>> =
            Default::default();
        for j in 0..self.intake.len() {
            if self.avail[j] <= 0.0 {
                continue;
            }
            by_group
                .entry(self.group[j])
                .or_default()
                .push((j as u32, (self.intake[j] - self.avail[j]) / self.shares[j]));
        }
        let mut out = Vec::new();
        for (_, v) in by_group {
            let mean = v.iter().map(|x| x.1).sum::<f64>() / v.len() as f64;
            out.extend(v.into_iter().map(|(j, d)| (j, (d - mean) / mean_weight)));
        }
        out
    }
}

/// Runs `backend` over `w`, with the given attack.
pub fn run(w: &World, backend: &mut dyn Backend, attack: Attack) -> Run {
    let t0 = std::time::Instant::now();
    let mut m = Mirror::new(w);
    backend.setup(w);
    let n = w.judges.len();
    let mut led = Ledger {
        intake: vec![0.0; n],
        avail: vec![0.0; n],
        shares: w.judges.iter().map(|j| j.share as f64 / 1000.0).collect(),
        group: w.judges.iter().map(|j| (j.court, j.division)).collect(),
        court_judges: w.courts.iter().map(|c| c.judges.clone()).collect(),
    };
    let mut facts = PublicFacts::default();
    for a in &w.planned {
        if let Act::Absence {
            judge, from, until, ..
        } = a
        {
            facts.absences.push((-DAY_MS, *judge, *from, *until));
        }
    }
    let mut draws = Vec::new();
    let mut series = Vec::new();
    let mut next_sample = 7;
    let mut steered = (0u32, 0u32);
    let mut refused = 0u32;
    let mut closed: Vec<bool> = vec![false; w.cases.len()];
    let fav = w.favoured;
    let mut extra_abs = 0u32;

    let record = |m: &mut Mirror,
                  led: &mut Ledger,
                  draws: &mut Vec<DrawRec>,
                  ci: u32,
                  day: i32,
                  out: &Outcome,
                  filing: bool| {
        let c = &m.cases[ci as usize];
        let wgt = m.type_weight[c.ty as usize] as f64;
        let seats = m.seats(ci) as f64;
        let cu = ci as usize;
        if m.case_judges.len() <= cu {
            m.case_judges.resize(cu + 1, vec![]);
            m.ever.resize(cu + 1, vec![]);
            m.recused.resize(cu + 1, vec![]);
        }
        for &j in &out.chosen {
            led.intake[j as usize] += wgt;
            m.case_judges[cu].push(j);
            if !m.ever[cu].contains(&j) {
                m.ever[cu].push(j);
            }
        }
        if filing {
            led.expose(m, c.court, c.division, day, wgt * seats);
        }
        if !out.pool.is_empty() {
            draws.push(DrawRec {
                day,
                court: c.court,
                ty: c.ty,
                case: ci,
                filing,
                pool: out.pool.clone(),
                probs: out.probs.clone(),
                chosen: out.chosen.clone(),
            });
        }
    };

    let mut file_one = |m: &mut Mirror,
                        led: &mut Ledger,
                        draws: &mut Vec<DrawRec>,
                        facts: &mut PublicFacts,
                        backend: &mut dyn Backend,
                        at: i64,
                        ci: u32|
     -> Option<Outcome> {
        let day = at.div_euclid(DAY_MS) as i32;
        let cu = ci as usize;
        if m.case_judges.len() <= cu {
            m.case_judges.resize(cu + 1, vec![]);
            m.ever.resize(cu + 1, vec![]);
            m.recused.resize(cu + 1, vec![]);
        }
        facts
            .filings
            .push((at, ci, party_fingerprint(&m.cases[cu])));
        let c = m.cases[cu].clone();
        let out = backend.file(at, ci, &c, m);
        match &out {
            Some(o) => {
                record(m, led, draws, ci, day, o, true);
                m.dup
                    .insert((c.court, c.division, c.ty, c.parties.clone(), c.claim), ci);
            }
            None => refused += 1,
        }
        out
    };

    for (at, act) in &w.timeline {
        let at = *at;
        let day = at.div_euclid(DAY_MS) as i32;
        while day >= next_sample {
            let d = led.devs(w.mean_weight);
            if !d.is_empty() {
                let mx = d.iter().map(|x| x.1.abs()).fold(0.0, f64::max);
                let mean = d.iter().map(|x| x.1.abs()).sum::<f64>() / d.len() as f64;
                series.push((next_sample, mx, mean));
            }
            next_sample += 7;
        }
        match act {
            Act::Absence {
                judge,
                from,
                until,
                reason,
            } => {
                m.absences[*judge as usize].push((*from, *until));
                facts.absences.push((at, *judge, *from, *until));
                backend.absence(at, *judge, *from, *until, *reason);
            }
            Act::Active { judge, active } => {
                m.active[*judge as usize] = *active;
                backend.set_active(at, *judge, *active);
            }
            Act::File(ci) => {
                let ci = *ci;
                let c = &m.cases[ci as usize];
                if !c.steer || attack == Attack::None {
                    file_one(&mut m, &mut led, &mut draws, &mut facts, backend, at, ci);
                    continue;
                }
                steered.1 += 1;
                match attack {
                    Attack::Absences => {
                        if let Plan::Pool(pool, _) = m.plan_filing(ci, day)
                            && pool.contains(&fav)
                        {
                            let keep = w.scenario.policy.min_pool.max(1) as usize - 1;
                            let others: Vec<u32> =
                                pool.iter().copied().filter(|&j| j != fav).collect();
                            // Keep the `keep` most recently listed others; mark the rest sick today.
                            let cut = others.len().saturating_sub(keep);
                            let start = (ci as usize * 7919) % others.len().max(1);
                            let mut rot = others.clone();
                            rot.rotate_left(start);
                            for &j in &rot[..cut] {
                                m.absences[j as usize].push((day, day));
                                facts.absences.push((at - 1, j, day, day));
                                backend.absence(at - 1, j, day, day, AbsenceReason::Sick);
                                extra_abs += 1;
                            }
                        }
                        let out =
                            file_one(&mut m, &mut led, &mut draws, &mut facts, backend, at, ci);
                        if out.is_some_and(|o| o.chosen.first() == Some(&fav)) {
                            steered.0 += 1;
                        }
                    }
                    Attack::Duplicates => {
                        let mut cur = ci;
                        let mut t = at;
                        for attempt in 0..w.scenario.study.refile_attempts.max(1) {
                            if attempt > 0 {
                                // Refile the same parties with a slightly different claim.
                                let mut k = m.cases[ci as usize].clone();
                                k.claim[0] ^= attempt as u8;
                                k.claim[31] ^= 0x5a;
                                k.id = format!("{}-R{attempt}", k.id);
                                k.at = t;
                                k.steer = false;
                                cur = m.cases.len() as u32;
                                m.cases.push(k);
                                closed.push(false);
                            }
                            let out =
                                file_one(&mut m, &mut led, &mut draws, &mut facts, backend, t, cur);
                            let Some(o) = out else { break };
                            if o.chosen.first() == Some(&fav) {
                                steered.0 += 1;
                                break;
                            }
                            if attempt + 1 < w.scenario.study.refile_attempts.max(1) {
                                t += 60_000;
                                withdraw(&mut m, &mut led, &mut facts, backend, t, cur);
                                closed[cur as usize] = true;
                                t += 60_000;
                            }
                        }
                    }
                    Attack::Reassign => {
                        let mut out =
                            file_one(&mut m, &mut led, &mut draws, &mut facts, backend, at, ci);
                        let mut t = at;
                        for _ in 1..w.scenario.study.refile_attempts.max(1) {
                            let Some(o) = &out else { break };
                            let Some(&judge) = o.chosen.first() else {
                                break;
                            };
                            if judge == fav {
                                break;
                            }
                            t += 60_000;
                            let cu = ci as usize;
                            m.case_judges[cu].retain(|&j| j != judge);
                            m.recused[cu].push(judge);
                            out = backend.reassign(t, ci, judge, &m);
                            match &out {
                                Some(o) => {
                                    let wgt = m.type_weight[m.cases[cu].ty as usize] as f64;
                                    led.intake[judge as usize] -= wgt;
                                    record(&mut m, &mut led, &mut draws, ci, day, o, false);
                                }
                                None => {
                                    m.recused[cu].pop();
                                    m.case_judges[cu].insert(0, judge);
                                }
                            }
                        }
                        if out.is_some_and(|o| o.chosen.first() == Some(&fav)) {
                            steered.0 += 1;
                        }
                    }
                    Attack::None => unreachable!(),
                }
            }
            Act::Recuse(ci) => {
                let ci = *ci as usize;
                if closed[ci] || m.case_judges.get(ci).is_none_or(|v| v.is_empty()) {
                    continue;
                }
                let judge = m.case_judges[ci][0];
                // Tentatively mark the judge recused, as the core does, and ask for a pool.
                m.case_judges[ci].retain(|&j| j != judge);
                m.recused[ci].push(judge);
                let out = backend.recuse(at, ci as u32, judge, &m);
                match out {
                    Some(o) => {
                        let wgt = m.type_weight[m.cases[ci].ty as usize] as f64;
                        led.intake[judge as usize] -= wgt;
                        record(&mut m, &mut led, &mut draws, ci as u32, day, &o, false);
                    }
                    None => {
                        m.recused[ci].pop();
                        m.case_judges[ci].insert(0, judge);
                    }
                }
            }
            Act::Close(ci) => {
                let ci = *ci as usize;
                if closed[ci] || m.case_judges.get(ci).is_none_or(|v| v.is_empty()) {
                    continue;
                }
                closed[ci] = true;
                withdraw(&mut m, &mut led, &mut facts, backend, at, ci as u32);
            }
        }
    }
    let _ = extra_abs;
    let final_dev = led.devs(w.mean_weight);
    if std::env::var_os("KLERO_SIM_DEBUG").is_some() {
        for (t, a) in &w.timeline {
            match a {
                Act::Active { .. } => eprintln!("day {} {a:?}", t / DAY_MS),
                Act::Absence { from, until, .. } if until - from > 20 => {
                    eprintln!("day {} {a:?}", t / DAY_MS)
                }
                _ => {}
            }
        }
        for (j, d) in &final_dev {
            eprintln!(
                "judge {} {:?} share {} intake {:.1} avail {:.1} dev {:.2}",
                w.judges[*j as usize].id,
                w.judges[*j as usize].specs,
                w.judges[*j as usize].share,
                led.intake[*j as usize],
                led.avail[*j as usize],
                d
            );
        }
    }
    let plain_dev = plain_devs(w, &m, &led.intake);
    Run {
        draws,
        facts,
        series,
        final_dev,
        plain_dev,
        steered,
        refused,
        seconds: t0.elapsed().as_secs_f64(),
    }
}

/// The plain-court deviation: each judge's weighted intake (the cases actually received, no credit
/// of any kind) per unit share, minus the mean of the same over their court and division, in mean
/// case weights; only over **regular** judges: active all year and never absent more than 30
/// consecutive days (so the joiner, the leaver and the long leave are left out rather than owed).
pub fn plain_devs(w: &World, m: &Mirror, intake: &[f64]) -> Vec<(u32, f64)> {
    let moved: HashSet<u32> = w
        .timeline
        .iter()
        .filter_map(|(_, a)| match a {
            Act::Active { judge, .. } => Some(*judge),
            _ => None,
        })
        .collect();
    let mut by_group: std::collections::BTreeMap<(u32, u32), Vec<(u32, f64)>> = Default::default();
    for (j, spec) in w.judges.iter().enumerate() {
        let ju = j as u32;
        if !spec.active_at_start
            || moved.contains(&ju)
            || m.absences[j].iter().any(|&(f, u)| u - f + 1 > 30)
        {
            continue;
        }
        by_group
            .entry((spec.court, spec.division))
            .or_default()
            .push((ju, intake[j] * 1000.0 / spec.share as f64));
    }
    let mut out = Vec::new();
    for (_, v) in by_group {
        let mean = v.iter().map(|x| x.1).sum::<f64>() / v.len() as f64;
        out.extend(v.into_iter().map(|(j, x)| (j, (x - mean) / w.mean_weight)));
    }
    out
}

fn withdraw(
    _m: &mut Mirror,
    _led: &mut Ledger,
    facts: &mut PublicFacts,
    backend: &mut dyn Backend,
    at: i64,
    ci: u32,
) {
    facts.closes.push((at, ci));
    backend.close(at, ci);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    /// Three judges in one division (shares 1, 1, 1/2) plus one in another division.
    fn world() -> World {
        let sc = Scenario::parse(
            r#"{"name": "ledger", "seed": 3, "courts": 1,
            "divisions": [{"name": "a", "judges": 3, "specializations": [["a", 1.0]]},
                          {"name": "b", "judges": 1, "specializations": [["b", 1.0]]}],
            "case_types": [{"code": "x", "division": "a", "specialization": "a", "weight": 2, "panel": 1, "mix": 1.0}],
            "cases_per_court": 10, "president_share": 500, "part_time_fraction": 0.0,
            "holiday_days": 0, "sick_episodes": 0.0, "long_leave_days": 0, "joiners": 0, "leavers": 0,
            "conflicts_per_judge": 0, "recusal_rate": 0.0, "related_rate": 0.0, "duplicate_rate": 0.0,
            "withdrawal_rate": 0.0, "refiling_rate": 0.0}"#,
        )
        .unwrap();
        World::generate(&sc, false)
    }

    #[test]
    fn the_ledger_owes_present_judges_by_share_and_never_the_absent() {
        let w = world();
        let mut m = Mirror::new(&w);
        // Judge 0 is the president (share 1/2); judge 2 is away on day 5.
        m.absences[2].push((5, 5));
        let mut led = Ledger {
            intake: vec![0.0; 4],
            avail: vec![0.0; 4],
            shares: vec![0.5, 1.0, 1.0, 1.0],
            group: vec![(0, 0), (0, 0), (0, 0), (0, 1)],
            court_judges: vec![vec![0, 1, 2, 3]],
        };
        // Day 4, all three present: 5 units owed 1 : 2 : 2.
        led.expose(&m, 0, 0, 4, 5.0);
        // Day 5, judge 2 away: 3 units owed 1 : 2 to judges 0 and 1; nothing to judge 2.
        led.expose(&m, 0, 0, 5, 3.0);
        assert_eq!(led.avail, vec![2.0, 4.0, 2.0, 0.0]);
        // Intake: judge 0 got 2, judge 1 got 6, judge 2 got 0.
        led.intake = vec![2.0, 6.0, 0.0, 0.0];
        // Deviation per share: (2-2)/0.5 = 0, (6-4)/1 = 2, (0-2)/1 = -2; mean 0; in units of 2.
        let d = led.devs(2.0);
        assert_eq!(
            d,
            vec![(0, 0.0), (1, 1.0), (2, -1.0)],
            "judge 3 was never owed"
        );
    }

    #[test]
    fn the_plain_figure_compares_intake_per_share_within_the_division() {
        let w = world();
        let mut m = Mirror::new(&w);
        // Judge 0 at share 1/2 with 3 units counts as 6; judges 1, 2 at 4 and 8: mean 6.
        let d = plain_devs(&w, &m, &[3.0, 4.0, 8.0, 100.0]);
        let mw = w.mean_weight;
        assert_eq!(d, vec![(0, 0.0), (1, -2.0 / mw), (2, 2.0 / mw), (3, 0.0)]);
        // A judge away 31 days is not a regular judge and leaves the comparison.
        m.absences[2].push((10, 40));
        let d = plain_devs(&w, &m, &[3.0, 4.0, 8.0, 100.0]);
        assert_eq!(d, vec![(0, 1.0 / mw), (1, -1.0 / mw), (3, 0.0)]);
    }
}
