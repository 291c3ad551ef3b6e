//! `klero-load`: a load generator for the filing path. Not a test: it measures.
//!
//! It starts a server in-process on a fresh database (SQLite by default, `--backend postgres` for
//! a fresh PostgreSQL database) with the demo court, or targets a running server (`--url` with a
//! clerk `--token`), then files cases over HTTP:
//!
//! - closed loop (default): `--cases N` filings by `--concurrency C` clients, each sending its next
//!   filing when the previous one is answered; reports filings/s and latency percentiles;
//! - fixed rate: `--rate R --duration S` sends R filings per second on a fixed schedule whatever the
//!   answers; latency is measured from each filing's scheduled time (so a stalled server cannot hide
//!   its queueing delay).
//!
//! Afterwards it reads the whole log back and checks that every acknowledged filing is there with
//! its draw, and verifies the log as `klero verify --url` does.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use klero::client::Client;
use klero_core::{Event, LogEntry};
use serde_json::json;
use tokio::sync::Semaphore;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum BackendArg {
    Sqlite,
    Postgres,
}

#[derive(Parser)]
#[command(
    name = "klero-load",
    about = "Load generator for Kleroterion's filing path"
)]
struct Args {
    /// Target a running server instead of starting one.
    #[arg(long, requires = "token")]
    url: Option<String>,
    /// A clerk token of `--court` (with --url).
    #[arg(long)]
    token: Option<String>,
    /// Backend of the in-process server's fresh database.
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: BackendArg,
    /// The in-process server's database instead of a fresh one.
    #[arg(long)]
    database_url: Option<String>,
    /// Court, division and case type to file under.
    #[arg(long, default_value = klero::demo::COURT)]
    court: String,
    #[arg(long, default_value = "civil")]
    division: String,
    #[arg(long, default_value = "civil-small")]
    case_type: String,
    /// Closed loop: number of filings.
    #[arg(long, default_value_t = 10_000)]
    cases: u64,
    /// Closed loop: concurrent clients.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Fixed rate: filings per second (switches to the fixed-rate mode).
    #[arg(long)]
    rate: Option<u64>,
    /// Fixed rate: seconds to run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Skip the full verification afterwards.
    #[arg(long)]
    no_verify: bool,
    /// In-process server only: draws use drand, served by a test drand relay on loopback with
    /// this period in seconds (quicknet: 3). Filings are answered at once (202) and drawn when
    /// their round is published; reports the time from filing to draw.
    #[arg(long, conflicts_with = "url")]
    drand_period: Option<u64>,
    /// In-process server only: this many witnesses (`klero witness`, each on its own loopback
    /// port and directory) cosign every batch, all of them required; with --drand-period, every
    /// draw waits for their cosignatures. Reports the cost of a cosigning round afterwards.
    #[arg(long, conflicts_with = "url", default_value_t = 0)]
    witnesses: u8,
}

struct Outcome {
    case: Option<String>,
    latency: Duration,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Args::parse()).await {
        eprintln!("klero-load: {e:#}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut store: Option<klero_store::Store> = None;
    let mut relays = vec![];
    let mut witness_endpoints: Vec<klero::witnessing::Endpoint> = vec![];
    let (url, token) = match (&args.url, &args.token) {
        (Some(u), Some(t)) => (u.clone(), t.clone()),
        _ => {
            let db = match (&args.database_url, args.backend) {
                (Some(d), _) => d.clone(),
                (None, BackendArg::Sqlite) => klero_store::testing::fresh_sqlite(dir.path()).await,
                (None, BackendArg::Postgres) => klero_store::testing::fresh_postgres().await,
            };
            // The secrets of a database named with --database-url are in KLERO_SECRETS_DIR, or
            // beside a SQLite file; a fresh test database keeps them in a temporary directory.
            let mut options = klero_store::testing::options_for(&db);
            if let Some(dir) = std::env::var_os("KLERO_SECRETS_DIR") {
                options.secrets = Some(Arc::new(klero_store::FileSecrets::new(dir)));
            }
            let s = klero_store::Store::open_with(&db, options)
                .await
                .with_context(|| format!("cannot open {db}"))?;
            let tokens = klero::demo::seed(&s, 0).await.map_err(anyhow::Error::msg)?;
            let (addr, _h) = klero_portal::serve(
                s.clone(),
                "127.0.0.1:0".parse()?,
                klero_portal::Config::default(),
            )
            .await?;
            eprintln!(
                "in-process server on http://{addr}, {} backend ({db})",
                s.backend()
            );
            if args.witnesses > 0 {
                let origin = s
                    .read(|st| st.log_id().map(|l| l.to_string()))
                    .unwrap_or_default();
                let log_key = s
                    .log_key()
                    .context("the log has no key")?
                    .verifier_key()
                    .to_owned();
                let mut endpoints = vec![];
                for i in 0..args.witnesses {
                    let wdir = dir.path().join(format!("witness-{i}"));
                    let name = format!("witness-{i}.example");
                    let key = klero::witness::init(&wdir, &name).map_err(anyhow::Error::msg)?;
                    let logs =
                        std::collections::BTreeMap::from([(origin.clone(), log_key.clone())]);
                    let w =
                        klero::witness::Witness::open(&wdir, logs).map_err(anyhow::Error::msg)?;
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                    let url = format!("http://{}", listener.local_addr()?);
                    tokio::spawn(klero::witness::serve(w, listener, std::future::pending()));
                    endpoints.push(klero::witnessing::Endpoint { name, url, key });
                }
                klero::witnessing::configure(&s, &endpoints, args.witnesses)
                    .await
                    .map_err(anyhow::Error::msg)?;
                klero::witnessing::Witnessing::new(
                    s.clone(),
                    &endpoints,
                    args.witnesses,
                    Duration::from_secs(5),
                )
                .map_err(anyhow::Error::msg)?
                .spawn();
                eprintln!("{} witnesses on loopback, all required", args.witnesses);
                witness_endpoints = endpoints;
            }
            if let Some(period) = args.drand_period {
                if period == 0 {
                    bail!("--drand-period must be at least 1");
                }
                let dev = klero_core::DevChain::new(
                    &[7; 32],
                    klero::drand::now_secs().saturating_sub(10),
                    period,
                );
                let (relay, _task) = klero::drand::attach_dev_relay(
                    &s,
                    dev,
                    klero::drand::system_clock(),
                    Duration::from_secs(600),
                )
                .await
                .map_err(anyhow::Error::msg)?;
                eprintln!("test drand relay on {} (period {period} s)", relay.url());
                relays.push(relay);
            }
            store = Some(s);
            (format!("http://{addr}"), tokens.clerk)
        }
    };
    let client = Client::new(&url);
    let path = Arc::new(format!("/api/v1/courts/{}/cases", args.court));
    let body = |i: u64| {
        json!({
            "division": args.division,
            "case_type": args.case_type,
            "parties": [format!("LOAD-{i}-A"), format!("LOAD-{i}-B")],
            "claim": format!("load test claim {i}"),
        })
    };
    let token = Arc::new(token);
    let start = Instant::now();
    let mut outcomes: Vec<Outcome> = vec![];
    let mode;
    match args.rate {
        None => {
            mode = format!(
                "closed loop: {} filings, {} concurrent clients",
                args.cases, args.concurrency
            );
            let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let mut tasks = vec![];
            for _ in 0..args.concurrency {
                let (client, token, path, next) =
                    (client.clone(), token.clone(), path.clone(), next.clone());
                let n = args.cases;
                let mk = {
                    let (d, t) = (args.division.clone(), args.case_type.clone());
                    move |i: u64| {
                        json!({"division": d, "case_type": t,
                               "parties": [format!("LOAD-{i}-A"), format!("LOAD-{i}-B")],
                               "claim": format!("load test claim {i}")})
                    }
                };
                tasks.push(tokio::spawn(async move {
                    let mut out = vec![];
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= n {
                            return out;
                        }
                        let t0 = Instant::now();
                        let r = client.post(&path, Some(&token), &mk(i)).await;
                        let latency = t0.elapsed();
                        out.push(Outcome {
                            case: r
                                .ok()
                                .filter(|r| r.status == 201 || r.status == 202)
                                .and_then(|r| r.json()["case"].as_str().map(str::to_owned)),
                            latency,
                        });
                    }
                }));
            }
            for t in tasks {
                outcomes.extend(t.await?);
            }
        }
        Some(rate) => {
            if rate == 0 {
                bail!("--rate must be at least 1");
            }
            let total = rate * args.duration;
            mode = format!(
                "fixed rate: {rate} filings/s for {} s ({total} filings)",
                args.duration
            );
            let limit = Arc::new(Semaphore::new(20_000));
            let mut tasks = Vec::with_capacity(total as usize);
            let t_start = tokio::time::Instant::now();
            for i in 0..total {
                let due = t_start + Duration::from_nanos(i * 1_000_000_000 / rate);
                tokio::time::sleep_until(due).await;
                let permit = limit.clone().acquire_owned().await?;
                let (client, token, path, b) =
                    (client.clone(), token.clone(), path.clone(), body(i));
                tasks.push(tokio::spawn(async move {
                    let r = client.post(&path, Some(&token), &b).await;
                    drop(permit);
                    Outcome {
                        case: r
                            .ok()
                            .filter(|r| r.status == 201 || r.status == 202)
                            .and_then(|r| r.json()["case"].as_str().map(str::to_owned)),
                        // From the scheduled time, not the send time.
                        latency: due.elapsed(),
                    }
                }));
            }
            for t in tasks {
                outcomes.push(t.await?);
            }
        }
    }
    let elapsed = start.elapsed();
    let acked: Vec<String> = outcomes.iter().filter_map(|o| o.case.clone()).collect();
    let errors = outcomes.len() - acked.len();
    let mut lat: Vec<Duration> = outcomes.iter().map(|o| o.latency).collect();
    lat.sort();
    println!("mode:        {mode}");
    println!("target:      {url}");
    println!(
        "filings:     {} acknowledged, {errors} failed, in {:.2} s",
        acked.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "throughput:  {:.0} filings/s",
        acked.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency ms:  p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}",
        percentile(&lat, 0.50),
        percentile(&lat, 0.95),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );

    // With drand, wait for the pending draws (at most a minute after the last filing).
    if let Some(s) = &store
        && args.drand_period.is_some()
    {
        let t0 = Instant::now();
        while !s.read(|st| st.pending_drand().is_empty()) {
            if t0.elapsed() > Duration::from_secs(60) {
                bail!("pending draws were not drawn within a minute");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!(
            "drand:       last pending draw appended {:.2} s after the last filing was answered",
            t0.elapsed().as_secs_f64()
        );
    }
    // The cost of one cosigning round on the log as it now stands: every witness checks the log's
    // signature and a consistency proof, cosigns and saves its state (two fsyncs).
    if let Some(s) = &store
        && !witness_endpoints.is_empty()
    {
        let mut w = klero::witnessing::Witnessing::new(
            s.clone(),
            &witness_endpoints,
            args.witnesses,
            Duration::from_secs(5),
        )
        .map_err(anyhow::Error::msg)?;
        let mut rounds = vec![];
        for _ in 0..50 {
            let t = Instant::now();
            w.round().await.context("the witnesses did not cosign")?;
            rounds.push(t.elapsed());
        }
        rounds.sort();
        println!(
            "cosigning:   one round of {} witnesses: p50 {:.1} ms  p99 {:.1} ms ({} rounds)",
            args.witnesses,
            percentile(&rounds, 0.50),
            percentile(&rounds, 0.99),
            rounds.len()
        );
    }
    // Every acknowledged filing is in the log, with its draw.
    let mut filed = HashSet::new();
    let mut trigger_at = std::collections::HashMap::new();
    let mut to_draw: Vec<Duration> = vec![];
    let mut drawn = HashSet::new();
    let mut at = 0u64;
    loop {
        let r = client
            .get(&format!("/api/v1/log/entries?start={at}"), None)
            .await
            .map_err(anyhow::Error::msg)?;
        let text = r.text();
        let mut n = 0;
        for line in text.lines() {
            let e = LogEntry::from_json_line(line).map_err(anyhow::Error::msg)?;
            match &e.event {
                Event::CaseFiled { case, .. } => {
                    filed.insert(case.to_string());
                    trigger_at.insert(e.index, e.at);
                }
                Event::Draw(d) => {
                    drawn.insert(d.case.to_string());
                    if let (Some(t), Some(klero_core::BeaconReveal::Drand { .. })) =
                        (trigger_at.get(&d.trigger), d.beacon)
                    {
                        to_draw.push(Duration::from_millis((e.at - t).max(0) as u64));
                    }
                }
                _ => {}
            }
            n += 1;
        }
        if n == 0 {
            break;
        }
        at += n;
    }
    if !to_draw.is_empty() {
        to_draw.sort();
        println!(
            "to judge ms: filing entry to its drand draw entry: p50 {:.0}  p99 {:.0}  max {:.0} ({} draws)",
            percentile(&to_draw, 0.50),
            percentile(&to_draw, 0.99),
            percentile(&to_draw, 1.0),
            to_draw.len()
        );
    }
    let missing = acked
        .iter()
        .filter(|c| !filed.contains(*c) || !drawn.contains(*c))
        .count();
    println!(
        "durability:  {} of {} acknowledged filings are in the log with their draw",
        acked.len() - missing,
        acked.len()
    );
    if !args.no_verify {
        let u = url.clone();
        let t0 = Instant::now();
        let r = tokio::task::spawn_blocking(move || klero::verify::verify_url(&u))
            .await?
            .map_err(anyhow::Error::msg)?;
        println!(
            "verify:      {} entries in {:.2} s: {}",
            r.report.verified,
            t0.elapsed().as_secs_f64(),
            match &r.report.failure {
                None => "OK".to_string(),
                Some(f) => format!("FAILED {f}"),
            }
        );
        if !r.report.ok() {
            bail!("the log does not verify");
        }
    }
    if missing > 0 {
        bail!("{missing} acknowledged filings are missing from the log");
    }
    if let Some(s) = store {
        s.close().await;
    }
    Ok(())
}
