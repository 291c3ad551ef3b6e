//! Measures filings per second through the store's writer (each filing is two entries, the filing
//! and its draw, plus projections), with many concurrent submitters.
//!
//! ```text
//! cargo run --release -p klero-store --example throughput -- sqlite 20000 256
//! cargo run --release -p klero-store --example throughput -- postgres 20000 256
//! ```
//! PostgreSQL is reached through `KLERO_TEST_POSTGRES` as in the tests.

use std::time::Instant;

use klero_store::{Store, testing};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let engine = args.get(1).map_or("sqlite", String::as_str);
    let total: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let workers: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(256);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = match engine {
        "postgres" => testing::fresh_postgres().await,
        _ => testing::fresh_sqlite(dir.path()).await,
    };
    let s = Store::open_with(&url, testing::options_for(&url))
        .await
        .expect("open");
    testing::seed_bench_court(&s, 30).await;
    let start = Instant::now();
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
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{engine}: {total} filings ({} entries) in {secs:.2} s = {:.0} filings/s with {workers} submitters",
        s.checkpoint().0,
        total as f64 / secs
    );
    s.close().await;
}
