//! Times the observer's audit against plain verification on the sample log of `replay_profile`:
//! `cargo run --release -p klero-core --example audit_speed`.
use klero_core::audit::{AuditConfig, audit};
use klero_core::sample::{SampleSpec, sample_log};

fn main() {
    let entries = sample_log(&SampleSpec {
        seed: 9,
        judges: 20,
        cases: 20_000,
        chain_length: 1 << 16,
    });
    let time = |f: &dyn Fn()| {
        let t = std::time::Instant::now();
        for _ in 0..5 {
            f();
        }
        t.elapsed().as_secs_f64() / 5.0
    };
    let v = time(&|| assert!(klero_core::verify(&entries).ok()));
    let a = time(&|| assert!(audit(&entries, AuditConfig::default()).failure.is_none()));
    println!(
        "{} events: verify {:.1} ms ({:.0} events/s), audit {:.1} ms ({:.0} events/s)",
        entries.len(),
        v * 1e3,
        entries.len() as f64 / v,
        a * 1e3,
        entries.len() as f64 / a
    );
}
