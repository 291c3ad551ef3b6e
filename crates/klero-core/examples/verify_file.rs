//! Verifies an export file (JSON lines, SPEC §8) with the core alone, for timing and profiling the
//! verifier without building the `klero` binary:
//! `cargo run --release -p klero-core --example verify_file -- LOG.jsonl`.
//! It reads lines as `klero verify` does (one buffered reader, each line with its line feed) but
//! without that command's framing checks and progress. It sizes the verifier's tables from the
//! file's length as that command does (`VERIFY_FILE_NO_RESERVE=1`: not).
use std::io::BufRead;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| panic!("usage: verify_file LOG.jsonl"));
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut v = klero_core::Verifier::new();
    // Sized as `klero verify` sizes it: the file's length over the first MiB's mean line length.
    if std::env::var_os("VERIFY_FILE_NO_RESERVE").is_none() {
        let head = reader.fill_buf().expect("readable");
        if let Some(entries) = klero_core::Verifier::entries_in_export(len, head) {
            v.reserve(entries);
        }
    }
    let mut line = Vec::new();
    let t = std::time::Instant::now();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).expect("readable") == 0 {
            break;
        }
        let e = klero_core::LogEntry::from_export_line(&line).expect("a log entry");
        if v.push(&e).is_err() {
            break;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let r = v.report();
    match &r.failure {
        None => println!(
            "OK: {} entries in {secs:.2} s = {:.0} entries/s",
            r.verified,
            r.verified as f64 / secs
        ),
        Some(f) => {
            println!("FAILED: {f}");
            std::process::exit(1)
        }
    }
}
