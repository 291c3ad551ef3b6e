//! A national-size log and its measurements (issue 10): builds a log of the shape of the `national`
//! simulation scenario (100 courts of 6 judges, four case types) by appending filings through
//! `Store::submit` with many concurrent submitters (the writer batches them), then measures it:
//! filings/s near the start and at the end, database bytes per entry, the server's start (time to
//! the first `/healthz` answer, RSS), inclusion and case proof latency, and `klero verify`
//! entries/s from an export file and from tiles (each read through once first, so that the
//! verifier is timed on its work and not on the disk; its CPU seconds are printed beside).
//!
//! ```text
//! cargo build --release --bin klero --example national
//! target/release/examples/national --entries 100000 --db /tmp/national.db [--skip-api-verify]
//! ```

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use klero_core::hash::{party_commitment, sha256};
use klero_core::*;
use klero_store::Store;

/// The allocator `klero serve` runs with (see `src/main.rs`): the store this benchmark files into
/// is the server's, in this process.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("valid id")
}

struct Args {
    entries: u64,
    db: PathBuf,
    klero: PathBuf,
    submitters: usize,
    /// Skip `klero verify --url` (the JSON API, the slowest way to read a log).
    skip_api_verify: bool,
    /// Stop after the filing rates (no closing, no server, no verify): for rounds that compare
    /// the rate at size with the rate near an empty log, interleaved.
    rates_only: bool,
    /// The store's snapshot interval in entries (`None`: the store's default).
    snapshot_every: Option<u64>,
}

fn args() -> Args {
    let mut a = Args {
        entries: 100_000,
        db: PathBuf::from("/tmp/national.db"),
        klero: PathBuf::from("target/release/klero"),
        submitters: 256,
        skip_api_verify: false,
        rates_only: false,
        snapshot_every: None,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: national [--entries N] [--db FILE] [--klero BINARY] [--submitters N] \
                 [--skip-api-verify] [--rates-only] [--snapshot-every N]\n  builds (or grows) a national-shape \
                 log in FILE (default /tmp/national.db, 100000 entries) and measures it with \
                 BINARY (default target/release/klero); --rates-only stops after the filing rates";
    let fail = |m: String| -> ! {
        eprintln!("{m}\n{usage}");
        std::process::exit(2)
    };
    let number = |flag: &str, s: &str| -> u64 {
        s.parse()
            .unwrap_or_else(|_| fail(format!("{flag} takes a whole number, not {s:?}")))
    };
    let mut i = 0;
    while i < v.len() {
        match v[i].as_str() {
            "--help" | "-h" => {
                println!("{usage}");
                std::process::exit(0)
            }
            "--skip-api-verify" => {
                a.skip_api_verify = true;
                i += 1;
                continue;
            }
            "--rates-only" => {
                a.rates_only = true;
                i += 1;
                continue;
            }
            _ => {}
        }
        let Some(value) = v.get(i + 1) else {
            fail(format!("{} needs a value", v[i]))
        };
        match v[i].as_str() {
            "--entries" => a.entries = number("--entries", value),
            "--db" => a.db = PathBuf::from(value),
            "--klero" => a.klero = PathBuf::from(value),
            "--submitters" => a.submitters = number("--submitters", value) as usize,
            "--snapshot-every" => a.snapshot_every = Some(number("--snapshot-every", value)),
            other => fail(format!("unknown argument {other}")),
        }
        i += 2;
    }
    a
}

fn policy() -> Policy {
    let t = |code: &str, spec: &str, weight, panel| CaseType {
        code: CaseTypeCode::parse(code).expect("valid"),
        specialization: Specialization::parse(spec).expect("valid"),
        weight,
        panel,
    };
    Policy::with_case_types(vec![
        t("small", "general", 1, 1),
        t("standard", "general", 2, 1),
        t("family", "family", 2, 1),
        t("heavy", "general", 5, 1),
    ])
}

/// Cases stay open for this many later filings, then close: a steady backlog of about 50 open
/// cases a judge, as a court that decides what it receives has. So the log grows by three entries
/// a case (filing, draw, closing) while the open cases stay about this many.
const OPEN: u64 = 30_000;

/// Every `REFILE`th filing is the matter of the filing `REFILE_BACK` earlier filed again (same
/// court, type, parties and claim): a duplicate of a case long closed, which the store reads back
/// from its archive to bind it (SPEC §7.7).
const REFILE: u64 = 100;
const REFILE_BACK: u64 = 40_000;

/// The matter of filing `filed`: its own, or for every [`REFILE`]th filing the matter of the
/// filing [`REFILE_BACK`] earlier, which may itself be a refiling. (Taking `filed - REFILE_BACK`
/// itself named, for most refilings, a matter never filed, since that filing was a refiling too:
/// only the first 400 refilings were duplicates.)
fn matter(filed: u64) -> u64 {
    let mut n = filed;
    while n.is_multiple_of(REFILE) && n >= REFILE_BACK {
        n -= REFILE_BACK;
    }
    n
}

/// Filings/s of [`SAMPLES`] samples of `sample` filings each, one after the other (after one not
/// counted): the median, and
/// all of them as text. A sample of 20,000 filings lasts about a second; one alone is at the mercy
/// of whatever else the machine does in that second (a state snapshot is written every 100,000
/// entries).
async fn rates(s: &Store, sample: u64, workers: usize) -> (f64, String) {
    let mut r = Vec::new();
    let mut cpu = Vec::new();
    // One sample first, not counted: the first filings after a start (with `--rates-only` on an
    // existing log) find the database's pages cold, and the writer builds its beacon chain.
    file(
        s,
        s.read(|st| st.case_count() as u64),
        sample,
        workers,
        false,
        0,
    )
    .await;
    // For a profiler attached now (`perf record -p`): the counted samples follow.
    println!("counted samples begin");
    let _ = std::io::stdout().flush();
    for _ in 0..SAMPLES {
        let ticks = cpu_ticks();
        let secs = file(
            s,
            s.read(|st| st.case_count() as u64),
            sample,
            workers,
            false,
            0,
        )
        .await;
        r.push(sample as f64 / secs);
        // Clock ticks of 10 ms: the process's CPU time (all threads) for each filing.
        cpu.push((cpu_ticks() - ticks) as f64 * 10_000.0 / sample as f64);
    }
    println!("counted samples end");
    let _ = std::io::stdout().flush();
    let all = r
        .iter()
        .map(|x| format!("{x:.0}"))
        .collect::<Vec<_>>()
        .join(", ");
    let per = cpu
        .iter()
        .map(|x| format!("{x:.1}"))
        .collect::<Vec<_>>()
        .join(", ");
    r.sort_by(f64::total_cmp);
    (
        r[r.len() / 2],
        format!("{SAMPLES} samples of {sample} filings: {all}; CPU µs a filing: {per}"),
    )
}

/// The writer's archive lookups so far (after `--rates-only`: those of the rates' filings).
fn print_lookups(s: &Store) {
    let l = s.archive_lookups();
    println!(
        "archive lookups while filing: {} names, {} not found, {} ms",
        l.names,
        l.missed,
        l.micros / 1000
    );
}

/// The process's user and system CPU time so far, in clock ticks (1/100 s on Linux).
fn cpu_ticks() -> u64 {
    stat_ticks(11)
}

/// The user and system CPU time of the children this process has waited for, in clock ticks: a
/// `klero` command's CPU time, against its wall-clock time.
fn children_ticks() -> u64 {
    stat_ticks(13)
}

/// Fields `i` and `i + 1` of `/proc/self/stat` after the command's closing parenthesis, summed
/// (state is field 3 there, index 0; utime and stime are 14 and 15, cutime and cstime 16 and 17).
fn stat_ticks(i: usize) -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(i) + n(i + 1)
}

/// Samples of filing throughput, near an empty log and at size.
const SAMPLES: usize = 3;

/// Files `count` cases (numbered from `first`) with `workers` concurrent submitters and, if
/// `close`, closes each case numbered above `floor` [`OPEN`] filings later (cases up to `floor`
/// were closed otherwise); returns the seconds taken. The filing rates
/// are measured without closings, so near an empty log and at size they time the same work.
async fn file(s: &Store, first: u64, count: u64, workers: usize, close: bool, floor: u64) -> f64 {
    let pepper = s.pepper();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers as u64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while i < count {
                let filed = first + i;
                // The matter: usually new, sometimes one filed long ago (a duplicate).
                let n = matter(filed);
                // The scenario's mix: 35% small, 35% standard, 15% family, 15% heavy.
                let (ct, weight) = match n % 20 {
                    0..=6 => ("small", 1),
                    7..=13 => ("standard", 2),
                    14..=16 => ("family", 2),
                    _ => ("heavy", 5),
                };
                let court = format!("c{:03}", n % 100);
                let party = format!("P-{n}");
                let other = format!("Q-{}", n % 50_000);
                let entries = s
                    .submit(move |st: &State| {
                        let k = st.case_count() + 1;
                        let mut parties = vec![
                            party_commitment(&pepper, &party),
                            party_commitment(&pepper, &other),
                        ];
                        parties.sort();
                        parties.dedup();
                        Ok((
                            Actor::new(Role::Clerk, "clerk"),
                            Event::CaseFiled {
                                case: id(&format!("N-{k:08}")),
                                court: id(&court),
                                division: id("general"),
                                case_type: id(ct),
                                weight,
                                parties,
                                claim: sha256(&[party.as_bytes()]),
                                related: None,
                                earlier_instance: None,
                            },
                        ))
                    })
                    .await
                    .expect("filing");
                // Close the case filed OPEN filings before this one.
                let k = entries
                    .iter()
                    .find_map(|e| match &e.event {
                        Event::CaseFiled { case, .. } => case.as_str()[2..].parse::<u64>().ok(),
                        _ => None,
                    })
                    .expect("a filing entry");
                if close && k > OPEN + floor {
                    let old: CaseId = id(&format!("N-{:08}", k - OPEN));
                    s.submit(move |_| {
                        Ok((
                            Actor::new(Role::Clerk, "clerk"),
                            Event::CaseClosed {
                                case: old,
                                reason: ClosingReason::Judgment,
                            },
                        ))
                    })
                    .await
                    .expect("closing");
                }
                i += workers as u64;
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
    start.elapsed().as_secs_f64()
}

/// Closes the cases numbered `range` with `workers` concurrent submitters.
async fn close(s: &Store, range: std::ops::RangeInclusive<u64>, workers: usize) {
    let (first, last) = (*range.start(), *range.end());
    let mut tasks = Vec::new();
    for w in 0..workers as u64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut k = first + w;
            while k <= last {
                let case: CaseId = id(&format!("N-{k:08}"));
                s.submit(move |_| {
                    Ok((
                        Actor::new(Role::Clerk, "clerk"),
                        Event::CaseClosed {
                            case,
                            reason: ClosingReason::Judgment,
                        },
                    ))
                })
                .await
                .expect("closing");
                k += workers as u64;
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// The bytes of the file or directory tree at `p`; with `read`, every byte is read and dropped,
/// so that a verifier timed next reads from the page cache: what it measures is then its own work
/// on one core, not the disk. (Some of this workplace's machines page out memory untouched for
/// about a minute, the page cache included, so an export written minutes before is mostly back on
/// the disk; see docs/PERFORMANCE.md, issue 10, tenth pass.)
fn tree_bytes(p: &std::path::Path, read: bool) -> u64 {
    let m = std::fs::metadata(p).expect("metadata");
    if m.is_dir() {
        std::fs::read_dir(p)
            .expect("readable")
            .flatten()
            .map(|e| tree_bytes(&e.path(), read))
            .sum()
    } else if read {
        let mut f = std::fs::File::open(p).expect("readable");
        std::io::copy(&mut f, &mut std::io::sink()).expect("readable")
    } else {
        m.len()
    }
}

#[tokio::main]
async fn main() {
    let a = args();
    let url = format!("sqlite://{}", a.db.display());
    let secrets = klero_store::default_secrets_dir(&url).expect("a SQLite path");
    let fresh = !a.db.exists();
    let options = || {
        let mut o = klero_store::Options {
            secrets: Some(std::sync::Arc::new(klero_store::FileSecrets::new(&secrets))),
            ..klero_store::Options::default()
        };
        if let Some(n) = a.snapshot_every {
            o.snapshot_every = n;
        }
        o
    };
    let t0 = Instant::now();
    let s = Store::open_with(&url, options()).await.expect("open");
    println!(
        "opened {} in {:.1} s",
        a.db.display(),
        t0.elapsed().as_secs_f64()
    );
    if fresh {
        let admin = Actor::new(Role::SystemAdmin, "sysadmin");
        s.genesis(admin.clone(), id("national-log"), policy())
            .await
            .expect("genesis");
        for c in 0..100 {
            let court: CourtId = id(&format!("c{c:03}"));
            let mut events = vec![
                Event::CourtCreated {
                    court: court.clone(),
                    name: format!("Court {c}"),
                },
                Event::DivisionCreated {
                    court: court.clone(),
                    division: id("general"),
                    name: "General".into(),
                },
            ];
            for j in 1..=6 {
                let mut specs: Vec<Specialization> = vec![id("general")];
                if j <= 4 {
                    specs.push(id("family"));
                }
                specs.sort();
                events.push(Event::JudgeRegistered {
                    judge: id(&format!("J-{c:03}-{j}")),
                    court: court.clone(),
                    division: id("general"),
                    specializations: specs,
                    // The scenario's president works 40%.
                    share_permille: if j == 1 { 400 } else { 1000 },
                    active: true,
                });
            }
            for ev in events {
                let a = admin.clone();
                s.submit(move |_| Ok((a, ev))).await.expect("setup");
            }
        }
    }
    let size0 = s.checkpoint().0;
    let sample = 20_000u64;
    // Cases numbered up to `floor` are not closed by the build (see `file_closing_after`).
    let mut floor = 0;
    if s.checkpoint().0 < a.entries {
        let from = s.read(|st| st.case_count() as u64);
        let (median, all) = rates(&s, sample, a.submitters).await;
        println!(
            "filings/s near an empty log (from {size0} entries): {median:.0} (median of {all})"
        );
        if a.rates_only {
            print_lookups(&s);
            s.close().await;
            return;
        }
        // The sampled cases are closed (not timed), so that the build's backlog is its own.
        floor = s.read(|st| st.case_count() as u64);
        close(&s, from + 1..=floor, a.submitters).await;
    }
    let t = Instant::now();
    let before = s.checkpoint().0;
    while s.checkpoint().0 + 2 * sample < a.entries {
        let n = ((a.entries - s.checkpoint().0 - 2 * sample) / 3).clamp(1, 100_000);
        file(
            &s,
            s.read(|st| st.case_count() as u64),
            n,
            a.submitters,
            true,
            floor,
        )
        .await;
        println!(
            "  {} entries, {:.0} entries/s, {} of {} cases in memory",
            s.checkpoint().0,
            (s.checkpoint().0 - before) as f64 / t.elapsed().as_secs_f64(),
            s.read(|st| st.resident_cases()),
            s.read(|st| st.case_count()),
        );
    }
    let at = s.checkpoint().0;
    let sampled = s.read(|st| st.case_count() as u64);
    let (median, all) = rates(&s, sample, a.submitters).await;
    println!("filings/s at {at} entries: {median:.0} (median of {all})");
    let _ = std::io::stdout().flush();
    if a.rates_only {
        print_lookups(&s);
        s.close().await;
        return;
    }
    // Back to the steady backlog (not timed): the samples filed cases without closing any, and a
    // snapshot taken meanwhile holds them all; the server measured below starts from the latest
    // snapshot. So every open case is closed, and then filings resume, each closing the case
    // filed [`OPEN`] before it, for [`OPEN`] cases and a snapshot interval more: the server then
    // holds the last [`OPEN`] cases filed, as after the build, and so does its snapshot.
    let filed = s.read(|st| st.case_count() as u64);
    // (Cases up to `floor` were closed after the first rates; a build shorter than [`OPEN`]
    // filings has closed none of its own.)
    close(
        &s,
        sampled.saturating_sub(OPEN).max(floor) + 1..=filed,
        a.submitters,
    )
    .await;
    file(&s, filed, OPEN + 100_000 / 3, a.submitters, true, filed).await;
    let (size, root) = s.checkpoint();
    let cases = s.read(|st| st.case_count() as u64);
    println!("built in {:.0} s; root {root}", t0.elapsed().as_secs_f64());
    let l = s.archive_lookups();
    let (seen_bytes, seen_filters) = s.read(|st| (st.seen().bytes(), st.seen().filters()));
    println!(
        "archive lookups while filing: {} names, {} not found (false positives of the filter \
         of evicted cases: {seen_filters} filters, {seen_bytes} bytes)",
        l.names, l.missed
    );
    s.close().await;

    let db_bytes: u64 = ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suf| std::fs::metadata(format!("{}{suf}", a.db.display())).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "database: {db_bytes} bytes = {:.0} bytes/entry",
        db_bytes as f64 / size as f64
    );

    // The server: time to the first /healthz answer, RSS.
    let port = 18_000 + (std::process::id() % 1000) as u16;
    let base = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    let mut child = Command::new(&a.klero)
        .args([
            "serve",
            "--database-url",
            &url,
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .env("KLERO_SECRETS_DIR", &secrets)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("klero serve starts");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    loop {
        if let Ok(r) = agent.get(&format!("{base}/healthz")).call()
            && r.status() == 200
        {
            break;
        }
        if start.elapsed() > Duration::from_secs(1800) {
            panic!("no /healthz answer in 30 minutes");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "server: first /healthz answer {:.2} s after start; RSS {} MiB",
        start.elapsed().as_secs_f64(),
        rss_kb(child.id()) / 1024
    );
    let lat = |path: &dyn Fn(u64) -> String| {
        let mut v = Vec::new();
        let mut x = 0x9e3779b97f4a7c15u64;
        for _ in 0..500 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let t = Instant::now();
            let mut r = agent
                .get(&format!("{base}{}", path(x)))
                .call()
                .expect("answer");
            let _ = r.body_mut().read_to_vec();
            assert_eq!(r.status(), 200, "{}", path(x));
            v.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        (pct(&mut v, 0.5), pct(&mut v, 0.99))
    };
    let (p50, p99) = lat(&|x| format!("/api/v1/log/inclusion?index={}", x % size));
    println!("inclusion proof: p50 {p50:.2} ms, p99 {p99:.2} ms (500 sequential requests)");
    let (p50, p99) = lat(&|x| format!("/api/v1/cases/N-{:08}/proof", 1 + x % cases));
    println!("case proof: p50 {p50:.2} ms, p99 {p99:.2} ms (500 sequential requests)");
    println!(
        "server RSS after the proofs: {} MiB",
        rss_kb(child.id()) / 1024
    );

    // klero verify from a file, from tiles in a directory and from the server's tiles.
    let work = tempfile::tempdir_in(a.db.parent().unwrap_or(std::path::Path::new("/tmp")))
        .expect("temp dir");
    let file = work.path().join("log.jsonl");
    let tiles = work.path().join("tiles");
    // Wall-clock and CPU seconds of a `klero` command (a verifier that waits on the disk or the
    // network shows it as wall time above its CPU time).
    let run = |args: &[&str]| {
        let ticks = children_ticks();
        let t = Instant::now();
        let o = Command::new(&a.klero)
            .args(args)
            .env("KLERO_SECRETS_DIR", &secrets)
            .output()
            .expect("klero runs");
        assert!(
            o.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let cpu = (children_ticks() - ticks) as f64 / 100.0;
        (t.elapsed().as_secs_f64(), cpu)
    };
    let verify = |what: &str, args: &[&str]| {
        let (secs, cpu) = run(args);
        println!(
            "{what}: {secs:.1} s = {:.0} entries/s (CPU {cpu:.1} s = {:.0} entries a CPU-second)",
            size as f64 / secs,
            size as f64 / cpu.max(0.01)
        );
    };
    let read_through = |what: &str, p: &std::path::Path| {
        let t = Instant::now();
        let n = tree_bytes(p, true);
        println!(
            "{what} read through once before verifying: {n} bytes in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    };
    let f = file.to_str().expect("utf-8").to_owned();
    let d = tiles.to_str().expect("utf-8").to_owned();
    let (secs, _) = run(&["export", "--database-url", &url, "--out", &f]);
    let bytes = std::fs::metadata(&file).map_or(0, |m| m.len());
    println!(
        "export: {secs:.1} s, {bytes} bytes ({:.0} bytes/entry)",
        bytes as f64 / size as f64
    );
    let (secs, _) = run(&["export-tiles", "--database-url", &url, &d]);
    println!(
        "export-tiles: {secs:.1} s, {} bytes",
        tree_bytes(&tiles, false)
    );
    // The exports leave gigabytes of written pages for the kernel to flush: flushed now, not
    // while the verifier below is timed on this machine's few cores.
    let t = Instant::now();
    let synced = std::process::Command::new("sync").status();
    assert!(
        synced.as_ref().is_ok_and(|s| s.success()),
        "sync: {synced:?}"
    );
    println!("sync after the exports: {:.1} s", t.elapsed().as_secs_f64());
    read_through("the export", &file);
    verify("verify FILE", &["verify", &f]);
    read_through("the tiles", &tiles);
    verify("verify --tiles DIR", &["verify", "--tiles", &d]);
    verify(
        "verify --tiles URL (klero serve on loopback)",
        &["verify", "--tiles", &base],
    );
    if !a.skip_api_verify {
        verify("verify --url (the JSON API)", &["verify", "--url", &base]);
    }
    println!("server RSS at the end: {} MiB", rss_kb(child.id()) / 1024);
    let _ = child.kill();
    let _ = child.wait();
}
