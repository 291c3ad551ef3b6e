//! Replays a large sample log repeatedly, for profiling the verifier:
//! `cargo run --release -p klero-core --example replay_profile`.
use klero_core::sample::{SampleSpec, sample_log};

fn main() {
    let entries = sample_log(&SampleSpec {
        seed: 9,
        judges: 20,
        cases: 20_000,
        chain_length: 1 << 16,
    });
    let t = std::time::Instant::now();
    for _ in 0..5 {
        assert!(klero_core::verify(&entries).ok());
    }
    let per = t.elapsed().as_secs_f64() / 5.0;
    println!(
        "{} events, {:.1} ms per replay, {:.0} events/s",
        entries.len(),
        per * 1e3,
        entries.len() as f64 / per
    );
}
