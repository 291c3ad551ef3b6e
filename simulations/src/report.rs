//! The report: the headline table, `<scenario>.json`, `<scenario>.md` and hand-written SVG plots.

use std::fmt::Write as _;
use std::path::Path;

use crate::study::StudyResult;

/// The bar of issue 4 for the real draw on `standard`.
pub const BAR_BALANCE: f64 = 2.0;
/// No probability above 2 / |E|: every draw's min-entropy at least log2 |E| - 1 bits.
pub const BAR_CAP: f64 = 2.0;
/// Timing advantage at most 1.5x.
pub const BAR_TIMING: f64 = 1.5;
/// Detection power at least 95%.
pub const BAR_POWER: f64 = 0.95;

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{:.0}%", 100.0 * v))
}

/// The headline table (markdown).
pub fn table(r: &StudyResult) -> String {
    let mut s = String::new();
    s.push_str("| policy | year-end max dev (mean case weights; mean over runs) | p90 over runs | max dev over the year (main run) | plain-court max dev (mean over runs) | worst p x \\|E\\| | worst min-entropy - (log2 \\|E\\| - 1) (bits) | mean min-entropy (bits) | timing advantage | (first definition) | steering power @1% FA (absences / duplicates) | draws/s through klero-core |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n");
    for p in &r.policies {
        let pw = match (p.power_absences, p.power_duplicates) {
            (Some(a), Some(d)) => format!(
                "{} ({} / {})",
                pct(Some(a.min(d))),
                pct(Some(a)),
                pct(Some(d))
            ),
            _ => "not run".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.3} | {:+.2} | {:.2} | {:.2}x | {:.2}x | {} | {} |",
            p.policy,
            p.balance_max_dev,
            p.balance_max_dev_p90,
            p.balance.over_time_max,
            p.balance_plain_max_dev,
            p.unpredictability.worst_p_times_pool,
            p.unpredictability.worst_entropy_margin_bits,
            p.unpredictability.mean_min_entropy_bits,
            p.timing_advantage,
            p.timing_advantage_any_moment,
            pw,
            p.core_draws_per_sec
                .map_or(String::new(), |x| format!("{x:.0}")),
        );
    }
    s
}

/// The four bar figures of the real draw, with a verdict each.
pub fn bar(r: &StudyResult, name: &str) -> String {
    let Some(p) = r.policies.iter().find(|p| p.policy == name) else {
        return String::new();
    };
    let ok = |b: bool| if b { "meets" } else { "**misses**" };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| bar ({name}, {}) | figure | verdict |",
        p.params.clone().unwrap_or_default()
    );
    s.push_str("|---|---:|---|\n");
    let _ = writeln!(
        s,
        "| year-end max \\|normalized load - mean\\| <= {BAR_BALANCE} mean case weights | {:.2} | {} |",
        p.balance_max_dev,
        ok(p.balance_max_dev <= BAR_BALANCE)
    );
    let _ = writeln!(
        s,
        "| (for information) plain-court max \\|intake per share - division mean\\|, regular judges | {:.2} | - |",
        p.balance_plain_max_dev
    );
    let _ = writeln!(
        s,
        "| every draw's min-entropy >= log2 \\|E\\| - 1 bits, i.e. no probability above {BAR_CAP}/\\|E\\| (largest p x \\|E\\|; worst margin {:+.3} bits, worst min-entropy {:.2} bits in a pool of {}) | {:.3} | {} |",
        p.unpredictability.worst_entropy_margin_bits,
        p.unpredictability.worst_min_entropy_bits,
        p.unpredictability.worst_entropy_pool,
        p.worst_p_times_pool,
        ok(p.worst_p_times_pool <= BAR_CAP + 1e-9)
    );
    let _ = writeln!(
        s,
        "| timing advantage <= {BAR_TIMING}x (first definition: {:.2}x) | {:.2}x | {} |",
        p.timing_advantage_any_moment,
        p.timing_advantage,
        ok(p.timing_advantage <= BAR_TIMING)
    );
    let _ = writeln!(
        s,
        "| steering detected with >= 95% power at 1% false alarms | {} | {} |",
        pct(p.steering_power_at_1pct),
        p.steering_power_at_1pct
            .map_or("not run", |x| ok(x >= BAR_POWER))
    );
    s
}

/// Writes `<scenario>.json`, `<scenario>.md` and the plots under `dir`.
pub fn write(r: &StudyResult, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(r).expect("serializable");
    std::fs::write(dir.join(format!("{}.json", r.scenario)), json + "\n")?;
    let sc = &r.scenario;
    std::fs::write(dir.join(format!("{sc}-spread.svg")), spread_svg(r))?;
    if !r.sweep.is_empty() {
        std::fs::write(dir.join(format!("{sc}-frontier.svg")), frontier_svg(r))?;
    }
    if r.policies.iter().any(|p| p.power_absences.is_some()) {
        std::fs::write(dir.join(format!("{sc}-detection.svg")), detection_svg(r))?;
    }
    std::fs::write(dir.join(format!("{sc}.md")), markdown(r))?;
    Ok(())
}

fn markdown(r: &StudyResult) -> String {
    let mut s = String::new();
    let sc = &r.scenario;
    let _ = writeln!(s, "# Scenario `{sc}`\n");
    let _ = writeln!(s, "{}\n", r.description);
    let _ = writeln!(
        s,
        "{} court(s), {} judges, {} filings, mean case weight {:.3}; seed {}. Generated by `cargo run --release -p klero-sim -- --scenario {sc}` in {:.0} s.\n",
        r.courts, r.judges, r.cases, r.mean_case_weight, r.seed, r.seconds
    );
    s.push_str("## The bar\n\n");
    s.push_str(&bar(r, "kleroterion"));
    s.push_str("\n## All policies\n\n");
    s.push_str(&table(r));
    let _ = writeln!(
        s,
        "\nSteering: {} honest and {} attacked runs per attack and policy (independent worlds from the same scenario).\n",
        r.steering_runs.0, r.steering_runs.1
    );
    let _ = writeln!(s, "![load spread over the year](./{sc}-spread.svg)\n");
    if !r.sweep.is_empty() {
        s.push_str("## The real draw's parameters: the frontier\n\n");
        s.push_str("| parameters | year-end max dev | max dev over the year | plain-court max dev | worst p x \\|E\\| | worst min-entropy margin (bits) | mean min-entropy | timing advantage | (first definition) | bars met (balance, min-entropy, timing) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for p in &r.sweep {
            let met = [
                p.balance_max_dev <= BAR_BALANCE,
                p.worst_p_times_pool <= BAR_CAP + 1e-9,
                p.timing_advantage <= BAR_TIMING,
            ];
            let _ = writeln!(
                s,
                "| {} | {:.2} | {:.2} | {:.2} | {:.3} | {:+.2} | {:.2} | {:.2}x | {:.2}x | {} |",
                p.label,
                p.balance_max_dev,
                p.balance_over_time_max,
                p.balance_plain_max_dev,
                p.worst_p_times_pool,
                p.worst_entropy_margin_bits,
                p.mean_min_entropy_bits,
                p.timing_advantage,
                p.timing_advantage_any_moment,
                met.map(|b| if b { "yes" } else { "no" }).join(", ")
            );
        }
        let _ = writeln!(
            s,
            "\n![balance against timing advantage](./{sc}-frontier.svg)\n"
        );
    }
    if r.policies.iter().any(|p| p.power_absences.is_some()) {
        let _ = writeln!(s, "![detection power](./{sc}-detection.svg)\n");
    }
    s.push_str(DEFINITIONS);
    s
}

const DEFINITIONS: &str = "## How each figure is measured\n\n\
- **Balance (the bar's figure).** Every filing's weight (times its seats) is owed to the judges of its court and division who are active and not absent that day, in proportion to their shares. A judge's deviation is (weighted intake - owed) / share; the table gives the largest |deviation - division mean| over judges, in mean case weights, at year end (mean over the main run and the honest steering replications) and over weekly samples. Absence is never owed back (no make-up), and specializations are not owed (a balancing draw may and should move general cases away from judges busy with specialized ones). Only cases actually received count as intake: the core's absence and joining credits are bookkeeping inside the draw and are not counted here.\n\
- **Plain-court balance (for information).** No owed ledger: each judge's weighted intake per unit share minus the mean of the same over their division, largest |.| in mean case weights at year end, over the regular judges only (active all year and never absent more than 30 consecutive days; the joiner, the leaver and the long leave are left out). What a court president would read off a plain caseload table; holidays and sick leave (a few days either way) are not corrected for.\n\
- **Unpredictability.** For each random draw, the probability of the most likely judge given the public state before it (the real draw's recorded integer weights; the baselines' exact rule probabilities). `worst p x |E|` is the largest such probability times the pool size (1 = uniform); min-entropy is -log2 of it. The bar is min-entropy >= log2 |E| - 1 bits in every draw (p x |E| <= 2); the margin is the smallest min-entropy - (log2 |E| - 1) over all draws.\n\
- **Timing advantage.** A litigant may file a case of a given type at any moment of a 7-day window and sees the public state. Over thousands of litigants (random window, case type from the mix, target judge), the advantage is sum of max_t p_t(target) / sum of mean_t p_t(target): how much more often they get the judge than filing at a random moment. The moments are the real filings of that type in the window at which the target judge could be drawn (was in the pool), leaving out filings whose pool a case-specific exclusion shaped (a judge conflicted with that filing's parties, recused from it, or who sat on its earlier instance). The first definition (shown beside it) counted every filing and the target at 0 while away; that charged every policy, a lottery included, for two things no draw rule controls: a litigant does better by not filing while the wanted judge is on leave under any rule that respects absences, and a moment whose pool lacked a judge conflicted with another filing's parties is not one the litigant's own filing could have had.\n\
- **Steering.** A corrupt clerk targets 5% of the court's filings for a favoured judge, either by recording the other judges of the pool sick for the day (down to the minimum pool), or by withdrawing and refiling with a slightly different claim until the favoured judge comes up (5 attempts). The audit sees only the public log: short-notice absences, filings withdrawn within 3 days while the same parties filed again within 7, and the largest per-judge z-score of wins against the recorded probabilities among retained cases. The statistic is the largest component z-score against the honest runs; the threshold is the honest runs' 99th percentile; power is the share of attacked runs above it.\n\
- **Speed.** Draw entries per second inside klero-core (`Log::append` of the filing and `Log::draw`), one thread.\n";

// ---- SVG ----

const W: f64 = 720.0;
const H: f64 = 420.0;
const ML: f64 = 70.0;
const MR: f64 = 190.0;
const MT: f64 = 40.0;
const MB: f64 = 50.0;
const COLORS: [&str; 10] = [
    "#d62728", "#9467bd", "#1f77b4", "#2ca02c", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

fn svg_open(title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n",
        (W - MR + ML) / 2.0,
        esc(title)
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Axes with a log-scale y (base 10) or linear; returns the mapping closures' parameters.
#[allow(clippy::too_many_arguments)]
fn axes(s: &mut String, x0: f64, x1: f64, y0: f64, y1: f64, logy: bool, xl: &str, yl: &str) {
    let pw = W - ML - MR;
    let ph = H - MT - MB;
    let _ = writeln!(
        s,
        "<rect x=\"{ML}\" y=\"{MT}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#333\"/>"
    );
    for k in 0..=4 {
        let fx = x0 + (x1 - x0) * k as f64 / 4.0;
        let px = ML + pw * k as f64 / 4.0;
        let _ = writeln!(
            s,
            "<text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            H - MB + 16.0,
            trim(fx)
        );
    }
    if logy {
        let mut v = 10f64.powf(y0.floor());
        while v <= 10f64.powf(y1) * 1.0001 {
            for m in [1.0, 2.0, 5.0] {
                let y = (v * m).log10();
                if y >= y0 && y <= y1 {
                    let py = MT + ph * (1.0 - (y - y0) / (y1 - y0));
                    let _ = writeln!(
                        s,
                        "<line x1=\"{ML}\" x2=\"{:.1}\" y1=\"{py:.1}\" y2=\"{py:.1}\" stroke=\"#ddd\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                        ML + pw,
                        ML - 6.0,
                        py + 4.0,
                        trim(v * m)
                    );
                }
            }
            v *= 10.0;
        }
    } else {
        for k in 0..=4 {
            let fy = y0 + (y1 - y0) * k as f64 / 4.0;
            let py = MT + ph * (1.0 - k as f64 / 4.0);
            let _ = writeln!(
                s,
                "<line x1=\"{ML}\" x2=\"{:.1}\" y1=\"{py:.1}\" y2=\"{py:.1}\" stroke=\"#ddd\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                ML + pw,
                ML - 6.0,
                py + 4.0,
                trim(fy)
            );
        }
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        ML + pw / 2.0,
        H - 12.0,
        esc(xl)
    );
    let _ = writeln!(
        s,
        "<text x=\"16\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {:.1})\">{}</text>",
        MT + ph / 2.0,
        MT + ph / 2.0,
        esc(yl)
    );
}

fn trim(x: f64) -> String {
    if x.abs() >= 100.0 || x == x.round() {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn map(v: f64, lo: f64, hi: f64, a: f64, b: f64) -> f64 {
    a + (b - a) * ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
}

fn spread_svg(r: &StudyResult) -> String {
    let mut s = svg_open(&format!(
        "{}: largest |load deviation| over the year (mean case weights, log scale)",
        r.scenario
    ));
    let maxd = r
        .policies
        .iter()
        .flat_map(|p| p.series.iter().map(|x| x.1))
        .fold(1.0f64, f64::max);
    let days = r
        .policies
        .iter()
        .flat_map(|p| p.series.iter().map(|x| x.0))
        .max()
        .unwrap_or(365) as f64;
    let (y0, y1) = (-1.0, maxd.log10().ceil().max(1.0));
    axes(
        &mut s,
        0.0,
        days,
        y0,
        y1,
        true,
        "day of the year",
        "max |deviation|",
    );
    let pw = W - ML - MR;
    let ph = H - MT - MB;
    for (i, p) in r.policies.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let pts: Vec<String> = p
            .series
            .iter()
            .map(|&(d, m, _)| {
                format!(
                    "{:.1},{:.1}",
                    map(d as f64, 0.0, days, ML, ML + pw),
                    map(m.max(0.1).log10(), y0, y1, MT + ph, MT)
                )
            })
            .collect();
        let width = if p.policy.starts_with("kleroterion") {
            2.5
        } else {
            1.2
        };
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"{width}\" points=\"{}\"/>",
            pts.join(" ")
        );
        let ly = MT + 14.0 + 18.0 * i as f64;
        let _ = writeln!(
            s,
            "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{ly:.1}\" y2=\"{ly:.1}\" stroke=\"{c}\" stroke-width=\"3\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            W - MR + 10.0,
            W - MR + 30.0,
            W - MR + 36.0,
            ly + 4.0,
            esc(&p.policy)
        );
    }
    // The bar.
    let by = map(BAR_BALANCE.log10(), y0, y1, MT + ph, MT);
    let _ = writeln!(
        s,
        "<line x1=\"{ML}\" x2=\"{:.1}\" y1=\"{by:.1}\" y2=\"{by:.1}\" stroke=\"black\" stroke-dasharray=\"5,4\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">bar: 2</text>",
        ML + pw,
        ML + 4.0,
        by - 4.0
    );
    s.push_str("</svg>\n");
    s
}

fn frontier_svg(r: &StudyResult) -> String {
    let mut s = svg_open(&format!(
        "{}: balance against timing advantage (real draw, parameter sweep)",
        r.scenario
    ));
    let xmax = r
        .sweep
        .iter()
        .map(|p| p.timing_advantage)
        .fold(2.0f64, f64::max)
        .ceil();
    let ymax = r
        .sweep
        .iter()
        .map(|p| p.balance_max_dev)
        .fold(1.0f64, f64::max);
    let (y0, y1) = (-0.3, ymax.log10().ceil().max(1.0));
    axes(
        &mut s,
        1.0,
        xmax,
        y0,
        y1,
        true,
        "timing advantage (x)",
        "year-end max |deviation| (mean case weights)",
    );
    let pw = W - ML - MR;
    let ph = H - MT - MB;
    // The bar region.
    let bx = map(BAR_TIMING, 1.0, xmax, ML, ML + pw);
    let by = map(BAR_BALANCE.log10(), y0, y1, MT + ph, MT);
    let _ = writeln!(
        s,
        "<rect x=\"{ML}\" y=\"{by:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#2ca02c\" fill-opacity=\"0.12\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#2ca02c\">the bar</text>",
        bx - ML,
        MT + ph - by,
        ML + 4.0,
        MT + ph - 6.0
    );
    for (i, p) in r.sweep.iter().enumerate() {
        let x = map(p.timing_advantage, 1.0, xmax, ML, ML + pw);
        let y = map(p.balance_max_dev.max(0.5).log10(), y0, y1, MT + ph, MT);
        let c = if i == 0 { "#d62728" } else { "#1f77b4" };
        let _ = writeln!(
            s,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"{c}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\">{}</text>",
            x + 6.0,
            y - 3.0,
            esc(&short(&p.label))
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">red: the shipped defaults</text>",
        W - MR + 10.0,
        MT + 14.0
    );
    s.push_str("</svg>\n");
    s
}

/// A label without the window and joining-credit limit when they are the defaults (365, 0).
fn short(label: &str) -> String {
    let l = label.replace("win=365 ", "");
    l.strip_suffix(" cu=0").map_or(l.clone(), str::to_string)
}

fn detection_svg(r: &StudyResult) -> String {
    let mut s = svg_open(&format!(
        "{}: steering detection power at 1% false alarms",
        r.scenario
    ));
    let n = r.policies.len() as f64;
    axes(&mut s, 0.0, n, 0.0, 1.0, false, "", "power");
    let pw = W - ML - MR;
    let ph = H - MT - MB;
    let bw = pw / n / 3.0;
    for (i, p) in r.policies.iter().enumerate() {
        for (k, v) in [p.power_absences, p.power_duplicates].iter().enumerate() {
            let v = v.unwrap_or(0.0);
            let x = ML + pw * i as f64 / n + bw * (0.5 + k as f64);
            let h = ph * v;
            let _ = writeln!(
                s,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{h:.1}\" fill=\"{}\"/>",
                MT + ph - h,
                if k == 0 { "#1f77b4" } else { "#ff7f0e" }
            );
        }
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\">{}</text>",
            ML + pw * (i as f64 + 0.5) / n,
            MT + ph + 30.0,
            esc(&p.policy)
        );
    }
    let _ = writeln!(
        s,
        "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"#1f77b4\"/><text x=\"{:.1}\" y=\"{:.1}\">absence attack</text><rect x=\"{:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"#ff7f0e\"/><text x=\"{:.1}\" y=\"{:.1}\">duplicate attack</text>",
        W - MR + 10.0,
        MT + 4.0,
        W - MR + 28.0,
        MT + 14.0,
        W - MR + 10.0,
        MT + 24.0,
        W - MR + 28.0,
        MT + 34.0
    );
    s.push_str("</svg>\n");
    s
}
