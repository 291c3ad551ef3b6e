//! The baseline policies, implemented in the simulator: the pools are the core's (through the
//! [`Mirror`]), only the choice within the pool differs.
//!
//! | policy | rule |
//! |---|---|
//! | `uniform` | every pool member equally likely |
//! | `round-robin` | a pointer per (court, division, specialization) walks the court's judges in id order; the next eligible judge takes the case |
//! | `least-loaded` | the judge whose normalized load after this case would be lowest (ties: lowest id) |
//! | `deck` | US district style: a deck per (court, specialization) with `deck_cards` cards per full share; a card of an eligible judge is drawn at random and removed; an empty deck is refilled |
//! | `slps` | Poland SLPS style: uniform among the judges whose normalized load is within `slps_margin` mean case weights of the least loaded |
//! | `pje` | Brazil PJe style: judges more than `pje_distance` mean case weights above the least loaded are filtered out, each re-admitted with probability 1/4; uniform among the admitted |

use std::collections::HashMap;

use klero_core::AbsenceReason;

use crate::engine::{Backend, Mirror, Outcome, Plan};
use crate::rng::Rng;
use crate::scenario::{CaseSpec, DAY_MS, World};

/// Which baseline.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// Uniform lottery.
    Uniform,
    /// Round-robin rotation.
    RoundRobin,
    /// Deterministic least-loaded.
    LeastLoaded,
    /// US-style deck of cards.
    Deck,
    /// SLPS-style least-loaded pool.
    Slps,
    /// PJe-style distance filter with 25% re-admission.
    Pje,
}

impl Kind {
    /// The policy's name in tables and JSON.
    pub fn name(&self) -> String {
        match self {
            Kind::Uniform => "uniform".into(),
            Kind::RoundRobin => "round-robin".into(),
            Kind::LeastLoaded => "least-loaded".into(),
            Kind::Deck => "deck".into(),
            Kind::Slps => "slps".into(),
            Kind::Pje => "pje".into(),
        }
    }
}

/// A baseline backend.
pub struct Baseline {
    kind: Kind,
    rng: Rng,
    /// Weighted intake per judge (window ignored: the studies run one year).
    intake: Vec<u64>,
    shares: Vec<u32>,
    court_judges: Vec<Vec<u32>>,
    rr_pass: Vec<u64>,
    deck: HashMap<(u32, String), Vec<u32>>,
    deck_cards: u32,
    mean_weight: f64,
    pje_distance: f64,
    slps_margin: f64,
    case_weight: Vec<u32>,
    type_spec: Vec<String>,
}

impl Baseline {
    /// A baseline of `kind` with its own random stream.
    pub fn new(kind: Kind, seed: u64) -> Baseline {
        Baseline {
            kind,
            rng: Rng::new(seed, 99),
            intake: vec![],
            shares: vec![],
            court_judges: vec![],
            rr_pass: vec![],
            deck: HashMap::new(),
            deck_cards: 10,
            mean_weight: 2.0,
            pje_distance: 3.0,
            slps_margin: 1.0,
            case_weight: vec![],
            type_spec: vec![],
        }
    }

    fn load(&self, j: u32) -> f64 {
        self.intake[j as usize] as f64 * 1000.0 / self.shares[j as usize] as f64
    }

    /// The first-seat probabilities and the chosen judges for a pool.
    fn choose(&mut self, c: &CaseSpec, pool: &[u32], seats: u8) -> Outcome {
        let w = self.case_weight[c.ty as usize];
        let seats = seats as usize;
        let unit = self.mean_weight;
        let key_after =
            |s: &Self, j: u32| s.load(j) + w as f64 * 1000.0 / s.shares[j as usize] as f64;
        let (probs, chosen): (Vec<f64>, Vec<u32>) = match &self.kind {
            Kind::Uniform => {
                // A lottery weighted by share only.
                let sh: Vec<f64> = pool
                    .iter()
                    .map(|&j| self.shares[j as usize] as f64)
                    .collect();
                let total: f64 = sh.iter().sum();
                let mut left = sh.clone();
                let mut chosen = Vec::new();
                for _ in 0..seats {
                    let i = self.rng.weighted(&left);
                    left[i] = 0.0;
                    chosen.push(pool[i]);
                }
                (sh.iter().map(|x| x / total).collect(), chosen)
            }
            Kind::RoundRobin => {
                // Weighted rotation (stride scheduling): each judge has a pass counter that advances
                // by 1000/share per case; the eligible judge with the lowest pass takes the case
                // (ties in id order). With equal shares this is plain round-robin.
                let mut order: Vec<u32> = pool.to_vec();
                order.sort_by_key(|&j| (self.rr_pass[j as usize], j));
                let chosen = order[..seats].to_vec();
                for &j in &chosen {
                    self.rr_pass[j as usize] += 1_000_000 / self.shares[j as usize] as u64;
                }
                (onehot(pool, chosen[0]), chosen)
            }
            Kind::LeastLoaded => {
                let mut order: Vec<u32> = pool.to_vec();
                order.sort_by(|&a, &b| {
                    key_after(self, a)
                        .total_cmp(&key_after(self, b))
                        .then(a.cmp(&b))
                });
                let chosen = order[..seats].to_vec();
                (onehot(pool, chosen[0]), chosen)
            }
            Kind::Deck => {
                let key = (c.court, self.type_spec[c.ty as usize].clone());
                let full: Vec<u32> = self.court_judges[c.court as usize]
                    .iter()
                    .map(|&j| {
                        (self.deck_cards * self.shares[j as usize])
                            .div_ceil(1000)
                            .max(1)
                    })
                    .collect();
                let list = self.court_judges[c.court as usize].clone();
                let deck = self.deck.entry(key).or_insert_with(|| full.clone());
                let mut chosen = Vec::new();
                let mut probs = vec![];
                for s in 0..seats {
                    let mut cards: Vec<f64> = pool
                        .iter()
                        .map(|j| {
                            if chosen.contains(j) {
                                0.0
                            } else {
                                deck[list.iter().position(|x| x == j).expect("court judge")] as f64
                            }
                        })
                        .collect();
                    if cards.iter().sum::<f64>() == 0.0 {
                        *deck = full.clone();
                        cards = pool
                            .iter()
                            .map(|j| {
                                if chosen.contains(j) {
                                    0.0
                                } else {
                                    deck[list.iter().position(|x| x == j).expect("court judge")]
                                        as f64
                                }
                            })
                            .collect();
                    }
                    let total: f64 = cards.iter().sum();
                    if s == 0 {
                        probs = cards.iter().map(|x| x / total).collect();
                    }
                    let i = self.rng.weighted(&cards);
                    let j = pool[i];
                    deck[list.iter().position(|x| *x == j).expect("court judge")] -= 1;
                    chosen.push(j);
                }
                (probs, chosen)
            }
            Kind::Slps => {
                let min = pool
                    .iter()
                    .map(|&j| self.load(j))
                    .fold(f64::INFINITY, f64::min);
                let mut set: Vec<u32> = pool
                    .iter()
                    .copied()
                    .filter(|&j| self.load(j) <= min + self.slps_margin * unit)
                    .collect();
                if set.len() < seats {
                    let mut order = pool.to_vec();
                    order.sort_by(|&a, &b| self.load(a).total_cmp(&self.load(b)).then(a.cmp(&b)));
                    set = order[..seats].to_vec();
                }
                let probs = pool
                    .iter()
                    .map(|j| {
                        if set.contains(j) {
                            1.0 / set.len() as f64
                        } else {
                            0.0
                        }
                    })
                    .collect();
                (probs, self.sample_uniform(&set, seats))
            }
            Kind::Pje => {
                let min = pool
                    .iter()
                    .map(|&j| self.load(j))
                    .fold(f64::INFINITY, f64::min);
                let limit = min + self.pje_distance * unit;
                let near: Vec<bool> = pool.iter().map(|&j| self.load(j) <= limit).collect();
                let u = near.iter().filter(|&&x| x).count();
                let f = pool.len() - u;
                let probs = pool
                    .iter()
                    .zip(&near)
                    .map(|(_, &ok)| {
                        if ok {
                            pje_p(u, f, true)
                        } else {
                            pje_p(u, f, false)
                        }
                    })
                    .collect();
                let mut admitted: Vec<u32> = pool
                    .iter()
                    .zip(&near)
                    .filter(|&(_, &ok)| ok)
                    .map(|(&j, _)| j)
                    .collect();
                for (&j, &ok) in pool.iter().zip(&near) {
                    if !ok && self.rng.below(4) == 0 {
                        admitted.push(j);
                    }
                }
                if admitted.len() < seats {
                    let mut order = pool.to_vec();
                    order.sort_by(|&a, &b| self.load(a).total_cmp(&self.load(b)).then(a.cmp(&b)));
                    admitted = order[..seats].to_vec();
                }
                admitted.sort_unstable();
                (probs, self.sample_uniform(&admitted, seats))
            }
        };
        for &j in &chosen {
            self.intake[j as usize] += w as u64;
        }
        Outcome {
            pool: pool.to_vec(),
            probs,
            chosen,
        }
    }

    fn sample_uniform(&mut self, pool: &[u32], seats: usize) -> Vec<u32> {
        let mut left = pool.to_vec();
        let mut out = Vec::new();
        for _ in 0..seats {
            let i = self.rng.below(left.len() as u64) as usize;
            out.push(left.remove(i));
        }
        out
    }

    fn allocate(&mut self, plan: Plan, c: &CaseSpec) -> Option<Outcome> {
        match plan {
            Plan::Refused => None,
            Plan::Reference(judges) => {
                let w = self.case_weight[c.ty as usize];
                for &j in &judges {
                    self.intake[j as usize] += w as u64;
                }
                Some(Outcome {
                    pool: vec![],
                    probs: vec![],
                    chosen: judges,
                })
            }
            Plan::Pool(pool, seats) => Some(self.choose(c, &pool, seats)),
        }
    }
}

/// Probability of one judge under the PJe rule with `u` unfiltered and `f` filtered judges.
fn pje_p(u: usize, f: usize, unfiltered: bool) -> f64 {
    // Admitted others among the filtered: Binomial(m, 1/4).
    let m = if unfiltered { f } else { f - 1 };
    let mut total = 0.0;
    let mut pmf = 0.75f64.powi(m as i32);
    for k in 0..=m {
        let size = u + k + usize::from(!unfiltered);
        total += pmf / size as f64;
        pmf *= (m - k) as f64 / (k + 1) as f64 * (0.25 / 0.75);
    }
    if unfiltered { total } else { 0.25 * total }
}

fn onehot(pool: &[u32], j: u32) -> Vec<f64> {
    pool.iter()
        .map(|&x| if x == j { 1.0 } else { 0.0 })
        .collect()
}

impl Backend for Baseline {
    fn setup(&mut self, w: &World) {
        self.intake = vec![0; w.judges.len()];
        self.shares = w.judges.iter().map(|j| j.share).collect();
        self.court_judges = w.courts.iter().map(|c| c.judges.clone()).collect();
        self.deck_cards = w.scenario.study.deck_cards;
        self.mean_weight = w.mean_weight;
        self.pje_distance = w.scenario.study.pje_distance;
        self.slps_margin = w.scenario.study.slps_margin;
        self.rr_pass = vec![0; w.judges.len()];
        self.case_weight = w.scenario.case_types.iter().map(|t| t.weight).collect();
        self.type_spec = w
            .scenario
            .case_types
            .iter()
            .map(|t| t.specialization.clone())
            .collect();
    }

    fn absence(&mut self, _at: i64, _judge: u32, _from: i32, _until: i32, _r: AbsenceReason) {}

    fn set_active(&mut self, _at: i64, _judge: u32, _active: bool) {}

    fn file(&mut self, at: i64, ci: u32, c: &CaseSpec, m: &Mirror) -> Option<Outcome> {
        let day = at.div_euclid(DAY_MS) as i32;
        let plan = m.plan_filing(ci, day);
        self.allocate(plan, c)
    }

    fn recuse(&mut self, at: i64, ci: u32, judge: u32, m: &Mirror) -> Option<Outcome> {
        let day = at.div_euclid(DAY_MS) as i32;
        let c = m.cases[ci as usize].clone();
        let plan = m.plan_recusal(ci, day);
        if matches!(plan, Plan::Refused) {
            return None;
        }
        let w = self.case_weight[c.ty as usize] as u64;
        self.intake[judge as usize] = self.intake[judge as usize].saturating_sub(w);
        match plan {
            Plan::Pool(pool, _) => Some(self.choose(&c, &pool, 1)),
            _ => None,
        }
    }

    fn close(&mut self, _at: i64, _ci: u32) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pje_probabilities_sum_to_one() {
        for (u, f) in [(1, 0), (1, 3), (4, 2), (2, 7)] {
            let s = u as f64 * pje_p(u, f, true)
                + f as f64 * if f > 0 { pje_p(u, f, false) } else { 0.0 };
            assert!((s - 1.0).abs() < 1e-12, "{u} {f} {s}");
        }
        // One unfiltered and one filtered judge: the filtered one is admitted 1/4 of the time and
        // then wins half: 1/8.
        assert!((pje_p(1, 1, false) - 0.125).abs() < 1e-12);
    }
}

#[cfg(test)]
mod hand_tests {
    use super::*;
    use crate::engine::{Attack, run};
    use crate::scenario::Scenario;

    fn tiny(cases: u32) -> World {
        let sc = Scenario::parse(&format!(
            r#"{{"name": "tiny", "seed": 5, "courts": 1,
            "divisions": [{{"name": "general", "judges": 3, "specializations": [["general", 1.0]]}}],
            "case_types": [
              {{"code": "light", "division": "general", "specialization": "general", "weight": 1, "panel": 1, "mix": 0.5}},
              {{"code": "heavy", "division": "general", "specialization": "general", "weight": 3, "panel": 1, "mix": 0.5}}],
            "cases_per_court": {cases}, "president_share": 1000, "part_time_fraction": 0.0,
            "holiday_days": 0, "sick_episodes": 0.0, "long_leave_days": 0, "joiners": 0, "leavers": 0,
            "conflicts_per_judge": 0, "recusal_rate": 0.0, "related_rate": 0.0, "duplicate_rate": 0.0,
            "withdrawal_rate": 0.0, "refiling_rate": 0.0}}"#
        ))
        .unwrap();
        World::generate(&sc, false)
    }

    fn counts(kind: Kind, w: &World, first: usize) -> [usize; 3] {
        let mut b = Baseline::new(kind, 1);
        let r = run(w, &mut b, Attack::None);
        let mut c = [0; 3];
        for d in r.draws.iter().take(first) {
            c[d.chosen[0] as usize] += 1;
        }
        c
    }

    #[test]
    fn round_robin_is_perfectly_balanced_in_counts() {
        let w = tiny(300);
        let c = counts(Kind::RoundRobin, &w, usize::MAX);
        let (lo, hi) = (c.iter().min().unwrap(), c.iter().max().unwrap());
        assert!(hi - lo <= 1, "{c:?}");
        // And fully predictable.
        let mut b = Baseline::new(Kind::RoundRobin, 1);
        let r = run(&w, &mut b, Attack::None);
        assert!(r.draws.iter().all(|d| d.probs.contains(&1.0)));
    }

    #[test]
    fn the_deck_exhausts_its_cards_before_refilling() {
        // 10 cards per judge: the first 30 draws give each judge exactly 10 cases, the last card of
        // each deck is certain, and so is every 30th draw.
        let w = tiny(300);
        assert_eq!(counts(Kind::Deck, &w, 30), [10, 10, 10]);
        let mut b = Baseline::new(Kind::Deck, 1);
        let r = run(&w, &mut b, Attack::None);
        let last = &r.draws[29];
        assert!(last.probs.contains(&1.0), "{:?}", last.probs);
        assert!((r.draws[0].probs[0] - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn the_uniform_lottery_is_uniform_within_tolerance() {
        let w = tiny(6000);
        let c = counts(Kind::Uniform, &w, usize::MAX);
        let n: usize = c.iter().sum();
        let expect = n as f64 / 3.0;
        let sd = (n as f64 * (1.0 / 3.0) * (2.0 / 3.0)).sqrt();
        for x in c {
            assert!((x as f64 - expect).abs() < 4.0 * sd, "{c:?}");
        }
    }

    #[test]
    fn least_loaded_balances_weights_to_within_one_heavy_case() {
        let w = tiny(600);
        let mut b = Baseline::new(Kind::LeastLoaded, 1);
        run(&w, &mut b, Attack::None);
        let (lo, hi) = (
            b.intake.iter().min().unwrap(),
            b.intake.iter().max().unwrap(),
        );
        assert!(hi - lo <= 3, "{:?}", b.intake);
    }
}
