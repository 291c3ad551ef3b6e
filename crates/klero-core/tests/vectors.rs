//! The checked-in test vectors (`tests/vectors/`) are exactly what the code produces. If this fails
//! after a deliberate change to the encoding, hashes or draw, regenerate with
//! `cargo run -p klero-core --example gen_vectors` and update docs/SPEC.md in the same commit.

#[path = "../examples/gen_vectors.rs"]
mod gen_vectors;

use klero_core::{LogEntry, verify};

#[test]
fn checked_in_vectors_match_the_code() {
    let dir = gen_vectors::vectors_dir();
    for (name, body) in gen_vectors::generate() {
        let on_disk = std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("tests/vectors/{name} is missing ({e}); run the generator"));
        assert!(
            on_disk == body,
            "tests/vectors/{name} differs from what the code produces"
        );
    }
}

#[test]
fn the_sample_log_on_disk_verifies_to_its_expected_root() {
    let dir = gen_vectors::vectors_dir();
    let text = std::fs::read_to_string(dir.join("sample-log.jsonl")).unwrap();
    let entries: Vec<LogEntry> = text
        .lines()
        .map(|l| LogEntry::from_json_line(l).unwrap())
        .collect();
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("sample-log.expected.json")).unwrap(),
    )
    .unwrap();
    let report = verify(&entries);
    assert!(report.ok(), "{:?}", report.failure);
    assert_eq!(report.root.to_hex(), expected["root"].as_str().unwrap());
    assert_eq!(report.verified, expected["entries"].as_u64().unwrap());
}
