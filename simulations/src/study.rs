//! The study: every policy on the scenario's world, the parameter sweep of the real draw, and the
//! steering replications, run on a few threads.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use crate::baselines::{Baseline, Kind};
use crate::core_backend::Core;
use crate::engine::{Attack, Backend, run};
use crate::measures::{
    Audit, Balance, Timing, Unpredictability, audit, balance, power, timing_advantage,
    unpredictability,
};
use crate::scenario::{PolicyParams, Scenario, World};

/// A policy to study.
#[derive(Clone, Debug)]
pub enum Policy {
    /// The real draw through klero-core.
    Core(String, PolicyParams),
    /// A baseline.
    Base(Kind),
}

impl Policy {
    /// Name in tables and JSON.
    pub fn name(&self) -> String {
        match self {
            Policy::Core(n, _) => n.clone(),
            Policy::Base(k) => k.name(),
        }
    }
    fn backend(&self, seed: u64) -> Box<dyn Backend> {
        match self {
            Policy::Core(_, p) => Box::new(Core::new(p.clone())),
            Policy::Base(k) => Box::new(Baseline::new(k.clone(), seed)),
        }
    }
}

/// The policies of a scenario: the real draw with the scenario's parameters and (if enabled) the
/// baselines.
pub fn policies(sc: &Scenario) -> Vec<Policy> {
    let mut v = vec![Policy::Core("kleroterion".into(), sc.policy.clone())];
    if sc.study.baselines {
        v.extend(
            [
                Kind::Uniform,
                Kind::RoundRobin,
                Kind::LeastLoaded,
                Kind::Deck,
                Kind::Slps,
                Kind::Pje,
            ]
            .map(Policy::Base),
        );
    }
    v
}

/// Results for one policy.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyResult {
    /// Policy name.
    pub policy: String,
    /// Parameters (real draw).
    pub params: Option<String>,
    /// Year-end max |normalized load − mean|, in mean case weights: the mean over the main run and
    /// the honest replications of the steering study (the main run alone if those were not run).
    pub balance_max_dev: f64,
    /// 90th percentile of the same over the runs.
    pub balance_max_dev_p90: f64,
    /// Runs averaged.
    pub balance_runs: usize,
    /// Plain-court figure (year-end max |intake per share − division mean| over regular judges, no
    /// owed ledger), mean over the same runs.
    pub balance_plain_max_dev: f64,
    /// Largest probability × |E| seen.
    pub worst_p_times_pool: f64,
    /// Timing advantage (×), [`Timing::Fair`]: the bar's figure.
    pub timing_advantage: f64,
    /// Timing advantage (×) by the first definition ([`Timing::AnyMoment`]), for comparison.
    pub timing_advantage_any_moment: f64,
    /// Detection power at 1% false alarms, the weaker of the two attacks (`null` if not run).
    pub steering_power_at_1pct: Option<f64>,
    /// Power against the absence attack.
    pub power_absences: Option<f64>,
    /// Power against the duplicate-filing attack.
    pub power_duplicates: Option<f64>,
    /// Share of target filings the clerk won, absence attack.
    pub steer_success_absences: Option<f64>,
    /// Share of target filings the clerk won, duplicate attack.
    pub steer_success_duplicates: Option<f64>,
    /// Balance details.
    pub balance: Balance,
    /// Unpredictability details.
    pub unpredictability: Unpredictability,
    /// Draws made (random draws only).
    pub draws: usize,
    /// Filings refused for lack of judges.
    pub refused: u32,
    /// Seconds for the run.
    pub seconds: f64,
    /// Draw entries per second through klero-core (real draw only).
    pub core_draws_per_sec: Option<f64>,
    /// Weekly (day, max |dev|, mean |dev|).
    #[serde(skip)]
    pub series: Vec<(i32, f64, f64)>,
}

/// One point of the parameter sweep of the real draw.
#[derive(Clone, Debug, Serialize)]
pub struct SweepPoint {
    /// Parameters.
    pub params: PolicyParams,
    /// Label.
    pub label: String,
    /// Year-end max deviation.
    pub balance_max_dev: f64,
    /// Plain-court figure (see [`PolicyResult::balance_plain_max_dev`]).
    pub balance_plain_max_dev: f64,
    /// Max deviation over the year.
    pub balance_over_time_max: f64,
    /// Largest p × |E|.
    pub worst_p_times_pool: f64,
    /// Mean min-entropy.
    pub mean_min_entropy_bits: f64,
    /// Smallest `min-entropy - (log2 |E| - 1)` over every draw of every run.
    pub worst_entropy_margin_bits: f64,
    /// Timing advantage ([`Timing::Fair`]).
    pub timing_advantage: f64,
    /// Timing advantage by the first definition ([`Timing::AnyMoment`]).
    pub timing_advantage_any_moment: f64,
}

/// Everything a study produced.
#[derive(Clone, Debug, Serialize)]
pub struct StudyResult {
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub description: String,
    /// Seed.
    pub seed: u64,
    /// Judges.
    pub judges: usize,
    /// Courts.
    pub courts: usize,
    /// Filings.
    pub cases: usize,
    /// Mean case weight.
    pub mean_case_weight: f64,
    /// The draw parameters studied as the real draw's defaults.
    pub policy_params: PolicyParams,
    /// Per policy.
    pub policies: Vec<PolicyResult>,
    /// The sweep.
    pub sweep: Vec<SweepPoint>,
    /// Honest and attacked replications per policy and mode.
    pub steering_runs: (u32, u32),
    /// Wall seconds for the whole study.
    pub seconds: f64,
}

/// Runs `f` over `items` on `threads` threads, keeping the order.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let mut out: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    let slots = std::sync::Mutex::new(&mut out);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= items.len() {
                        break;
                    }
                    let r = f(&items[i]);
                    slots.lock().expect("lock")[i] = Some(r);
                }
            });
        }
    });
    out.into_iter()
        .map(|r| r.expect("every item done"))
        .collect()
}

/// The default sweep of the real draw's parameters around `base`.
pub fn sweep_points(base: &PolicyParams) -> Vec<PolicyParams> {
    let mut v = Vec::new();
    for (n, d) in [
        (11, 10),
        (6, 5),
        (5, 4),
        (4, 3),
        (7, 5),
        (3, 2),
        (8, 5),
        (7, 4),
        (2, 1),
        (3, 1),
    ] {
        v.push(PolicyParams {
            cap_num: n,
            cap_den: d,
            balance_permille: 1000,
            ..base.clone()
        });
    }
    v.push(PolicyParams {
        cap_num: 2,
        cap_den: 1,
        balance_permille: 500,
        ..base.clone()
    });
    v.push(PolicyParams {
        balance_permille: 0,
        ..base.clone()
    });
    for cu in [5, 20] {
        v.push(PolicyParams {
            catch_up_limit: cu,
            ..base.clone()
        });
    }
    v.push(PolicyParams {
        window_days: 180,
        ..base.clone()
    });
    v.retain(|p| p != base);
    v.insert(0, base.clone());
    v
}

/// Runs the whole study for a scenario. `progress` receives a line per phase.
pub fn study(sc: &Scenario, progress: &(dyn Fn(&str) + Sync)) -> StudyResult {
    let t0 = std::time::Instant::now();
    let threads = sc.study.threads.max(1) as usize;
    let world = World::generate(sc, false);
    progress(&format!(
        "{}: {} courts, {} judges, {} filings, mean case weight {:.3}",
        sc.name,
        world.courts.len(),
        world.judges.len(),
        world.cases.len(),
        world.mean_weight
    ));
    let pols = policies(sc);
    let mut results: Vec<PolicyResult> = par_map(&pols, threads, |p| {
        let (r, core_rate) = match p {
            Policy::Core(_, q) => {
                let mut b = Core::new(q.clone());
                let r = run(&world, &mut b, Attack::None);
                (r, Some(b.draws as f64 / b.core_seconds))
            }
            _ => {
                let mut b = p.backend(sc.seed);
                (run(&world, b.as_mut(), Attack::None), None)
            }
        };
        let res = PolicyResult {
            policy: p.name(),
            params: match p {
                Policy::Core(_, q) => Some(q.label()),
                _ => None,
            },
            balance_max_dev: 0.0,
            balance_max_dev_p90: 0.0,
            balance_runs: 1,
            balance_plain_max_dev: 0.0,
            worst_p_times_pool: 0.0,
            timing_advantage: timing_advantage(
                &world,
                &r.draws,
                sc.study.timing_window_days,
                sc.study.timing_samples,
                sc.seed,
                Timing::Fair,
            ),
            timing_advantage_any_moment: timing_advantage(
                &world,
                &r.draws,
                sc.study.timing_window_days,
                sc.study.timing_samples,
                sc.seed,
                Timing::AnyMoment,
            ),
            steering_power_at_1pct: None,
            power_absences: None,
            power_duplicates: None,
            steer_success_absences: None,
            steer_success_duplicates: None,
            balance: balance(&r),
            unpredictability: unpredictability(&r.draws),
            draws: r.draws.len(),
            refused: r.refused,
            seconds: r.seconds,
            core_draws_per_sec: core_rate,
            series: r.series.clone(),
        };
        progress(&format!("  {:<22} {:>7.2}s", res.policy, res.seconds));
        res
    });
    for r in &mut results {
        r.balance_max_dev = r.balance.year_end_max;
        r.balance_max_dev_p90 = r.balance.year_end_max;
        r.balance_plain_max_dev = r.balance.plain_year_end_max;
        r.worst_p_times_pool = r.unpredictability.worst_p_times_pool;
    }

    // The sweep of the real draw's parameters.
    let mut sweep = Vec::new();
    if sc.study.sweep {
        let pts = sweep_points(&sc.policy);
        progress(&format!(
            "sweep: {} parameter sets through klero-core",
            pts.len()
        ));
        let reps = sc.study.sweep_runs.max(1) as u64;
        let worlds: Vec<World> = (0..reps)
            .map(|k| {
                let mut s = sc.clone();
                s.seed = sc.seed.wrapping_add(if k == 0 { 0 } else { 1_000 + k - 1 });
                World::generate(&s, false)
            })
            .collect();
        let jobs: Vec<(usize, usize)> = (0..pts.len())
            .flat_map(|i| (0..worlds.len()).map(move |k| (i, k)))
            .collect();
        let one = par_map(&jobs, threads, |&(i, k)| {
            let mut b = Core::new(pts[i].clone());
            let r = run(&worlds[k], &mut b, Attack::None);
            let bal = balance(&r);
            let u = unpredictability(&r.draws);
            let t = |mode| {
                timing_advantage(
                    &worlds[k],
                    &r.draws,
                    sc.study.timing_window_days,
                    sc.study.timing_samples / reps as u32,
                    sc.seed + k as u64,
                    mode,
                )
            };
            (bal, u, t(Timing::Fair), t(Timing::AnyMoment))
        });
        sweep = pts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let v: Vec<_> = jobs
                    .iter()
                    .zip(&one)
                    .filter(|(j, _)| j.0 == i)
                    .map(|(_, o)| o)
                    .collect();
                let n = v.len() as f64;
                SweepPoint {
                    params: p.clone(),
                    label: p.label(),
                    balance_max_dev: v.iter().map(|o| o.0.year_end_max).sum::<f64>() / n,
                    balance_plain_max_dev: v.iter().map(|o| o.0.plain_year_end_max).sum::<f64>()
                        / n,
                    balance_over_time_max: v.iter().map(|o| o.0.over_time_max).sum::<f64>() / n,
                    worst_p_times_pool: v
                        .iter()
                        .map(|o| o.1.worst_p_times_pool)
                        .fold(0.0, f64::max),
                    mean_min_entropy_bits: v.iter().map(|o| o.1.mean_min_entropy_bits).sum::<f64>()
                        / n,
                    worst_entropy_margin_bits: v
                        .iter()
                        .map(|o| o.1.worst_entropy_margin_bits)
                        .fold(f64::INFINITY, f64::min),
                    timing_advantage: v.iter().map(|o| o.2).sum::<f64>() / n,
                    timing_advantage_any_moment: v.iter().map(|o| o.3).sum::<f64>() / n,
                }
            })
            .collect();
    }

    // Steering: honest and attacked replications of every policy.
    let (nn, na) = (sc.study.null_runs, sc.study.attack_runs);
    if nn > 0 && na > 0 {
        #[derive(Clone, Copy)]
        struct Job {
            pol: usize,
            attack: Attack,
            rep: u32,
        }
        let mut jobs = Vec::new();
        for pol in 0..pols.len() {
            for rep in 0..nn {
                jobs.push(Job {
                    pol,
                    attack: Attack::None,
                    rep,
                });
            }
            for rep in 0..na {
                jobs.push(Job {
                    pol,
                    attack: Attack::Absences,
                    rep,
                });
                jobs.push(Job {
                    pol,
                    attack: Attack::Duplicates,
                    rep,
                });
            }
        }
        progress(&format!(
            "steering: {} runs ({} honest + 2 x {} attacked per policy)",
            jobs.len(),
            nn,
            na
        ));
        let out: Vec<(Audit, (u32, u32), Balance)> = par_map(&jobs, threads, |j| {
            let mut s = sc.clone();
            s.seed = sc.seed.wrapping_add(match j.attack {
                Attack::None => 1_000 + j.rep as u64,
                _ => 100_000 + j.rep as u64,
            });
            let w = World::generate(&s, j.attack != Attack::None);
            let mut b = pols[j.pol].backend(s.seed);
            let r = run(&w, b.as_mut(), j.attack);
            (
                audit(&r.draws, &r.facts, w.judges.len()),
                r.steered,
                balance(&r),
            )
        });
        for (pi, res) in results.iter_mut().enumerate() {
            let pick = |a: Attack| -> Vec<(Audit, (u32, u32))> {
                jobs.iter()
                    .zip(&out)
                    .filter(|(j, _)| j.pol == pi && j.attack == a)
                    .map(|(_, o)| (o.0, o.1))
                    .collect()
            };
            let honest: Vec<&Balance> = jobs
                .iter()
                .zip(&out)
                .filter(|(j, _)| j.pol == pi && j.attack == Attack::None)
                .map(|(_, o)| &o.2)
                .collect();
            let mut bals: Vec<f64> = honest.iter().map(|b| b.year_end_max).collect();
            bals.push(res.balance.year_end_max);
            res.balance_plain_max_dev = (honest.iter().map(|b| b.plain_year_end_max).sum::<f64>()
                + res.balance.plain_year_end_max)
                / (honest.len() + 1) as f64;
            bals.sort_by(f64::total_cmp);
            res.balance_runs = bals.len();
            res.balance_max_dev = bals.iter().sum::<f64>() / bals.len() as f64;
            res.balance_max_dev_p90 = bals[(bals.len() * 9 / 10).min(bals.len() - 1)];
            let null: Vec<Audit> = pick(Attack::None).into_iter().map(|x| x.0).collect();
            let abs = pick(Attack::Absences);
            let dup = pick(Attack::Duplicates);
            let success = |v: &[(Audit, (u32, u32))]| {
                let (s, t) = v
                    .iter()
                    .fold((0, 0), |acc, x| (acc.0 + x.1.0, acc.1 + x.1.1));
                s as f64 / t.max(1) as f64
            };
            let pa = power(&null, &abs.iter().map(|x| x.0).collect::<Vec<_>>(), 0.01).0;
            let pd = power(&null, &dup.iter().map(|x| x.0).collect::<Vec<_>>(), 0.01).0;
            res.power_absences = Some(pa);
            res.power_duplicates = Some(pd);
            res.steering_power_at_1pct = Some(pa.min(pd));
            res.steer_success_absences = Some(success(&abs));
            res.steer_success_duplicates = Some(success(&dup));
        }
    }
    StudyResult {
        scenario: sc.name.clone(),
        description: sc.description.clone(),
        seed: sc.seed,
        judges: world.judges.len(),
        courts: world.courts.len(),
        cases: world.cases.len(),
        mean_case_weight: world.mean_weight,
        policy_params: sc.policy.clone(),
        policies: results,
        sweep,
        steering_runs: (nn, na),
        seconds: t0.elapsed().as_secs_f64(),
    }
}
