//! Kleroterion's real draw: every fact is appended to a `klero_core::Log`, every allocation is the
//! log's own `Log::draw`, and the measures read the recorded `Draw` (eligible pool and integer
//! weights). Nothing of the draw is re-implemented here.

use std::collections::HashMap;

use klero_core::hash::sha256;
use klero_core::{
    AbsenceId, AbsenceReason, Actor, ActorId, CaseId, CaseType, CaseTypeCode, ClosingReason,
    CourtId, Day, Digest32, DivisionId, Event, Fallback, HashChain, JudgeId, Log, LogEntry, Policy,
    ReassignReason, RecusalReason, RelatedLink, RelationReason, Role, Specialization,
};

use crate::engine::{Backend, Mirror, Outcome};
use crate::scenario::{CaseSpec, PolicyParams, World};

/// The real draw with the given parameters.
pub struct Core {
    params: PolicyParams,
    log: Log,
    chain: Option<HashChain>,
    start_ms: i64,
    judge_ids: Vec<JudgeId>,
    judge_ix: HashMap<JudgeId, u32>,
    judge_rec: Vec<(DivisionId, Vec<Specialization>, u32)>,
    case_ids: Vec<Option<CaseId>>,
    courts: Vec<CourtId>,
    divisions: Vec<DivisionId>,
    types: Vec<(CaseTypeCode, u32)>,
    absences: u64,
    /// Every entry appended, when kept (see [`Core::keeping_entries`]).
    pub entries: Option<Vec<LogEntry>>,
    /// Draw entries appended.
    pub draws: u64,
    /// Seconds spent inside the core (appends and draws).
    pub core_seconds: f64,
}

impl Core {
    /// A backend for the real draw with `params`.
    pub fn new(params: PolicyParams) -> Core {
        Core {
            params,
            log: Log::new(),
            chain: None,
            start_ms: 0,
            judge_ids: vec![],
            judge_ix: HashMap::new(),
            judge_rec: vec![],
            case_ids: vec![],
            courts: vec![],
            divisions: vec![],
            types: vec![],
            absences: 0,
            entries: None,
            draws: 0,
            core_seconds: 0.0,
        }
    }

    /// Keeps every entry appended, to export the log (JSON lines, SPEC §8) or audit it.
    pub fn keeping_entries(mut self) -> Core {
        self.entries = Some(Vec::new());
        self
    }

    fn append(&mut self, at: i64, actor: Actor, ev: Event) -> bool {
        let t = std::time::Instant::now();
        let r = self.log.append(self.start_ms + at, actor, ev);
        self.core_seconds += t.elapsed().as_secs_f64();
        match r {
            Ok(e) => {
                if let Some(v) = self.entries.as_mut() {
                    v.push(e);
                }
                true
            }
            Err(_) => false,
        }
    }

    fn draw(&mut self, at: i64, case: &CaseId) -> Option<Outcome> {
        let t = std::time::Instant::now();
        let chain = self.chain.as_mut().expect("setup first");
        let e = self.log.draw(self.start_ms + at, case, chain).ok();
        self.core_seconds += t.elapsed().as_secs_f64();
        let e = e?;
        if let Some(v) = self.entries.as_mut() {
            v.push(e.clone());
        }
        self.draws += 1;
        let Event::Draw(d) = &e.event else {
            return None;
        };
        let chosen = d.chosen.iter().map(|j| self.judge_ix[j]).collect();
        if !d.method.is_random() {
            return Some(Outcome {
                pool: vec![],
                probs: vec![],
                chosen,
            });
        }
        let total: u64 = d.eligible.iter().map(|c| c.weight).sum();
        Some(Outcome {
            pool: d.eligible.iter().map(|c| self.judge_ix[&c.judge]).collect(),
            probs: d
                .eligible
                .iter()
                .map(|c| c.weight as f64 / total as f64)
                .collect(),
            chosen,
        })
    }

    /// The core policy the parameters give, with the scenario's case types.
    pub fn policy(params: &PolicyParams, w: &World) -> Policy {
        let mut p = Policy::with_case_types(
            w.scenario
                .case_types
                .iter()
                .map(|t| CaseType {
                    code: CaseTypeCode::parse(t.code.clone()).expect("case type code"),
                    specialization: Specialization::parse(t.specialization.clone())
                        .expect("specialization"),
                    weight: t.weight,
                    panel: t.panel,
                })
                .collect(),
        );
        p.min_pool = params.min_pool;
        p.fallback = Fallback::WidenThenProceed;
        p.cap_num = params.cap_num;
        p.cap_den = params.cap_den;
        p.balance_permille = params.balance_permille;
        p.window_days = params.window_days;
        p.catch_up_limit = params.catch_up_limit;
        p
    }
}

fn admin() -> Actor {
    Actor::new(Role::SystemAdmin, "sysadmin")
}
fn court_admin() -> Actor {
    Actor::new(Role::CourtAdmin, "court-admin")
}
fn clerk() -> Actor {
    Actor::new(Role::Clerk, "clerk")
}

impl Backend for Core {
    fn setup(&mut self, w: &World) {
        let start = Day::from_ymd(2026, 1, 1).expect("date");
        self.start_ms = start.start_millis();
        let len = (w.cases.len() as u64) * 3 + 1000;
        let secret = sha256(&[b"klero-sim/beacon", &w.scenario.seed.to_be_bytes()]);
        let chain = HashChain::new(secret, len);
        let policy = Core::policy(&self.params, w);
        let setup = -86_400_000;
        assert!(self.append(
            setup,
            admin(),
            Event::Genesis {
                log_id: ActorId::parse(format!("sim-{}", w.scenario.name)).expect("id"),
                policy,
                beacon: chain.anchor(),
            },
        ));
        self.chain = Some(chain);
        self.divisions = w
            .divisions
            .iter()
            .map(|d| DivisionId::parse(d.clone()).expect("division"))
            .collect();
        self.types = w
            .scenario
            .case_types
            .iter()
            .map(|t| (CaseTypeCode::parse(t.code.clone()).expect("code"), t.weight))
            .collect();
        for c in &w.courts {
            let court = CourtId::parse(c.id.clone()).expect("court");
            assert!(self.append(
                setup,
                admin(),
                Event::CourtCreated {
                    court: court.clone(),
                    name: format!("Court {}", c.id),
                },
            ));
            for d in self.divisions.clone() {
                assert!(self.append(
                    setup,
                    court_admin(),
                    Event::DivisionCreated {
                        court: court.clone(),
                        division: d.clone(),
                        name: d.to_string(),
                    },
                ));
            }
            self.courts.push(court);
        }
        for (i, j) in w.judges.iter().enumerate() {
            let id = JudgeId::parse(j.id.clone()).expect("judge");
            let specs: Vec<Specialization> = j
                .specs
                .iter()
                .map(|s| Specialization::parse(s.clone()).expect("spec"))
                .collect();
            let division = self.divisions[j.division as usize].clone();
            assert!(self.append(
                setup,
                court_admin(),
                Event::JudgeRegistered {
                    judge: id.clone(),
                    court: self.courts[j.court as usize].clone(),
                    division: division.clone(),
                    specializations: specs.clone(),
                    share_permille: j.share,
                    active: j.active_at_start,
                },
            ));
            self.judge_ix.insert(id.clone(), i as u32);
            self.judge_ids.push(id);
            self.judge_rec.push((division, specs, j.share));
        }
        for &(j, s) in &w.conflicts {
            let id = self.judge_ids[j as usize].clone();
            assert!(self.append(
                setup,
                Actor::new(Role::Judge, id.as_str()),
                Event::ConflictDeclared {
                    judge: id,
                    subject: Digest32(s),
                },
            ));
        }
        for a in &w.planned {
            if let crate::scenario::Act::Absence {
                judge,
                from,
                until,
                reason,
            } = a
            {
                self.absence(setup, *judge, *from, *until, *reason);
            }
        }
        self.case_ids = vec![None; w.cases.len()];
    }

    fn absence(&mut self, at: i64, judge: u32, from: i32, until: i32, reason: AbsenceReason) {
        self.absences += 1;
        let start = Day::from_millis(self.start_ms).0;
        let ev = Event::AbsenceRecorded {
            absence: AbsenceId::parse(format!("A{}", self.absences)).expect("id"),
            judge: self.judge_ids[judge as usize].clone(),
            from: Day(start + from),
            until: Day(start + until),
            reason,
        };
        self.append(at, court_admin(), ev);
    }

    fn set_active(&mut self, at: i64, judge: u32, active: bool) {
        let (division, specs, share) = self.judge_rec[judge as usize].clone();
        let ev = Event::JudgeUpdated {
            judge: self.judge_ids[judge as usize].clone(),
            division,
            specializations: specs,
            share_permille: share,
            active,
        };
        self.append(at, court_admin(), ev);
    }

    fn file(&mut self, at: i64, ci: u32, c: &CaseSpec, _m: &Mirror) -> Option<Outcome> {
        let id = CaseId::parse(c.id.clone()).expect("case id");
        let (code, weight) = self.types[c.ty as usize].clone();
        let related = c.related.and_then(|r| {
            Some(RelatedLink {
                case: self.case_ids[r as usize].clone()?,
                reason: RelationReason::SameFacts,
            })
        });
        let earlier = c.earlier.and_then(|r| self.case_ids[r as usize].clone());
        let ev = Event::CaseFiled {
            case: id.clone(),
            court: self.courts[c.court as usize].clone(),
            division: self.divisions[c.division as usize].clone(),
            case_type: code,
            weight,
            parties: c.parties.iter().map(|p| Digest32(*p)).collect(),
            claim: Digest32(c.claim),
            related,
            earlier_instance: earlier,
        };
        if !self.append(at, clerk(), ev) {
            return None;
        }
        if self.case_ids.len() <= ci as usize {
            self.case_ids.resize(ci as usize + 1, None);
        }
        self.case_ids[ci as usize] = Some(id.clone());
        self.draw(at, &id)
    }

    fn recuse(&mut self, at: i64, ci: u32, judge: u32, _m: &Mirror) -> Option<Outcome> {
        let id = self.case_ids[ci as usize].clone()?;
        let j = self.judge_ids[judge as usize].clone();
        let ev = Event::Recusal {
            case: id.clone(),
            judge: j.clone(),
            reason: RecusalReason::ConflictOfInterest,
        };
        if !self.append(at, Actor::new(Role::Judge, j.as_str()), ev) {
            return None;
        }
        self.draw(at, &id)
    }

    fn reassign(&mut self, at: i64, ci: u32, judge: u32, _m: &Mirror) -> Option<Outcome> {
        let id = self.case_ids[ci as usize].clone()?;
        let ev = Event::Reassignment {
            case: id.clone(),
            judge: self.judge_ids[judge as usize].clone(),
            reason: ReassignReason::Other,
        };
        if !self.append(at, clerk(), ev) {
            return None;
        }
        self.draw(at, &id)
    }

    fn close(&mut self, at: i64, ci: u32) {
        if let Some(id) = self.case_ids[ci as usize].clone() {
            self.append(
                at,
                clerk(),
                Event::CaseClosed {
                    case: id,
                    reason: ClosingReason::Withdrawal,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Attack, run};
    use crate::measures::unpredictability;
    use crate::scenario::Scenario;

    /// Five judges of one division, light and heavy cases, with holidays and a long leave.
    fn world(seed: u64) -> World {
        world_with(seed, 1000)
    }

    /// The same court with its president (the first judge) at `president_share`.
    fn world_with(seed: u64, president_share: u32) -> World {
        let sc = Scenario::parse(&format!(
            r#"{{"name": "core", "seed": {seed}, "courts": 1,
            "divisions": [{{"name": "general", "judges": 5, "specializations": [["general", 1.0]]}}],
            "case_types": [
              {{"code": "light", "division": "general", "specialization": "general", "weight": 1, "panel": 1, "mix": 0.6}},
              {{"code": "heavy", "division": "general", "specialization": "general", "weight": 4, "panel": 1, "mix": 0.4}}],
            "cases_per_court": 400, "president_share": {president_share}, "part_time_fraction": 0.0,
            "long_leave_days": 40, "joiners": 0, "leavers": 0, "conflicts_per_judge": 0}}"#
        ))
        .unwrap();
        World::generate(&sc, false)
    }

    fn chosen(w: &World) -> Vec<Vec<u32>> {
        let mut b = Core::new(PolicyParams::default());
        run(w, &mut b, Attack::None)
            .draws
            .into_iter()
            .map(|d| d.chosen)
            .collect()
    }

    #[test]
    fn the_real_draw_is_deterministic_from_the_seed() {
        let w = world(11);
        let a = chosen(&w);
        assert!(a.len() > 300, "{}", a.len());
        assert_eq!(a, chosen(&w));
        assert_ne!(a, chosen(&world(12)));
    }

    #[test]
    fn the_real_draw_keeps_the_cap_against_the_nominal_pool() {
        // Cap 3/2 against the nominal pool: p x |E| never above 1.5, and at most max(1.5 |E| / N, 1)
        // where N counts the absent; the recorded weights give p exactly.
        let w = world(11);
        let mut b = Core::new(PolicyParams::default());
        let r = run(&w, &mut b, Attack::None);
        let u = unpredictability(&r.draws);
        assert!(u.worst_p_times_pool <= 1.5 + 1e-12, "{u:?}");
        assert!(u.worst_p_times_pool > 1.2, "the balance is in use: {u:?}");
        // With balance 0 the draw is a lottery by share, here with equal shares: uniform.
        let mut b = Core::new(PolicyParams {
            balance_permille: 0,
            ..PolicyParams::default()
        });
        let r = run(&w, &mut b, Attack::None);
        assert!((unpredictability(&r.draws).worst_p_times_pool - 1.0).abs() < 1e-12);
    }

    /// The random draws' first-seat probabilities with all five judges eligible.
    fn full_pool(r: &crate::engine::Run) -> Vec<&crate::engine::DrawRec> {
        r.draws.iter().filter(|d| d.pool.len() == 5).collect()
    }

    #[test]
    fn balance_zero_is_a_lottery_by_share() {
        // President at 400, four judges at 1000. At balance 0 (C = 1) every draw gives
        // p_j = s_j / S over the eligible pool, whatever the loads: with the full pool S = 4400,
        // the president 400/4400 = 1/11 and each other judge 1000/4400 = 5/22 (p x |E| = 25/22).
        let w = world_with(11, 400);
        assert_eq!(
            w.judges.iter().map(|j| j.share).collect::<Vec<_>>(),
            [400, 1000, 1000, 1000, 1000]
        );
        let mut b = Core::new(PolicyParams {
            balance_permille: 0,
            ..PolicyParams::default()
        });
        let r = run(&w, &mut b, Attack::None);
        let random: Vec<_> = r.draws.iter().filter(|d| !d.pool.is_empty()).collect();
        assert!(random.len() > 300, "{}", random.len());
        for d in &random {
            let s: u32 = d.pool.iter().map(|&j| w.judges[j as usize].share).sum();
            for (&j, &p) in d.pool.iter().zip(&d.probs) {
                let want = w.judges[j as usize].share as f64 / s as f64;
                assert!((p - want).abs() < 1e-12, "judge {j}: {p} != {want}");
            }
        }
        let full = full_pool(&r);
        assert!(full.len() > 100, "{}", full.len());
        for d in full {
            for (&j, &p) in d.pool.iter().zip(&d.probs) {
                let want = if j == 0 { 1.0 / 11.0 } else { 5.0 / 22.0 };
                assert!((p - want).abs() < 1e-12, "judge {j}: {p} != {want}");
            }
        }
    }

    #[test]
    fn the_cap_is_relative_to_share() {
        // Cap 3/2 at balance 1000, full pool (nobody absent, so the nominal pool is the eligible
        // one): the president is held to 3/2 x 400/4400 = 3/22, each other judge to
        // 3/2 x min(1000/4400, 1/5) = 3/10 (p x |E| = 1.5). Both caps bind at some draw.
        let w = world_with(11, 400);
        let mut b = Core::new(PolicyParams::default());
        let r = run(&w, &mut b, Attack::None);
        let (mut pres, mut other) = (0.0f64, 0.0f64);
        for d in full_pool(&r) {
            for (&j, &p) in d.pool.iter().zip(&d.probs) {
                if j == 0 {
                    pres = pres.max(p);
                } else {
                    other = other.max(p);
                }
            }
        }
        assert!((pres - 3.0 / 22.0).abs() < 1e-12, "president {pres}");
        assert!((other - 3.0 / 10.0).abs() < 1e-12, "others {other}");
    }
}
