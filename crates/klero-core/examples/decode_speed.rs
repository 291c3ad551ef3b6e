//! Times reading entries back from their canonical bytes against parsing their JSON export lines:
//! `cargo run --release -p klero-core --example decode_speed`.
use klero_core::conformance::conformance_log;
use klero_core::sample::{SampleSpec, sample_log};
use klero_core::{LogEntry, decode_entry_bytes};

fn measure(name: &str, entries: &[LogEntry]) {
    let bytes: Vec<Vec<u8>> = entries.iter().map(LogEntry::bytes).collect();
    let lines: Vec<String> = entries.iter().map(LogEntry::to_json_line).collect();
    let n = entries.len() as f64;
    let avg = |v: usize| v as f64 / n;
    println!(
        "{name}: {} entries, canonical {:.0} B/entry, JSON {:.0} B/entry",
        entries.len(),
        avg(bytes.iter().map(Vec::len).sum()),
        avg(lines.iter().map(String::len).sum())
    );
    // The best of 5 rounds, each over every entry.
    let time = |label: &str, f: &dyn Fn() -> usize| {
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t = std::time::Instant::now();
            std::hint::black_box(f());
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "  {label:<40} {:>8.1} ms  {:>10.0} entries/s",
            best * 1e3,
            n / best
        );
    };
    time("decode_entry_bytes", &|| {
        bytes
            .iter()
            .map(|b| decode_entry_bytes(b).unwrap().0 as usize)
            .sum()
    });
    time("LogEntry::from_canonical (+ hash)", &|| {
        bytes
            .iter()
            .zip(entries)
            .map(|(b, e)| LogEntry::from_canonical(e.prev, b).unwrap().index as usize)
            .sum()
    });
    time("serde_json::from_str::<LogEntry>", &|| {
        lines
            .iter()
            .map(|l| serde_json::from_str::<LogEntry>(l).unwrap().index as usize)
            .sum()
    });
    time("serde_json + computed_hash (verifier)", &|| {
        lines
            .iter()
            .map(|l| {
                let e = serde_json::from_str::<LogEntry>(l).unwrap();
                e.computed_hash().0[0] as usize
            })
            .sum()
    });
    time("entry_bytes (encode, for scale)", &|| {
        entries.iter().map(|e| e.bytes().len()).sum()
    });
}

fn main() {
    measure("conformance log", &conformance_log());
    measure(
        "sample log (20 judges, 20000 cases)",
        &sample_log(&SampleSpec {
            seed: 9,
            judges: 20,
            cases: 20_000,
            chain_length: 1 << 16,
        }),
    );
}
