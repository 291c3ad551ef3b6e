//! The observer's audit on simulated courts: how often `klero audit` flags an honest court (false
//! alarms) and how often it flags a court under each attack the simulator models (power).
//!
//! Every run drives a world through klero-core's real draw, keeps the log exactly as the server
//! would export it (JSON lines, SPEC §8) and audits it with [`klero_core::audit::audit`] at the
//! default settings: the function `klero audit FILE` runs on the exported file. With `--export`,
//! the logs are written out so the same figures can be reproduced with the command line itself:
//!
//! ```text
//! cargo run --release -p klero-sim -- --scenario audit --audit 100 --export /tmp/audit-logs
//! for f in /tmp/audit-logs/*.jsonl; do klero audit "$f" >/dev/null; echo "$f $?"; done
//! ```

use std::path::{Path, PathBuf};

use klero_core::audit::{AuditConfig, audit};
use serde::Serialize;

use crate::core_backend::Core;
use crate::engine::{Attack, run};
use crate::scenario::{Scenario, World};
use crate::study::par_map;

/// The attacks measured, with their names in reports and file names.
pub const ATTACKS: [(Attack, &str); 3] = [
    (Attack::Absences, "absences"),
    (Attack::Duplicates, "refiling"),
    (Attack::Reassign, "reassignment"),
];

/// One audited log.
#[derive(Clone, Debug, Serialize)]
pub struct AuditRun {
    /// `honest` or the attack's name.
    pub world: String,
    /// Replication.
    pub rep: u32,
    /// Entries in the log.
    pub entries: u64,
    /// The audit flagged something (or the log did not verify).
    pub flagged: bool,
    /// The tests that flagged, with their subjects.
    pub flags: Vec<String>,
    /// Target filings the corrupt clerk won, out of those attempted.
    pub steered: (u32, u32),
    /// Where the log was written, if exported.
    pub file: Option<PathBuf>,
}

/// The measurement.
#[derive(Clone, Debug, Serialize)]
pub struct AuditStudy {
    /// Scenario.
    pub scenario: String,
    /// Honest runs and attacked runs per attack.
    pub runs: u32,
    /// Honest logs flagged.
    pub false_alarms: u32,
    /// Per attack: (name, logs flagged, share of targets the clerk won).
    pub power: Vec<(String, u32, f64)>,
    /// Every run.
    pub detail: Vec<AuditRun>,
    /// Wall seconds.
    pub seconds: f64,
}

fn name(attack: Attack) -> &'static str {
    ATTACKS
        .iter()
        .find(|(a, _)| *a == attack)
        .map_or("honest", |(_, n)| n)
}

/// Runs one world (honest or attacked), keeps its log and audits it.
pub fn run_one(sc: &Scenario, attack: Attack, rep: u32, export: Option<&Path>) -> AuditRun {
    let mut s = sc.clone();
    s.seed = sc.seed.wrapping_add(match attack {
        Attack::None => 1_000 + rep as u64,
        _ => 100_000 + rep as u64,
    });
    let w = World::generate(&s, attack != Attack::None);
    let mut b = Core::new(s.policy.clone()).keeping_entries();
    let r = run(&w, &mut b, attack);
    let entries = b.entries.take().unwrap_or_default();
    let file = export.map(|dir| {
        let path = dir.join(format!("{}-{}-{rep:03}.jsonl", sc.name, name(attack)));
        let mut text = String::with_capacity(entries.len() * 600);
        for e in &entries {
            text.push_str(&e.to_json_line());
            text.push('\n');
        }
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("klero-sim: cannot write {}: {e}", path.display());
        }
        path
    });
    let report = audit(&entries, AuditConfig::default());
    // KLERO_AUDIT_DEBUG=1 prints the closest calls of every log whose verdict is wrong.
    if std::env::var_os("KLERO_AUDIT_DEBUG").is_some()
        && report.flagged() == (attack == Attack::None)
    {
        for c in &report.courts {
            let mut all: Vec<_> = c
                .refiling
                .judge_tests
                .iter()
                .chain(&c.reassignments.judge_tests)
                .chain(std::iter::once(&c.short_notice.prompt))
                .chain(&c.reassignments.recusal_tests)
                .collect();
            all.sort_by(|a, b| a.p_value.total_cmp(&b.p_value));
            for f in all.iter().take(3) {
                eprintln!(
                    "  {} {rep}: {} p={:.2e} adj={:.2e}",
                    name(attack),
                    f.statement,
                    f.p_value,
                    f.adjusted_p
                );
            }
            for j in c.calibration.judges.iter().filter(|j| j.adjusted_p < 0.1) {
                eprintln!("  {j:?}");
            }
            let cal = c
                .calibration
                .judges
                .iter()
                .map(|j| j.adjusted_p)
                .fold(1.0, f64::min);
            eprintln!(
                "  calibration min adj p {cal:.2e}; chains {}",
                c.refiling.chains.len()
            );
        }
    }
    AuditRun {
        world: name(attack).into(),
        rep,
        entries: report.entries,
        flagged: report.flagged(),
        flags: report
            .courts
            .iter()
            .flat_map(|c| {
                c.flags
                    .iter()
                    .map(|f| format!("{} ({})", f.test, f.subject))
            })
            .chain(report.failure.iter().cloned())
            .collect(),
        steered: r.steered,
        file,
    }
}

/// `runs` honest worlds and `runs` worlds under each attack, on `threads` threads.
pub fn study(sc: &Scenario, runs: u32, threads: usize, export: Option<&Path>) -> AuditStudy {
    let t0 = std::time::Instant::now();
    let mut jobs: Vec<(Attack, u32)> = (0..runs).map(|r| (Attack::None, r)).collect();
    for (a, _) in ATTACKS {
        jobs.extend((0..runs).map(|r| (a, r)));
    }
    let detail = par_map(&jobs, threads, |&(a, r)| run_one(sc, a, r, export));
    let of = |w: &'static str| detail.iter().filter(move |d| d.world == w);
    let false_alarms = of("honest").filter(|d| d.flagged).count() as u32;
    let power = ATTACKS
        .iter()
        .map(|&(_, n)| {
            let (won, tried) = of(n).fold((0, 0), |a, d| (a.0 + d.steered.0, a.1 + d.steered.1));
            (
                n.to_string(),
                of(n).filter(|d| d.flagged).count() as u32,
                won as f64 / tried.max(1) as f64,
            )
        })
        .collect();
    AuditStudy {
        scenario: sc.name.clone(),
        runs,
        false_alarms,
        power,
        detail,
        seconds: t0.elapsed().as_secs_f64(),
    }
}

/// The figures as a Markdown table.
pub fn table(s: &AuditStudy) -> String {
    let pct = |k: u32| 100.0 * k as f64 / s.runs.max(1) as f64;
    let mut t = format!(
        "Audit of `{}` logs ({} per row, klero audit at its default threshold, {:.0}s)\n\n\
         | logs | flagged | clerk's success on targets |\n|---|---|---|\n\
         | honest | {} of {} ({:.1}% false alarms) | - |\n",
        s.scenario,
        s.runs,
        s.seconds,
        s.false_alarms,
        s.runs,
        pct(s.false_alarms)
    );
    for (n, k, won) in &s.power {
        t.push_str(&format!(
            "| attack: {n} | {k} of {} ({:.1}% power) | {:.0}% |\n",
            s.runs,
            pct(*k),
            won * 100.0
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bounded measurement (the full one is `--audit 100`, see the README): a few honest and
    /// attacked courts of the `audit` scenario, each audited as `klero audit` would.
    #[test]
    fn the_audit_flags_every_attack_and_no_honest_court() {
        let sc = Scenario::builtin("audit").unwrap();
        let s = study(&sc, 5, 2, None);
        let honest: Vec<_> = s.detail.iter().filter(|d| d.world == "honest").collect();
        assert!(
            honest.iter().all(|d| !d.flagged),
            "false alarms: {:?}",
            honest.iter().filter(|d| d.flagged).collect::<Vec<_>>()
        );
        for (n, k, won) in &s.power {
            assert_eq!(*k, s.runs, "attack {n}: {}", table(&s));
            // The attack works: the favoured judge gets far more than an eighth of the targets.
            assert!(*won > 0.2, "the attack {n} works: {won}");
        }
        // The flag names what was done, not just that something is off.
        let expect = [
            ("absences", "short_notice_prompt"),
            ("refiling", "refile_"),
            ("reassignment", "reassignment_"),
        ];
        for (world, test) in expect {
            for d in s.detail.iter().filter(|d| d.world == world) {
                assert!(d.flags.iter().any(|f| f.starts_with(test)), "{d:?}");
            }
        }
    }

    #[test]
    fn an_exported_log_is_the_export_format() {
        let sc = Scenario::builtin("audit").unwrap();
        let dir = std::env::temp_dir().join(format!("klero-sim-export-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let r = run_one(&sc, Attack::None, 0, Some(&dir));
        let text = std::fs::read_to_string(r.file.as_ref().unwrap()).unwrap();
        let entries: Vec<klero_core::LogEntry> = text
            .lines()
            .map(|l| klero_core::LogEntry::from_json_line(l).unwrap())
            .collect();
        assert_eq!(entries.len() as u64, r.entries);
        assert!(klero_core::verify(&entries).ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
