//! Measures the store's footprint (issue 10): files `N` cases (two entries each) into a new SQLite
//! file, then reopens it and reports the file's bytes per entry, the time to open (replay or
//! snapshot) and the process's peak resident memory.
//!
//! ```text
//! cargo run --release -p klero-store --example footprint -- fill /tmp/fp 100000
//! cargo run --release -p klero-store --example footprint -- open /tmp/fp
//! cargo run --release -p klero-store --example footprint -- proofs /tmp/fp
//! ```
//! `proofs` opens from the snapshot and files 600 cases, then times 2,000 inclusion proofs of
//! random entries at the log's size (each older tile read from the `hash` column) and 2,000 of
//! its last 1,000 entries (from memory), and a full check (`Store::full_check`) of the whole log.
//! Run `open` in its own process so that its peak memory is the open's alone.

use std::time::Instant;

use klero_core::*;
use klero_store::{Store, testing};

fn peak_rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .map_or(0.0, |k| k / 1024.0)
}

fn db_bytes(dir: &std::path::Path) -> u64 {
    ["klero.db", "klero.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("fill", String::as_str);
    let dir = std::path::PathBuf::from(args.get(2).map_or("/tmp/klero-footprint", String::as_str));
    let total: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let url = format!("sqlite://{}/klero.db", dir.display());
    if mode == "proofs" {
        let s = Store::open(&url).await.expect("open");
        // 600 filings (1,200 entries) after the start, as a running server has just appended.
        let first = s.checkpoint().0;
        for i in 0..600 {
            let party = format!("Q-{first}-{i}");
            testing::file_bench_case(&s, party).await;
        }
        let (size, root) = s.checkpoint();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for (what, span) in [("random entries", size), ("the last 1,000 entries", 1000)] {
            let mut us = Vec::new();
            for _ in 0..2000 {
                let i = size - 1 - next() % span.min(size);
                let t = Instant::now();
                let p = s
                    .inclusion_proof(i, size)
                    .await
                    .expect("proof")
                    .expect("in range");
                us.push(t.elapsed().as_secs_f64() * 1e6);
                let e = s.entry(i).await.expect("entry");
                assert!(klero_core::merkle::verify_inclusion(
                    &root, size, i, &e.hash, &p
                ));
            }
            us.sort_by(f64::total_cmp);
            println!(
                "inclusion proofs of {what} at size {size}: p50 {:.0} µs, p99 {:.0} µs",
                us[us.len() / 2],
                us[us.len() * 99 / 100]
            );
        }
        let t = Instant::now();
        let n = s.full_check().await.expect("the log verifies");
        println!(
            "full check: {n} entries in {:.2} s; peak RSS {:.0} MB",
            t.elapsed().as_secs_f64(),
            peak_rss_mb()
        );
        s.close().await;
        return;
    }
    if mode == "open" || mode == "full" || mode == "canonical" {
        let t = Instant::now();
        let options = klero_store::Options {
            full_check: mode == "full",
            ..klero_store::Options::default()
        };
        let s = Store::open_with(&url, options).await.expect("open");
        let secs = t.elapsed().as_secs_f64();
        let size = s.checkpoint().0;
        let rss = peak_rss_mb();
        let start = s.start_report().clone();
        let mut canonical = 0u64;
        if mode == "canonical" {
            let mut i = 0;
            while i < size {
                for e in s.entries(i, i + 10_000).await.expect("entries") {
                    canonical += entry_bytes(e.index, e.at, &e.actor, &e.event).len() as u64;
                }
                i += 10_000;
            }
        }
        s.close().await;
        let bytes = db_bytes(&dir);
        println!(
            "{mode}: {size} entries in {secs:.2} s (snapshot {:?}, replayed {}), peak RSS {rss:.0} MB; \
             database {:.1} MB = {:.0} bytes/entry",
            start.snapshot,
            start.replayed,
            bytes as f64 / 1e6,
            bytes as f64 / size as f64
        );
        if mode == "canonical" {
            println!(
                "canonical bytes: {:.0} per entry",
                canonical as f64 / size as f64
            );
        }
        return;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let s = Store::open(&url).await.expect("open");
    testing::seed_bench_court(&s, 20).await;
    let start = Instant::now();
    let workers = 128;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while i < total {
                let party = format!("P-{i}");
                testing::file_bench_case(&s, party).await;
                i += workers;
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
    let size = s.checkpoint().0;
    println!(
        "fill: {total} filings ({size} entries) in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    s.close().await;
}
