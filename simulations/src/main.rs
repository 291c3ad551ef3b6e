//! `klero-sim`: how fair, how unpredictable and how hard to steer is Kleroterion's draw?
//!
//! ```text
//! cargo run --release -p klero-sim -- --scenario standard
//! ```
//! runs every policy on the scenario, prints the headline table and writes
//! `simulations/results/<scenario>.md`, `<scenario>.json` and SVG plots.
#![deny(missing_docs)]

mod audit_study;
mod baselines;
mod core_backend;
mod engine;
mod measures;
mod report;
mod rng;
mod scenario;
mod study;

use std::path::PathBuf;

use clap::Parser;

/// Command-line options.
#[derive(Parser, Debug)]
#[command(about = "Simulations of Kleroterion's draw against baseline allocation policies")]
struct Args {
    /// A built-in scenario: standard, small, appellate, national.
    #[arg(long, default_value = "standard")]
    scenario: String,
    /// A scenario file (JSON) instead of a built-in one.
    #[arg(long)]
    scenario_file: Option<PathBuf>,
    /// Where to write the report.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results"))]
    out: PathBuf,
    /// Skip the steering replications (faster).
    #[arg(long)]
    no_steering: bool,
    /// Skip the parameter sweep.
    #[arg(long)]
    no_sweep: bool,
    /// Worker threads (overrides the scenario).
    #[arg(long)]
    threads: Option<u32>,
    /// Independent worlds per sweep point (overrides the scenario's 5).
    #[arg(long)]
    sweep_runs: Option<u32>,
    /// Instead of the study: measure the observer's audit (`klero audit`) on this many honest
    /// worlds and as many under each attack (absences, refiling, reassignment).
    #[arg(long)]
    audit: Option<u32>,
    /// With --audit: write every log (JSON lines, the export format) into this directory.
    #[arg(long)]
    export: Option<PathBuf>,
}

fn main() {
    let a = Args::parse();
    let mut sc = match &a.scenario_file {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| scenario::Scenario::parse(&t)),
        None => scenario::Scenario::builtin(&a.scenario),
    }
    .unwrap_or_else(|e| {
        eprintln!("klero-sim: {e}");
        std::process::exit(2)
    });
    if a.no_steering {
        sc.study.null_runs = 0;
        sc.study.attack_runs = 0;
    }
    if a.no_sweep {
        sc.study.sweep = false;
    }
    if let Some(t) = a.threads {
        sc.study.threads = t;
    }
    if let Some(r) = a.sweep_runs {
        sc.study.sweep_runs = r;
    }
    if let Some(runs) = a.audit {
        if let Some(dir) = &a.export
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            eprintln!("klero-sim: cannot create {}: {e}", dir.display());
            std::process::exit(2);
        }
        let s = audit_study::study(
            &sc,
            runs,
            sc.study.threads.max(1) as usize,
            a.export.as_deref(),
        );
        for d in s
            .detail
            .iter()
            .filter(|d| d.flagged == (d.world == "honest"))
        {
            eprintln!("{} {}: flagged {} {:?}", d.world, d.rep, d.flagged, d.flags);
        }
        println!("{}", audit_study::table(&s));
        return;
    }
    let res = study::study(&sc, &|line| eprintln!("{line}"));
    println!("{}", report::table(&res));
    if let Err(e) = report::write(&res, &a.out) {
        eprintln!("klero-sim: cannot write the report: {e}");
        std::process::exit(1);
    }
    eprintln!(
        "wrote {}/{}.md, .json and plots in {:.1}s",
        a.out.display(),
        res.scenario,
        res.seconds
    );
}
